import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Identity } from '../app/shared/context';
import type { Log } from '../app/shared/log';
import { type StatusError, tooLarge, unauthorized } from '../core/errors';
import { errorResponse, HEALTH_PATHS } from '../http/api';
import { isRegistryPath, type RegistryDispatcher } from '../http/registry';
import { isWatchRequest, type WatchOutput } from '../http/watch';
import { isConsolePath, serveConsole } from './console-assets';

/** API Gateway's own request-body limit for a Lambda integration (the Lambda payload limit). */
const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** Serves one watch request (functions/http/watch.ts) onto the response; throws a StatusError before it starts. */
export type WatchServer = (event: APIGatewayProxyEventV2, out: WatchOutput) => Promise<void>;

type ApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Serves the Lambda API handler over plain HTTP on loopback, translating each request into the API Gateway
 * (payload 2.0) event it would be in AWS. Authentication happens here, as API Gateway's authorizer does there.
 */
export async function serveApi(opts: {
  handler: ApiHandler;
  authenticate: (token: string) => Identity | undefined;
  /** Whether a webhook call carries the shared secret; when it does not, its body is not read. */
  admitsWebhook?: (authorization: string | undefined, query: URLSearchParams) => boolean;
  port: number;
  host?: string;
  /** Serve HTTPS with this key and certificate (functions/local/tls.ts) instead of HTTP. */
  tls?: { keyPem: string; certPem: string };
  /** What `GET /local/tls` tells an authenticated caller about the HTTPS listener (isctl kubeconfig). */
  tlsInfo?: () => LocalTlsInfo | undefined;
  /** Where a failure of the server itself is logged (the service's logger). */
  log?: Log;
  /** Answers `/v2/` (pulling through streams, docs/registry.md); without it those paths go to the API. */
  registry?: RegistryDispatcher;
  /** Serves watch requests as a stream; without it they reach the handler like any other request. */
  watch?: WatchServer;
}): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const log: Log = opts.log ?? ((entry) => console.error(JSON.stringify(entry)));
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (opts.registry && isRegistryPath(path)) {
      serveRegistry(req, res, opts.registry, !!opts.tls).catch((err: unknown) => {
        log({ level: 'error', message: 'local registry failure', error: String(err) });
        res.destroy();
      });
      return;
    }
    handle(req, res, { ...opts, log }).catch((err: unknown) => {
      log({ level: 'error', message: 'local server failure', error: String(err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end();
    });
  };
  const server: Server = opts.tls
    ? createTlsServer({ key: opts.tls.keyPem, cert: opts.tls.certPem }, listener)
    : createServer(listener);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `${opts.tls ? 'https' : 'http'}://${urlHost(opts.host ?? '127.0.0.1')}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * One `/v2/` request: headers only (the registry is read-only, a body is never read), and a blob's body passed on
 * with backpressure; if it fails midway (upstream cut off, digest mismatch) the connection is destroyed, so the
 * client sees a truncated transfer, never a complete-looking wrong one.
 */
async function serveRegistry(
  req: IncomingMessage,
  res: ServerResponse,
  registry: RegistryDispatcher,
  tls: boolean,
): Promise<void> {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  req.resume();
  const out = await registry({
    method: req.method ?? 'GET',
    path: q < 0 ? rawUrl : rawUrl.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)),
    headers,
    origin: `${tls ? 'https' : 'http'}://${headers.host ?? 'localhost'}`,
  });
  res.writeHead(out.status, out.headers);
  if (!out.stream) {
    res.end(out.body);
    return;
  }
  const { body, cancel } = out.stream;
  res.once('close', () => {
    if (!res.writableFinished) cancel();
  });
  try {
    await pipeline(Readable.from(body, { objectMode: false }), res);
  } catch {
    cancel();
    res.destroy();
  }
}

/** A host as it goes into a URL: IPv6 addresses in brackets. */
const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/**
 * Local mode's HTTPS listener, for clients that send tokens only over HTTPS (kubectl): its port and the CA that
 * signed its certificate (public, not a secret).
 */
export interface LocalTlsInfo {
  kind: 'LocalTLS';
  url: string;
  port: number;
  certificateAuthorityData: string;
}

/** Where an authenticated caller learns about the HTTPS listener; only the local server answers it. */
export const LOCAL_TLS_PATH = '/local/tls';

/**
 * Reads a body of at most `max` bytes. A longer one stops being collected at the limit and the rest is discarded
 * as it arrives (not cut off), so the answer reaches the client and a keep-alive connection stays usable.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      req.off('data', collect);
      chunks.length = 0;
      req.resume();
      resolve('too-large');
    };
    req.on('data', collect);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function sendStatus(res: ServerResponse, err: StatusError, extra: Record<string, string> = {}): void {
  const body = JSON.stringify(err.toStatus());
  res.writeHead(err.code, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...extra,
  });
  res.end(body);
}

const bodyTooLarge = () => tooLarge(`the request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MB`);

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  opts: {
    handler: ApiHandler;
    authenticate: (token: string) => Identity | undefined;
    admitsWebhook?: (authorization: string | undefined, query: URLSearchParams) => boolean;
    tlsInfo?: () => LocalTlsInfo | undefined;
    watch?: WatchServer;
    log: Log;
  },
): Promise<void> {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const search = q < 0 ? '' : rawUrl.slice(q + 1);
  if (isConsolePath(pathname)) return serveConsole(req, res, pathname);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;

  // Who is calling is settled from the headers alone: a body is read only for a caller who may send one. A
  // refused request's body is never buffered; Node discards it as it arrives, so the connection stays usable.
  let identity: Identity | undefined;
  let readsBody = true;
  if (HEALTH_PATHS.has(pathname)) readsBody = false;
  else if (pathname.startsWith('/webhooks/')) {
    // Registries prove themselves with the shared secret; the handler answers a wrong or missing one (without
    // needing the body, which is not read here then).
    readsBody = opts.admitsWebhook?.(headers.authorization, new URLSearchParams(search)) ?? true;
  } else {
    const m = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '');
    identity = m ? opts.authenticate(m[1]!) : undefined;
    if (!identity) {
      sendStatus(
        res,
        unauthorized(
          m
            ? 'Unauthorized: the bearer token is not valid'
            : 'Unauthorized: send Authorization: Bearer <token>',
        ),
        { 'www-authenticate': 'Bearer realm="imagestreams"' },
      );
      return;
    }
  }
  const tlsInfo = pathname === LOCAL_TLS_PATH && req.method === 'GET' ? opts.tlsInfo?.() : undefined;
  if (tlsInfo) {
    const body = JSON.stringify(tlsInfo);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(body);
    return;
  }
  if (opts.watch && identity && isWatchRequest(pathname, new URLSearchParams(search))) {
    await streamWatch(req, res, apiEvent(req, pathname, search, headers, identity, Buffer.alloc(0)), opts);
    return;
  }
  const declared = Number(headers['content-length'] ?? 0);
  if (readsBody && declared > MAX_BODY_BYTES) {
    sendStatus(res, bodyTooLarge());
    return;
  }
  // Requests without a body (most reads) skip the stream plumbing.
  const hasBody =
    readsBody &&
    (headers['content-length'] !== undefined
      ? headers['content-length'] !== '0'
      : headers['transfer-encoding'] !== undefined);
  const body = hasBody ? await readBody(req, MAX_BODY_BYTES) : Buffer.alloc(0);
  if (body === 'too-large') {
    sendStatus(res, bodyTooLarge());
    return;
  }
  const event = apiEvent(req, pathname, search, headers, identity, body);
  const out = await opts.handler(event, {
    getRemainingTimeInMillis: () => 29_000,
    functionName: 'imagestreams-api-local',
    awsRequestId: event.requestContext.requestId,
  } as Context);
  const outHeaders = { ...(out.headers as Record<string, string> | undefined) };
  const payload =
    out.body === undefined ? Buffer.alloc(0) : Buffer.from(out.body, out.isBase64Encoded ? 'base64' : 'utf8');
  res.writeHead(out.statusCode ?? 200, { ...outHeaders, 'content-length': String(payload.length) });
  res.end(payload);
}

/** The API Gateway (payload 2.0) event a request would be in AWS. */
function apiEvent(
  req: IncomingMessage,
  pathname: string,
  search: string,
  headers: Record<string, string>,
  identity: Identity | undefined,
  body: Buffer,
): APIGatewayProxyEventV2 {
  const textual = !/protobuf|octet-stream/i.test(headers['content-type'] ?? '');
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: pathname,
    rawQueryString: search,
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
      ...(identity ? { authorizer: { lambda: { user: identity.user, groups: identity.groups } } } : {}),
    } as APIGatewayProxyEventV2['requestContext'],
    // As API Gateway does: bodies that are not text (Kubernetes protobuf) travel base64-encoded.
    ...(body.length ? { body: body.toString(textual ? 'utf8' : 'base64') } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
}

/**
 * A watch: the response streams (chunked) until the watch ends, the client goes away or the server closes; a
 * refusal before the first event is an ordinary Status answer.
 */
async function streamWatch(
  req: IncomingMessage,
  res: ServerResponse,
  event: APIGatewayProxyEventV2,
  opts: { watch?: WatchServer; log: Log },
): Promise<void> {
  const gone = new AbortController();
  const started = performance.now();
  res.once('close', () => {
    gone.abort();
    // The access-log line the buffered handler writes for other requests, once the watch is over.
    opts.log({
      level: 'info',
      message: 'request',
      method: event.requestContext.http.method,
      path: event.rawPath,
      ...(event.rawQueryString ? { query: event.rawQueryString } : {}),
      status: res.statusCode,
      ms: Math.round(performance.now() - started),
      watch: true,
    });
  });
  req.socket.setTimeout(0);
  try {
    await opts.watch!(event, {
      start: (headers) => {
        res.writeHead(200, headers);
        res.flushHeaders();
      },
      write: (line) =>
        new Promise<void>((resolve) => {
          if (res.writableEnded || res.destroyed) return resolve();
          if (res.write(line)) return resolve();
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        }),
      signal: gone.signal,
    });
  } catch (err) {
    if (res.headersSent) {
      opts.log({ level: 'error', message: 'watch failed', error: String(err) });
    } else {
      const out = errorResponse(err, event, opts.log);
      const payload = Buffer.from(out.body ?? '', out.isBase64Encoded ? 'base64' : 'utf8');
      res.writeHead(out.statusCode ?? 500, {
        ...(out.headers as Record<string, string> | undefined),
        'content-length': String(payload.length),
      });
      res.end(payload);
      return;
    }
  }
  res.end();
}
