/** A structured log line writer (JSON lines in AWS and locally: functions/logging.ts). */
export type Log = (entry: { level?: string; [key: string]: unknown }) => void;
