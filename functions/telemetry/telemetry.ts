import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { MetricsRecorder } from '../app/ports/metrics';
import type { Log } from '../app/shared/log';
import { LogLineMetrics } from './emf-metrics';
import { type LogLevelName, type LogOutput, logThrough, ServiceLogger, terminalLine } from './logger';
import { noTracing, type Tracing } from './tracing';

/**
 * One process's logging, metrics and tracing, built once by its composition root. Lambda's (over Powertools Tracer
 * and Metrics) is in ./lambda-telemetry.ts, which local mode never loads: X-Ray's SDK hooks every promise of the
 * process (async_hooks), a cost only a traced function should pay.
 */
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
