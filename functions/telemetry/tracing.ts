import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { TransportOptions } from '../registry/transport';

/** What the composition roots trace: AWS SDK clients, and the registry client's exchanges. */
export interface Tracing {
  /** The client, with an X-Ray subsegment per call (DynamoDB, SQS, EventBridge, KMS, ECR, Secrets Manager). */
  client<C extends object>(client: C): C;
  /** A subsegment per registry exchange (host, method, status); undefined when nothing is traced. */
  readonly registryExchange?: TransportOptions['traceExchange'];
  /**
   * A subsegment per DynamoDB call made without the SDK (functions/store/direct-reads.ts), named and namespaced as
   * the SDK's own are; undefined when nothing is traced.
   */
  readonly dynamoDbCall?: <T>(operation: string, run: () => Promise<T>) => Promise<T>;
}

/** Outside Lambda (local mode, tests) nothing is traced. */
export const noTracing: Tracing = { client: (client) => client };

/**
 * X-Ray through Powertools Tracer: SDK clients captured, and a `registry <host>` subsegment (namespace `remote`,
 * annotated with registry and status; throttle, error or fault flag by status) around each registry exchange, under
 * the segment of the invocation. The Tracer disables itself outside Lambda; then this traces nothing.
 */
export function xrayTracing(tracer: Tracer): Tracing {
  if (!tracer.isTracingEnabled()) return noTracing;
  return {
    client: (client) => tracer.captureAWSv3Client(client),
    dynamoDbCall: async (operation, run) => {
      const parent = tracer.getSegment();
      if (!parent) return run();
      const sub = parent.addNewSubsegment('DynamoDB');
      sub.namespace = 'aws';
      sub.addMetadata('operation', operation);
      try {
        return await run();
      } catch (e) {
        sub.addError(e as Error);
        throw e;
      } finally {
        sub.close();
      }
    },
    registryExchange: async ({ method, host }, run) => {
      const parent = tracer.getSegment();
      if (!parent) return run();
      const sub = parent.addNewSubsegment(`registry ${host}`);
      sub.namespace = 'remote';
      sub.addAnnotation('registry', host);
      sub.addMetadata('method', method);
      try {
        const res = await run();
        sub.addAnnotation('status', res.status);
        if (res.status === 429) sub.addThrottleFlag();
        else if (res.status >= 500) sub.addFaultFlag();
        else if (res.status >= 400) sub.addErrorFlag();
        return res;
      } catch (e) {
        sub.addError(e as Error);
        throw e;
      } finally {
        sub.close();
      }
    },
  };
}
