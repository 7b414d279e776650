import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { AppContext } from '../app/shared/context';
import type { Log } from '../app/shared/log';
import { dispatch, errorResponse, HEALTH_PATHS, identityOf } from './api';

/**
 * The API as a middy handler: the same function serves API Gateway in AWS and the local HTTP server. Errors are
 * turned into Status answers by the last middleware, one access-log line is written per request. The line names
 * its request id and caller itself: local mode serves requests concurrently through one logger, where keys set
 * per invocation would mix.
 */
export function createApiHandler(ctx: AppContext, log: Log) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({ timeoutEarlyInMillis: 0 })
    .use({
      before: (req) => {
        (req.internal as Record<string, unknown>).start = performance.now();
      },
      after: (req) => accessLog(req, log),
      onError: (req) => {
        req.response = errorResponse(req.error, req.event, log);
        accessLog(req, log);
      },
    })
    .handler((event) => dispatch(ctx, event));
}

function accessLog(
  req: {
    event: APIGatewayProxyEventV2;
    response: APIGatewayProxyStructuredResultV2 | null | undefined;
    internal: unknown;
  },
  log: Log,
): void {
  const start = (req.internal as { start?: number }).start ?? performance.now();
  if (HEALTH_PATHS.has(req.event.rawPath)) return;
  log({
    level: 'info',
    message: 'request',
    method: req.event.requestContext.http.method,
    path: req.event.rawPath,
    // Selectors, paging and dryRun tell what a request asked for; a webhook's `token=` is masked by the logger.
    ...(req.event.rawQueryString ? { query: req.event.rawQueryString } : {}),
    status: req.response?.statusCode,
    ms: Math.round((performance.now() - start) * 10) / 10,
    user: identityOf(req.event)?.user,
    correlation_id: req.event.requestContext.requestId,
  });
}
