import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { EmfMetrics } from './emf-metrics';
import { type LogLevelName, logThrough, ServiceLogger } from './logger';
import { METRICS_NAMESPACE, SERVICE_DIMENSION } from './metrics';
import type { Telemetry } from './telemetry';
import { xrayTracing } from './tracing';

/**
 * A Lambda function's: JSON log lines and EMF metrics on stdout, where CloudWatch Logs reads both; X-Ray traces
 * (Powertools Tracer, which turns itself off outside Lambda). Node's http module is not patched: the registry
 * client traces its own exchanges, the SDK clients are captured one by one.
 */
export function lambdaTelemetry(level: LogLevelName): Telemetry {
  const logger = new ServiceLogger({ level });
  const tracer = new Tracer({ serviceName: SERVICE_DIMENSION.service, captureHTTPsRequests: false });
  const emf = new EmfMetrics(
    new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_DIMENSION.service }),
  );
  return {
    logger,
    tracer,
    tracing: xrayTracing(tracer),
    log: logThrough(logger),
    metrics: emf,
    flush: () => emf.flush(),
  };
}
