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
 * CloudWatch embedded metric format through Powertools Metrics, written when the invocation ends (the handler
 * wrapper flushes): the metrics without a breakdown as one EMF document; each breakdown (one dimension set, say one
 * registry host) as one more document with its count summed over the invocation, so an import of hundreds of tags
 * writes a few lines, not one per registry request. The breakdown metrics are all counts, read with Sum.
 */
export class EmfMetrics implements MetricsRecorder {
  private readonly counts = new Map<
    string,
    { def: MetricDefinition; dimensions: [string, string][]; sum: number }
  >();

  constructor(private readonly metrics: Metrics) {}

  record(role: MetricRole, value = 1, breakdown?: Readonly<Record<string, string>>): void {
    const def = METRICS[role];
    const dimensions = breakdownOf(def, breakdown);
    if (dimensions.length === 0) {
      this.metrics.addMetric(def.name, unitOf(def), value);
      return;
    }
    const key = JSON.stringify([def.name, dimensions]);
    const entry = this.counts.get(key) ?? { def, dimensions, sum: 0 };
    entry.sum += value;
    this.counts.set(key, entry);
  }

  /** Writes what was recorded since the last flush (nothing when nothing was). */
  flush(): void {
    for (const { def, dimensions, sum } of this.counts.values()) {
      const single = this.metrics.singleMetric();
      for (const [name, v] of dimensions) single.addDimension(name, v);
      single.addMetric(def.name, unitOf(def), sum);
    }
    this.counts.clear();
    if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
  }
}

function unitOf(def: MetricDefinition): (typeof MetricUnit)[keyof typeof MetricUnit] {
  return def.unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds;
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
