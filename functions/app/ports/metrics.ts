import type { MetricRole } from '../../telemetry/metrics';

/**
 * Where use cases count what an on-call engineer asks about (functions/telemetry/metrics.ts names each metric and
 * its breakdown). In AWS the composition root supplies CloudWatch embedded-metric-format lines
 * (functions/telemetry/emf-metrics.ts); locally, debug log lines; in unit tests, a recorder.
 */
export interface MetricsRecorder {
  /**
   * One data point of `role` (a count of 1 unless `value` says otherwise; milliseconds for durations).
   * `breakdown` gives the values of the metric's breakdown dimensions, each from a bounded set.
   */
  record(role: MetricRole, value?: number, breakdown?: Readonly<Record<string, string>>): void;
}

/** Records nothing: for entry points that emit no metric of their own. */
export const noMetrics: MetricsRecorder = { record: () => undefined };
