/**
 * A token server as distribution's `auth.token` expects (Docker's registry token authentication spec), for tests on loopback.
 *
 * It runs inside the test process (node:http and node:crypto only), so a test can count token requests exactly,
 * which is how token caching is asserted. Whatever a process calls against a token registry must therefore be
 * asynchronous: a synchronous child (execFileSync skopeo) would block the event loop this server answers from.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, createSign, type KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const USER = 'testuser';
export const PASSWORD = 'testpass';
/** Must equal the registry's `auth.token.service`: distribution 2.8 compares it with the JWT `aud`. */
export const TOKEN_SERVICE = 'test-registry';
/** Must equal the registry's `auth.token.issuer` (the JWT `iss`) and is the certificate's CN. */
export const TOKEN_ISSUER = 'test-issuer';

export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

/** One request to the token endpoint, as the server saw it. */
export interface TokenRequest {
  service: string;
  /** Every requested scope (repeated `scope` parameters, and space-separated scopes inside one). */
  scopes: string[];
  /** Basic credentials were sent, right or wrong. */
  credentialsSent: boolean;
  /** Basic credentials were sent and were right. */
  authenticated: boolean;
  /** 200, or 401 for wrong credentials. */
  status: number;
  /** What the issued token grants (empty on 401). */
  access: TokenAccess[];
}

export interface TokenServerOptions {
  /** Token lifetime in seconds (`expires_in` and `exp - iat`); default 300. Distribution allows 60 s of skew. */
  expiresIn?: number;
  /** Where the key and certificate go; a fresh temp dir (removed on stop) if not given. */
  dir?: string;
}

export interface TokenServer {
  /** The realm: `http://127.0.0.1:<port>/token`. */
  url: string;
  port: number;
  /** PEM certificate whose key signs the tokens: the registry's `rootcertbundle`. */
  certFile: string;
  /** Every token request so far, in order (including refused ones). */
  requests: TokenRequest[];
  /** `requests.length`, for readable assertions on caching. */
  readonly tokenRequests: number;
  /** Lifetime of tokens issued from now on (seconds). */
  expiresIn: number;
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * `repository:tiny/app:pull,push` → type, name, actions. The name may itself hold a colon (a registry host with a
 * port), so the actions are after the LAST colon and the type before the first; `repository(plugin)` style
 * resource classes are reduced to their type.
 */
function parseScope(scope: string): TokenAccess | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first).replace(/\(.*\)$/, ''),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

/**
 * The grant policy the tests rely on: the test user may pull and push anything; anonymous callers may pull only
 * under `public/`. Anything else is issued with an empty actions list rather than refused, as real token servers
 * do, so the registry (not the token server) answers `insufficient_scope`.
 */
function grant(user: string | undefined, requested: TokenAccess): string[] {
  if (requested.type !== 'repository') return [];
  const allowed = user === USER ? ['pull', 'push'] : requested.name.startsWith('public/') ? ['pull'] : [];
  return requested.actions.filter((a) => allowed.includes(a));
}

/** Parses `Authorization: Basic …`; a malformed header counts as credentials sent but wrong. */
function basicCredentials(
  req: IncomingMessage,
): { user: string; password: string } | 'malformed' | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (!m) return 'malformed';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Generates a throwaway self-signed certificate (per start: nothing is cached across runs) and listens. */
export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'token-server-')));
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${TOKEN_ISSUER}`,
      '-days',
      '2',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { timeout: 30_000 },
  );
  const key: KeyObject = createPrivateKey(await readFile(keyFile));
  // libtrust (distribution 2.8) wants the chain as standard base64 DER, not base64url.
  const x5c = new X509Certificate(await readFile(certFile)).raw.toString('base64');

  const requests: TokenRequest[] = [];
  const state = { expiresIn: opts.expiresIn ?? 300 };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      sendJson(res, 404, { details: 'not found' });
      return;
    }
    const service = url.searchParams.get('service') ?? '';
    const scopes = url.searchParams
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter((s) => s !== '');
    const creds = basicCredentials(req);
    const entry: TokenRequest = {
      service,
      scopes,
      credentialsSent: creds !== undefined,
      authenticated: false,
      status: 200,
      access: [],
    };
    requests.push(entry);
    if (
      creds !== undefined &&
      (creds === 'malformed' || creds.user !== USER || creds.password !== PASSWORD)
    ) {
      entry.status = 401;
      sendJson(res, 401, { details: 'incorrect username or password' });
      return;
    }
    const user = creds?.user;
    entry.authenticated = user !== undefined;
    entry.access = scopes
      .map(parseScope)
      .filter((a): a is TokenAccess => a !== undefined)
      .map((a) => ({ ...a, actions: grant(user, a) }));

    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [x5c] }));
    const claims = b64url(
      JSON.stringify({
        iss: TOKEN_ISSUER,
        sub: user ?? '',
        aud: service,
        exp: now + state.expiresIn,
        nbf: now,
        iat: now,
        jti: randomUUID(),
        access: entry.access,
      }),
    );
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key);
    const token = `${header}.${claims}.${b64url(signature)}`;
    sendJson(res, 200, {
      token,
      access_token: token,
      expires_in: state.expiresIn,
      issued_at: new Date(now * 1000).toISOString(),
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Port 0: the kernel picks a free port, so there is no window in which another process can take it.
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/token`,
    port,
    certFile,
    requests,
    get tokenRequests() {
      return requests.length;
    },
    get expiresIn() {
      return state.expiresIn;
    },
    set expiresIn(seconds: number) {
      state.expiresIn = seconds;
    },
    stop() {
      stopped ??= (async () => {
        // Keep-alive sockets from fetch would otherwise hold close() open until they time out.
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (ownDir) await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
