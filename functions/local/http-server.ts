import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Identity } from '../app/context';
import { unauthorized } from '../core/errors';
import { isConsolePath, serveConsole } from './console-assets';

/** API Gateway's own request-body limit for a Lambda integration (the Lambda payload limit). */
const MAX_BODY_BYTES = 6 * 1024 * 1024;

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
  port: number;
  host?: string;
}): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      console.error(JSON.stringify({ level: 'error', message: 'local server failure', error: String(err) }));
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendStatus(
  res: ServerResponse,
  err: ReturnType<typeof unauthorized>,
  extra: Record<string, string> = {},
): void {
  res.writeHead(err.code, { 'content-type': 'application/json', ...extra });
  res.end(JSON.stringify(err.toStatus()));
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  opts: { handler: ApiHandler; authenticate: (token: string) => Identity | undefined },
): Promise<void> {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const search = q < 0 ? '' : rawUrl.slice(q + 1);
  if (isConsolePath(pathname)) return serveConsole(req, res, pathname);
  // Requests without a body (most reads) skip the stream plumbing.
  const hasBody =
    req.headers['content-length'] !== undefined
      ? req.headers['content-length'] !== '0'
      : req.headers['transfer-encoding'] !== undefined;
  const body = hasBody ? await readBody(req) : Buffer.alloc(0);
  if (body === 'too-large') {
    res.writeHead(413, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'RequestEntityTooLarge',
        code: 413,
        message: 'the request body is larger than 6 MB',
      }),
    );
    return;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;

  let identity: Identity | undefined;
  // Webhooks carry the registry's shared secret, which the handler checks; everything else needs a user token.
  if (pathname !== '/healthz' && !pathname.startsWith('/webhooks/')) {
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
        {
          'www-authenticate': 'Bearer realm="imagestreams"',
        },
      );
      return;
    }
  }
  const now = Date.now();
  const event: APIGatewayProxyEventV2 = {
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
    ...(body.length ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
  };
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
