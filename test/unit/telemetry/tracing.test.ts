import type { Tracer } from '@aws-lambda-powertools/tracer';
import { describe, expect, it } from 'vitest';
import { noTracing, xrayTracing } from '../../../functions/telemetry/tracing';

/** A tracer whose segment records the subsegments opened under it. */
function recordingTracer() {
  const subsegments: Array<{
    name: string;
    namespace?: string;
    metadata: Record<string, unknown>;
    errors: unknown[];
    closed: boolean;
  }> = [];
  const segment = {
    addNewSubsegment(name: string) {
      const sub = {
        name,
        namespace: undefined as string | undefined,
        metadata: {} as Record<string, unknown>,
        errors: [] as unknown[],
        closed: false,
        addMetadata(k: string, v: unknown) {
          sub.metadata[k] = v;
        },
        addError(e: unknown) {
          sub.errors.push(e);
        },
        close() {
          sub.closed = true;
        },
      };
      subsegments.push(sub);
      return sub;
    },
  };
  const tracer = {
    isTracingEnabled: () => true,
    getSegment: () => segment,
    captureAWSv3Client: <C>(c: C) => c,
  } as unknown as Tracer;
  return { tracer, subsegments };
}

describe('DynamoDB calls made without the SDK', () => {
  it('are one closed `DynamoDB` subsegment each in the aws namespace, with the operation, errors recorded', async () => {
    const { tracer, subsegments } = recordingTracer();
    const tracing = xrayTracing(tracer);
    expect(await tracing.dynamoDbCall!('GetItem', async () => 'item')).toBe('item');
    const failure = new Error('throttled');
    await expect(tracing.dynamoDbCall!('BatchGetItem', async () => Promise.reject(failure))).rejects.toBe(
      failure,
    );
    expect(
      subsegments.map(({ name, namespace, metadata, errors, closed }) => ({
        name,
        namespace,
        metadata,
        errors,
        closed,
      })),
    ).toEqual([
      { name: 'DynamoDB', namespace: 'aws', metadata: { operation: 'GetItem' }, errors: [], closed: true },
      {
        name: 'DynamoDB',
        namespace: 'aws',
        metadata: { operation: 'BatchGetItem' },
        errors: [failure],
        closed: true,
      },
    ]);
  });

  it('are not traced where nothing is', () => {
    expect(noTracing.dynamoDbCall).toBeUndefined();
  });
});
