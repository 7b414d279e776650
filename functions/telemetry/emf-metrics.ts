import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricsRecorder } from '../app/ports/metrics';
import type { Log } from '../app/shared/log';
import { METRICS, type MetricDefinition, type MetricRole } from './metrics';

/** A breakdown value as written: its own text when short and plain, else `other`, so a typo cannot explode it. */
function boundedValue(value: string | undefined): string {
  if (!value) return 'unknown';
  return /^[A-Za-z0-9._:-]{1,100}$/.test(value) ? value : 'other';
}

/** The breakdown dimensions of one data point: exactly the catalogue's names, never another. */
function breakdownOf(
  def: MetricDefinition,
  given: Readonly<Record<string, string>> | undefined,
): [string, string][] {
  return (def.breakdown ?? []).map((name) => [name, boundedValue(given?.[name])]);
}

/**
 * CloudWatch embedded metric format through Powertools Metrics: metrics without a breakdown are buffered and
 * written as one EMF document when the invocation ends (the handler wrapper flushes); a metric with a breakdown is
 * written at once as its own document, since one document carries one dimension set.
 */
export class EmfMetrics implements MetricsRecorder {
  constructor(private readonly metrics: Metrics) {}

  record(role: MetricRole, value = 1, breakdown?: Readonly<Record<string, string>>): void {
    const def = METRICS[role];
    const unit = def.unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds;
    const dimensions = breakdownOf(def, breakdown);
    if (dimensions.length === 0) {
      this.metrics.addMetric(def.name, unit, value);
      return;
    }
    const single = this.metrics.singleMetric();
    for (const [name, v] of dimensions) single.addDimension(name, v);
    single.addMetric(def.name, unit, value);
  }

  /** Writes what was buffered (nothing when nothing was recorded). */
  flush(): void {
    if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
  }
}

/** Local mode: each data point as a debug log line (`LOG_LEVEL=debug` shows them). */
export class LogLineMetrics implements MetricsRecorder {
  constructor(private readonly log: Log) {}

  record(role: MetricRole, value = 1, breakdown?: Readonly<Record<string, string>>): void {
    const def = METRICS[role];
    this.log({
      level: 'debug',
      message: 'metric',
      metric: def.name,
      value,
      unit: def.unit,
      ...Object.fromEntries(breakdownOf(def, breakdown)),
    });
  }
}
