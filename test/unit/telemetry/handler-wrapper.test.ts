import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { batchTrigger, wrapHandler } from '../../../functions/handlers/wrap';
import { logThrough, ServiceLogger, terminalLine } from '../../../functions/telemetry/logger';
import type { MetricRole } from '../../../functions/telemetry/metrics';
import type { Telemetry } from '../../../functions/telemetry/telemetry';
import { noTracing } from '../../../functions/telemetry/tracing';

function recordingTelemetry() {
  const lines: Record<string, unknown>[] = [];
  const points: [MetricRole, number | undefined][] = [];
  let flushes = 0;
  // Lambda sets this for on-demand containers; Powertools reports cold starts only there.
  const prior = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  const logger = new ServiceLogger({ level: 'info', output: (a) => lines.push(a) });
  if (prior === undefined) delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  else process.env.AWS_LAMBDA_INITIALIZATION_TYPE = prior;
  const telemetry: Telemetry = {
    logger,
    tracing: noTracing,
    log: logThrough(logger),
    metrics: { record: (role, value) => points.push([role, value]) },
    flush: () => {
      flushes++;
    },
  };
  return { telemetry, lines, points, flushes: () => flushes };
}

const context = (requestId: string) =>
  ({
    functionName: 'imagestreams-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:imagestreams-api',
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/imagestreams-api',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 10_000,
  }) as Context;

describe('the handler wrapper', () => {
  it('puts the Lambda context, cold start, correlation id and caller on every line of an invocation, and only there', async () => {
    const { telemetry, lines, flushes } = recordingTelemetry();
    const handler = wrapHandler(
      telemetry,
      { correlationId: (e: { id: string; user?: string }) => e.id, caller: (e) => e.user },
      async (e) => {
        telemetry.log({ message: 'working', on: e.id });
        return e.id;
      },
    );
    expect(await handler({ id: 'req-1', user: 'alice' }, context('aws-1'))).toBe('req-1');
    expect(await handler({ id: 'req-2' }, context('aws-2'))).toBe('req-2');
    telemetry.log({ message: 'between invocations' });
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      message: 'working',
      service: 'imagestreams',
      function_name: 'imagestreams-api',
      function_request_id: 'aws-1',
      cold_start: true,
      correlation_id: 'req-1',
      user: 'alice',
    });
    expect(lines[1]).toMatchObject({
      function_request_id: 'aws-2',
      cold_start: false,
      correlation_id: 'req-2',
    });
    expect(lines[1]).not.toHaveProperty('user');
    expect(lines[2]).not.toHaveProperty('correlation_id');
    expect(flushes()).toBe(2);
  });

  it('flushes metrics when the handler throws, and names a batch of one by its record', async () => {
    const { telemetry, lines, flushes } = recordingTelemetry();
    const handler = wrapHandler(
      telemetry,
      batchTrigger<{ Records: { messageId: string }[] }>((r) => r.messageId),
      async () => {
        telemetry.log({ level: 'error', message: 'about to fail' });
        throw new Error('boom');
      },
    );
    await expect(handler({ Records: [{ messageId: 'm-1' }] }, context('aws-3'))).rejects.toThrow('boom');
    expect(lines[0]).toMatchObject({ level: 'ERROR', correlation_id: 'm-1' });
    expect(flushes()).toBe(1);
  });
});

describe('terminal lines (local mode on a TTY)', () => {
  it('reads a request as method, path, status, time and caller', () => {
    expect(
      terminalLine({
        level: 'INFO',
        message: 'request',
        timestamp: '2026-12-06T23:49:31.376Z',
        service: 'imagestreams',
        method: 'GET',
        path: '/healthz2',
        status: 200,
        ms: 3.1,
        user: 'alice',
        correlation_id: 'abc',
      }),
    ).toBe('23:49:31.376 INFO  GET /healthz2 200 3.1 ms alice correlation_id=abc');
    expect(
      terminalLine({
        level: 'WARN',
        message: 'job failed',
        timestamp: '2026-12-06T23:49:31.376Z',
        kind: 'import',
      }),
    ).toBe('23:49:31.376 WARN  job failed kind=import');
  });
});
