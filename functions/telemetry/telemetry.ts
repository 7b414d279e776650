import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { MetricsRecorder } from '../app/ports/metrics';
import type { Log } from '../app/shared/log';
import { EmfMetrics, LogLineMetrics } from './emf-metrics';
import { type LogLevelName, type LogOutput, logThrough, ServiceLogger, terminalLine } from './logger';
import { METRICS_NAMESPACE, SERVICE_DIMENSION } from './metrics';
import { noTracing, type Tracing, xrayTracing } from './tracing';

/** One process's logging, metrics and tracing, built once by its composition root. */
export interface Telemetry {
  readonly logger: ServiceLogger;
  /** X-Ray in Lambda (the invocation's subsegment, cold start annotation); absent elsewhere. */
  readonly tracer?: Tracer;
  /** What the composition root traces: AWS SDK clients and registry exchanges. */
  readonly tracing: Tracing;
  /** The log port over {@link logger}. */
  readonly log: Log;
  readonly metrics: MetricsRecorder;
  /** Writes buffered metrics (end of an invocation). */
  flush(): void;
}

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

/**
 * Local mode's: the same logger, one readable line per entry on a terminal and JSON lines otherwise (or into
 * `output`, for tests); metrics as debug log lines.
 */
export function localTelemetry(level: LogLevelName, output?: LogOutput): Telemetry {
  const toTerminal: LogOutput | undefined = process.stdout.isTTY
    ? (attributes) => process.stdout.write(`${terminalLine(attributes)}\n`)
    : undefined;
  const logger = new ServiceLogger({ level, output: output ?? toTerminal });
  const log = logThrough(logger);
  return { logger, tracing: noTracing, log, metrics: new LogLineMetrics(log), flush: () => undefined };
}
