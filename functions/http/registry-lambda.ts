import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Log } from '../app/shared/log';
import { isRegistryPath, type RegistryDispatcher, type RegistryHttpResponse } from './registry';

/** How a streamed Lambda response starts: status and headers first (Lambda's `HttpResponseStream.from`). */
export type StartResponse = (
  stream: Writable,
  meta: { statusCode: number; headers?: Record<string, string> },
) => Writable;

/**
 * The registry behind a Lambda function URL in response-streaming mode: the function URL event (payload 2.0) to a
 * registry request, the answer written as it comes (a blob piped with backpressure; a failure midway fails the
 * stream, so the client's transfer is cut rather than complete-looking). Paths outside `/v2/` are a plain 404. One
 * log line per request, the access log: method, path, status, outcome, duration; never headers (no
 * `Authorization`) nor the query string.
 */
export function registryStreamingHandler(opts: {
  registry: () => Promise<RegistryDispatcher>;
  /** The host clients reach the registry at (a configured name, else the one the request came to). */
  host: (event: APIGatewayProxyEventV2) => string;
  start: StartResponse;
  log: Log;
  now?: () => number;
}) {
  const now = opts.now ?? Date.now;
  return async (event: APIGatewayProxyEventV2, responseStream: Writable): Promise<void> => {
    const started = now();
    const method = event.requestContext.http.method;
    const out: RegistryHttpResponse = !isRegistryPath(event.rawPath)
      ? { status: 404, headers: { 'content-type': 'text/plain' }, body: Buffer.from('404 page not found\n') }
      : await (await opts.registry())({
          method,
          path: event.rawPath,
          query: new URLSearchParams(event.rawQueryString ?? ''),
          headers: Object.fromEntries(
            Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
          ),
          origin: `https://${opts.host(event)}`,
        });
    const stream = opts.start(responseStream, { statusCode: out.status, headers: out.headers });
    let outcome = 'complete';
    if (out.stream) {
      try {
        await pipeline(Readable.from(out.stream.body), stream);
      } catch {
        out.stream.cancel();
        outcome = 'cut';
        stream.destroy();
      }
    } else {
      stream.end(out.body);
    }
    opts.log({
      level: 'info',
      message: 'registry request',
      method,
      path: event.rawPath,
      status: out.status,
      outcome,
      ms: now() - started,
    });
  };
}
