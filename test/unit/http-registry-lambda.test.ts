import { PassThrough, type Writable } from 'node:stream';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../functions/app/shared/log';
import type { RegistryHttpRequest, RegistryHttpResponse } from '../../functions/http/registry';
import { registryStreamingHandler } from '../../functions/http/registry-lambda';

/** The registry function's adapter between a function URL's streamed response and the registry dispatcher. */
function event(path: string, query = '', headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    rawPath: path,
    rawQueryString: query,
    headers,
    requestContext: { http: { method: 'GET' }, domainName: 'abc.lambda-url.eu-west-1.on.aws' },
  } as unknown as APIGatewayProxyEventV2;
}

function harness(answer: (req: RegistryHttpRequest) => RegistryHttpResponse) {
  const seen: RegistryHttpRequest[] = [];
  const logs: LogEntry[] = [];
  const starts: Array<{ statusCode: number; headers?: Record<string, string> }> = [];
  const handler = registryStreamingHandler({
    registry: async () => async (req) => {
      seen.push(req);
      return answer(req);
    },
    host: (e) => e.requestContext.domainName,
    start: (stream: Writable, meta) => {
      starts.push(meta);
      return stream;
    },
    log: (entry) => logs.push(entry),
  });
  const run = async (e: APIGatewayProxyEventV2) => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise<boolean>((resolve) => {
      sink.once('end', () => resolve(true));
      sink.once('close', () => resolve(sink.readableEnded));
    });
    await handler(e, sink);
    return { body: Buffer.concat(chunks), ended: await closed };
  };
  return { run, seen, logs, starts };
}

describe('registry function URL adapter', () => {
  it('passes the request on with its host as origin, streams the body, and logs no header or query', async () => {
    const h = harness(() => ({
      status: 200,
      headers: { 'content-type': 'application/octet-stream' },
      stream: {
        body: (async function* () {
          yield Buffer.from('ab');
          yield Buffer.from('cd');
        })(),
        cancel: () => undefined,
      },
    }));
    const out = await h.run(
      event('/v2/ns/app/blobs/sha256:x', 'token=secret-query', { Authorization: 'Bearer secret-token' }),
    );
    expect(out.body.toString()).toBe('abcd');
    expect(out.ended).toBe(true);
    expect(h.starts).toEqual([{ statusCode: 200, headers: { 'content-type': 'application/octet-stream' } }]);
    expect(h.seen[0]).toMatchObject({
      method: 'GET',
      path: '/v2/ns/app/blobs/sha256:x',
      origin: 'https://abc.lambda-url.eu-west-1.on.aws',
      headers: { authorization: 'Bearer secret-token' },
    });
    expect(h.logs).toHaveLength(1);
    expect(h.logs[0]).toMatchObject({ path: '/v2/ns/app/blobs/sha256:x', status: 200, outcome: 'complete' });
    expect(JSON.stringify(h.logs)).not.toMatch(/secret/);
  });

  it('a body that fails midway is cut, not ended', async () => {
    let cancelled = false;
    const h = harness(() => ({
      status: 200,
      headers: {},
      stream: {
        body: (async function* () {
          yield Buffer.from('ab');
          throw new Error('digest mismatch');
        })(),
        cancel: () => {
          cancelled = true;
        },
      },
    }));
    const out = await h.run(event('/v2/ns/app/blobs/sha256:x'));
    expect(out.ended).toBe(false);
    expect(cancelled).toBe(true);
    expect(h.logs[0]).toMatchObject({ outcome: 'cut' });
  });

  it('paths outside /v2/ are a plain 404 that never reaches the registry', async () => {
    const h = harness(() => {
      throw new Error('not called');
    });
    const out = await h.run(event('/favicon.ico'));
    expect(h.starts[0]!.statusCode).toBe(404);
    expect(out.body.toString()).toBe('404 page not found\n');
    expect(h.seen).toEqual([]);
  });
});
