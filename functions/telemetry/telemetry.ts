import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricsRecorder } from '../app/ports/metrics';
import type { Log } from '../app/shared/log';
import { EmfMetrics, LogLineMetrics } from './emf-metrics';
import { type LogLevelName, type LogOutput, logThrough, ServiceLogger, terminalLine } from './logger';
import { METRICS_NAMESPACE, SERVICE_DIMENSION } from './metrics';

/** One process's logging and metrics, built once by its composition root. */
export interface Telemetry {
  readonly logger: ServiceLogger;
  /** The log port over {@link logger}. */
  readonly log: Log;
  readonly metrics: MetricsRecorder;
  /** Writes buffered metrics (end of an invocation). */
  flush(): void;
}

/** A Lambda function's: JSON log lines and EMF metrics on stdout, where CloudWatch Logs reads both. */
export function lambdaTelemetry(level: LogLevelName): Telemetry {
  const logger = new ServiceLogger({ level });
  const emf = new EmfMetrics(
    new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_DIMENSION.service }),
  );
  return { logger, log: logThrough(logger), metrics: emf, flush: () => emf.flush() };
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
  return { logger, log, metrics: new LogLineMetrics(log), flush: () => undefined };
}
