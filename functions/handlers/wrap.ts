import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Telemetry } from '../telemetry/telemetry';

/** What identifies an invocation's trigger in its log lines. */
export interface Trigger<E> {
  /**
   * The id of what caused this invocation (API Gateway request id, SQS message id, stream record eventID,
   * Scheduler execution id, EventBridge event id), logged as `correlation_id`.
   */
  correlationId(event: E): string | undefined;
  /** The user who asked, where someone did. */
  caller?(event: E): string | undefined;
}

/**
 * Every Lambda entry point is this wrapper around its handler, so every function logs, measures and traces the same
 * way: the Lambda context (function name, request id, cold start) and the trigger's correlation id and caller on
 * every log line of the invocation, removed again when it ends; the invocation's metrics flushed as one EMF
 * document at its end; in Lambda, the invocation's X-Ray subsegment with its cold start.
 */
export function wrapHandler<E, R>(
  telemetry: Telemetry,
  trigger: Trigger<E>,
  handler: (event: E, context: Context) => Promise<R>,
) {
  const { logger } = telemetry;
  const wrapped = middy<E, R>(handler);
  // Responses stay out of traces: they can be large, and carry what the caller may see, not what X-Ray should keep.
  if (telemetry.tracer) wrapped.use(captureLambdaHandler(telemetry.tracer, { captureResponse: false }));
  return wrapped
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({
      before: (request) => {
        const id = trigger.correlationId(request.event);
        if (id) logger.setCorrelationId(id);
        const user = trigger.caller?.(request.event);
        if (user) logger.appendKeys({ user });
      },
    })
    .use({
      after: () => telemetry.flush(),
      onError: () => telemetry.flush(),
    });
}

/** The trigger of a batch (SQS, DynamoDB stream): one correlation id when the batch has one record. */
export function batchTrigger<E extends { Records: ReadonlyArray<unknown> }>(
  idOf: (record: E['Records'][number]) => string | undefined,
): Trigger<E> {
  return { correlationId: (event) => (event.Records.length === 1 ? idOf(event.Records[0]) : undefined) };
}
