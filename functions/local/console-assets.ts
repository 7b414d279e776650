import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The web console's static files (built by `npm run build` into dist/console) at `/console/` on the API's own
 * port. They need no token; every API call the console makes carries the user's. Same origin as the API, so the
 * Content-Security-Policy allows scripts, styles and connections to this origin only: no inline script, no eval.
 */
export const CONSOLE_PREFIX = '/console';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

const defaultRoot = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/** Local mode has no sign-in provider: the console asks for a token and calls the API on its own origin. */
const LOCAL_CONFIG = JSON.stringify({ apiBase: '' });

export function isConsolePath(pathname: string): boolean {
  return pathname === CONSOLE_PREFIX || pathname.startsWith(`${CONSOLE_PREFIX}/`);
}

/** Answers a request under `/console`: a file of the build, the local config, a redirect, or 404/405. */
export async function serveConsole(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  root = defaultRoot,
): Promise<void> {
  const headers = {
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };
  const plain = (code: number, text: string, extra: Record<string, string> = {}) => {
    res.writeHead(code, { ...headers, 'content-type': 'text/plain; charset=utf-8', ...extra });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return plain(405, 'method not allowed\n', { allow: 'GET, HEAD' });
  // Relative asset URLs need the trailing slash.
  if (pathname === CONSOLE_PREFIX) return plain(308, 'moved\n', { location: `${CONSOLE_PREFIX}/` });

  let rel: string;
  try {
    rel = decodeURIComponent(pathname.slice(CONSOLE_PREFIX.length + 1)) || 'index.html';
  } catch {
    return plain(400, 'bad path\n');
  }
  if (rel === 'config.json') {
    res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES['.json']!, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : LOCAL_CONFIG);
    return;
  }
  const file = normalize(join(root, rel));
  if (rel.includes('\0') || !file.startsWith(root.endsWith(sep) ? root : root + sep))
    return plain(404, 'not found\n');
  const type = CONTENT_TYPES[extname(file)];
  const info = await stat(file).catch(() => undefined);
  if (!type || !info?.isFile()) {
    if (rel === 'index.html')
      return plain(404, 'The console is not built: run `npm run build` (npm ci does it), then reload.\n');
    return plain(404, 'not found\n');
  }
  const body = await readFile(file);
  res.writeHead(200, {
    ...headers,
    'content-type': type,
    'content-length': String(body.length),
    // Built assets carry a content hash in their name; index.html names the current ones.
    'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
