import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { AppContext } from '../app/shared/context';
import type { Log } from '../app/shared/log';
import { methodNotAllowed, unauthorized } from '../core/errors';
import { errorResponse } from './api';
import { createApiHandler } from './handler';
import { isWatchRequest, serveWatch } from './watch';

/** The response stream Lambda hands a streaming handler (Node's Writable, as far as this code uses it). */
export interface ResponseStream {
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array): void;
  once(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  destroyed?: boolean;
  writableEnded?: boolean;
}

/** Lambda's `awslambda.HttpResponseStream.from`: sends the status and headers, then the body. */
export type HttpPrelude = (
  stream: ResponseStream,
  prelude: { statusCode: number; headers: Record<string, string> },
) => ResponseStream;

/** How long before the Lambda's own end a watch ends by itself, so the client sees a clean end, not a cut. */
const END_MARGIN_MS = 10_000;

/**
 * The watch function's URL (Lambda response streaming): reads only. It checks the bearer token itself (`verify`,
 * the checks API Gateway's JWT authorizer makes), then streams watches (functions/http/watch.ts) and answers
 * every other GET as the API does (discovery, lists, gets), so a kubeconfig pointing at this URL runs
 * `kubectl get … -w`. Writes are refused: they go to the API.
 */
export function streamingHandler(
  ctx: AppContext,
  verify: (token: string) => Promise<Record<string, unknown> | undefined>,
  from: HttpPrelude,
  log: Log,
) {
  const api = createApiHandler(ctx, log);
  return async (event: APIGatewayProxyEventV2, stream: ResponseStream, context: Context): Promise<void> => {
    const send = (statusCode: number, headers: Record<string, string>, body: string) => {
      const out = from(stream, { statusCode, headers });
      out.end(body);
    };
    const fail = (err: unknown) => {
      const r = errorResponse(err, event, log);
      send(r.statusCode ?? 500, { ...(r.headers as Record<string, string>) }, r.body ?? '');
    };
    const token = /^Bearer\s+(\S+)$/i.exec(event.headers?.authorization ?? '')?.[1];
    const claims = token ? await verify(token).catch(() => undefined) : undefined;
    if (!claims) return fail(unauthorized());
    const authorized: APIGatewayProxyEventV2 = {
      ...event,
      requestContext: { ...event.requestContext, authorizer: { jwt: { claims, scopes: [] } } },
    } as APIGatewayProxyEventV2;
    const method = event.requestContext.http.method.toUpperCase();
    if (method !== 'GET') return fail(methodNotAllowed(method, event.rawPath));
    if (!isWatchRequest(event.rawPath, new URLSearchParams(event.rawQueryString ?? ''))) {
      const r = await api(authorized, context);
      const body = r.body ?? '';
      const out = from(stream, {
        statusCode: r.statusCode ?? 200,
        headers: { ...(r.headers as Record<string, string>) },
      });
      out.end(r.isBase64Encoded ? Buffer.from(body, 'base64') : body);
      return;
    }
    const ends = new AbortController();
    const timer = setTimeout(
      () => ends.abort(),
      Math.max(0, context.getRemainingTimeInMillis() - END_MARGIN_MS),
    );
    stream.once('close', () => ends.abort());
    let out: ResponseStream | undefined;
    try {
      await serveWatch(ctx, authorized, {
        start: (headers) => {
          out = from(stream, { statusCode: 200, headers });
        },
        write: (line) =>
          new Promise<void>((resolve) => {
            if (!out || out.destroyed || out.writableEnded) return resolve();
            if (out.write(line)) return resolve();
            out.once('drain', resolve);
            out.once('close', resolve);
          }),
        signal: ends.signal,
      });
      out?.end();
    } catch (err) {
      if (out) {
        log({ level: 'error', message: 'watch failed', error: String(err) });
        out.end();
      } else fail(err);
    } finally {
      clearTimeout(timer);
    }
  };
}
