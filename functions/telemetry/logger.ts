import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { Log, LogEntry } from '../app/shared/log';
import { SERVICE_DIMENSION } from './metrics';
import { redactLogValue } from './redact';

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

/** Where a line goes instead of stdout as JSON: a terminal (one readable line), or a test's collector. */
export type LogOutput = (attributes: Record<string, unknown>) => void;

/**
 * The service's one logger: Powertools' structured JSON lines (level, service, timestamp; function name, cold start
 * and request id once the handler wrapper has injected the Lambda context), every value passed through the
 * redaction replacer (functions/telemetry/redact.ts) before it is written. With an `output`, the redacted
 * attributes go there instead of stdout (local mode on a terminal, tests).
 */
export class ServiceLogger extends Logger {
  readonly #output: LogOutput | undefined;

  constructor(options: { level?: LogLevelName; output?: LogOutput } = {}) {
    super({
      serviceName: SERVICE_DIMENSION.service,
      logLevel: (options.level ?? 'info').toUpperCase() as 'INFO',
      jsonReplacerFn: redactLogValue,
    });
    this.#output = options.output;
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    if (!this.#output) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    this.#output(JSON.parse(JSON.stringify(log.getAttributes(), this.getJsonReplacer())));
  }
}

/** The application's {@link Log} port, written through the service logger. */
export function logThrough(logger: Logger): Log {
  return ({ level = 'info', message, ...attributes }: LogEntry) => {
    logger[level](message, attributes);
  };
}

/** Attributes a terminal line leaves out: the same on every line of one process. */
const QUIET_ATTRIBUTES = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'xray_trace_id',
]);

/**
 * One readable line per entry for a terminal: time, level, message, then `key=value` for the rest; a request line
 * reads `GET /path 200 3.1 ms alice`. Values are already redacted.
 */
export function terminalLine(attributes: Record<string, unknown>): string {
  const time = typeof attributes.timestamp === 'string' ? attributes.timestamp.slice(11, 23) : '';
  const level = String(attributes.level ?? '').padEnd(5);
  const rest = Object.entries(attributes).filter(([k]) => !QUIET_ATTRIBUTES.has(k));
  let head = String(attributes.message ?? '');
  if (head === 'request') {
    const a = attributes as { method?: string; path?: string; status?: number; ms?: number; user?: string };
    head = `${a.method} ${a.path} ${a.status} ${a.ms} ms${a.user ? ` ${a.user}` : ''}`;
    const shown = new Set(['method', 'path', 'status', 'ms', 'user']);
    return [time, level, head, ...rest.filter(([k]) => !shown.has(k)).map(pair)].join(' ').trimEnd();
  }
  return [time, level, head, ...rest.map(pair)].join(' ').trimEnd();
}

function pair([key, value]: [string, unknown]): string {
  return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
}
