/** One structured log entry: a message and its attributes (never secrets; the logger redacts what slips in). */
export interface LogEntry {
  level?: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  [attribute: string]: unknown;
}

/**
 * The log port: use cases and local-mode parts write entries; the composition root supplies the service logger
 * (functions/telemetry/logger.ts: Powertools JSON lines in AWS, the same logger locally).
 */
export type Log = (entry: LogEntry) => void;
