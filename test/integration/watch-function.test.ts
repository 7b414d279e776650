import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcVerifier } from '../../functions/aws/oidc-verifier';
import { serviceContext } from '../../functions/composition/service-context';
import { readServiceConfig } from '../../functions/config';
import { type HttpPrelude, streamingHandler } from '../../functions/http/streaming';
import { IS, mapImage, startStack } from '../support/local-stack';

/**
 * The AWS watch path's pieces on DynamoDB Local: the watch function's handler (functions/http/streaming.ts) invoked
 * as Lambda invokes a response-streaming function URL (payload 2.0 event, a response stream, the runtime's
 * `HttpResponseStream.from` prelude), with a JWT it verifies against an issuer on loopback; lists settled by a
 * probe that the change processor answers (here the local stack's, fed by the table's stream, as in AWS).
 */

let stack: Awaited<ReturnType<typeof startStack>>;
let issuer: Server;
let issuerUrl: string;
let key: KeyObject;
const AUDIENCE = 'imagestreams-test';

/** A token as an OIDC provider signs it (RS256, key id k1). */
function token(claims: Record<string, unknown>, signWith: KeyObject = key): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${enc(claims)}`;
  return `${body}.${createSign('sha256').update(body).sign(signWith).toString('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);
const adminClaims = () => ({
  iss: issuerUrl,
  aud: AUDIENCE,
  sub: 'root',
  groups: ['platform-admins'],
  exp: now() + 300,
});

/** What Lambda's runtime does with a streaming response: an 8-NUL-separated JSON prelude, then the body. */
class CapturedStream extends Writable {
  chunks: Buffer[] = [];
  prelude: { statusCode: number; headers: Record<string, string> } | undefined;
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
  get body(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
const from: HttpPrelude = (stream, prelude) => {
  (stream as CapturedStream).prelude = prelude;
  return stream;
};

function event(path: string, query: string, authorization?: string, method = 'GET'): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
    headers: { ...(authorization ? { authorization } : {}), accept: 'application/json' },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'url-id',
      domainName: 'url-id.lambda-url.us-east-1.on.aws',
      domainPrefix: 'url-id',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r1',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}
const context = (ms: number) =>
  ({ getRemainingTimeInMillis: () => ms, awsRequestId: 'r1' }) as unknown as Context;

let handler: ReturnType<typeof streamingHandler>;

beforeAll(async () => {
  stack = await startStack({ WATCH_POLL_MS: '50' });
  expect((await stack.api.newProject('fu')).status).toBe(201);
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  key = pair.privateKey;
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  issuer = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration')
      res.end(JSON.stringify({ jwks_uri: `${issuerUrl.replace('http:', 'https:')}/jwks` }));
    else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => issuer.listen(0, '127.0.0.1', r));
  issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
  // The watch function's context as functions/handlers/watch.ts builds it: settle by probe (no stream poller here).
  const config = readServiceConfig({
    TABLE_NAME: stack.table,
    DYNAMODB_ENDPOINT: stack.service.dynamodbEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    CLUSTER_ADMIN_GROUPS: 'platform-admins',
  });
  const ctx = serviceContext(config, {
    watch: { pollMs: 50, retentionMs: 3_600_000, gapGraceMs: 5_000, maxSeconds: 870 },
  });
  // The verifier insists on an https jwks_uri; this loopback issuer speaks plain HTTP, so the test's fetch does.
  const oidc = new OidcVerifier(issuerUrl, [AUDIENCE], async (url) =>
    (await fetch(url.replace('https:', 'http:'))).json(),
  );
  handler = streamingHandler(
    ctx,
    (token) => oidc.verify(token),
    from,
    () => undefined,
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((r) => (issuer ? issuer.close(() => r()) : r()));
});

async function invoke(e: APIGatewayProxyEventV2, ms = 60_000): Promise<CapturedStream> {
  const out = new CapturedStream();
  await handler(e, out, context(ms));
  return out;
}

describe('the watch function (function URL, response streaming)', () => {
  it('checks the JWT itself: signature, issuer, audience, expiry', async () => {
    const path = IS('fu');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    for (const bad of [
      undefined,
      'Bearer not-a-jwt',
      `Bearer ${token(adminClaims(), other)}`,
      `Bearer ${token({ ...adminClaims(), aud: 'someone-else' })}`,
      `Bearer ${token({ ...adminClaims(), iss: 'https://elsewhere.example' })}`,
      `Bearer ${token({ ...adminClaims(), exp: now() - 600 })}`,
    ]) {
      const out = await invoke(event(path, 'watch=true', bad));
      expect(out.prelude?.statusCode, bad).toBe(401);
      expect(JSON.parse(out.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
    }
  });

  it('answers lists with a probe-settled position, and streams a watch from it until timeoutSeconds', async () => {
    const auth = `Bearer ${token(adminClaims())}`;
    expect((await stack.api.post(IS('fu'), { metadata: { name: 'a' }, spec: {} })).status).toBe(201);
    const list = await invoke(event(IS('fu'), '', auth));
    expect(list.prelude?.statusCode).toBe(200);
    const body = JSON.parse(list.body);
    expect(body.items.map((i: any) => i.metadata.name)).toEqual(['a']);
    const rv = body.metadata.resourceVersion;
    expect(rv).toMatch(/^\d+$/);
    const watching = invoke(event(IS('fu'), `watch=true&resourceVersion=${rv}&timeoutSeconds=3`, auth));
    await mapImage(stack.api, 'fu', 'a', 'v1');
    expect((await stack.api.post(IS('fu'), { metadata: { name: 'b' }, spec: {} })).status).toBe(201);
    const out = await watching;
    expect(out.prelude).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    const events = out.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['MODIFIED a', 'ADDED b']);
  });

  it('ends a watch before the Lambda itself would, and refuses writes', async () => {
    const auth = `Bearer ${token(adminClaims())}`;
    const started = Date.now();
    // 11 s left in the invocation: the watch ends after about one (the 10 s margin), cleanly.
    const out = await invoke(event(IS('fu'), 'watch=true', auth), 11_000);
    expect(out.prelude?.statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000);
    const post = await invoke(event(IS('fu'), '', auth, 'POST'));
    expect(post.prelude?.statusCode).toBe(405);
  });
});
