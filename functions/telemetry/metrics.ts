/**
 * The service's own CloudWatch metrics: names, namespace, dimensions and units, defined once. The CDK alarms and
 * dashboard (infra/observability.ts) read them from here, and so will the code that emits them (as CloudWatch
 * embedded metric format lines), so an alarm can never watch a name nothing emits. Pure data: no AWS imports.
 *
 * Every metric carries exactly the dimensions listed with it. CloudWatch identifies a metric by namespace, name
 * and its whole dimension set, so an emitter that adds a dimension writes a different metric than the alarm
 * watches: add a per-something breakdown as a separate metric, never as an extra dimension on these.
 * docs/operations.md lists them with what they mean and which are emitted today.
 */

/** CloudWatch namespace of every custom metric of the service. */
export const METRICS_NAMESPACE = 'ImageStreams';

/**
 * The `service` dimension every metric carries, with this one value (it is also the service name Powertools
 * uses, POWERTOOLS_SERVICE_NAME). One deployment per account and region, as the fixed stack names imply.
 */
export const SERVICE_DIMENSION = { service: 'imagestreams' } as const;

/** CloudWatch units the catalogue uses (a subset of CloudWatch's StandardUnit). */
export type MetricUnit = 'Count' | 'Milliseconds';

export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnit;
  /** Dimension names and values, exactly as emitted. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** The statistic alarms and the dashboard read it with. */
  readonly statistic: 'Sum' | 'Average' | 'Maximum' | 'p99';
  readonly description: string;
}

const metric = (
  name: string,
  unit: MetricUnit,
  statistic: MetricDefinition['statistic'],
  description: string,
): MetricDefinition => ({ name, unit, statistic, dimensions: SERVICE_DIMENSION, description });

/** Every custom metric, by role. */
export const METRICS = {
  /** One per image a tag import stored or confirmed unchanged (API imports and background jobs alike). */
  importSucceeded: metric(
    'ImportSucceeded',
    'Count',
    'Sum',
    'A tag import finished without an error: the image was stored, or the tag was confirmed unchanged',
  ),
  /** One per tag import that ended in an error status (the tag keeps its image and gets a failure condition). */
  importFailed: metric(
    'ImportFailed',
    'Count',
    'Sum',
    'A tag import ended with an error (registry refused, unreachable, timed out, manifest invalid)',
  ),
  /**
   * One per scheduled scan job that completed: one shard of one tick's slot window, its due tags read and their
   * re-imports run or queued. A full interval of them is one scheduled cycle over every scheduled tag.
   */
  scheduledScanSucceeded: metric(
    'ScheduledScanSucceeded',
    'Count',
    'Sum',
    'A scheduled scan (one shard of one tick window) completed; their absence means no scheduled re-import runs',
  ),
  /** Scheduled tags a scan looked at (due or not imported because of budgets), for capacity and cost. */
  scheduledTagsChecked: metric(
    'ScheduledTagsChecked',
    'Count',
    'Sum',
    'Scheduled tags the scans re-checked against their registries',
  ),
  /** Events the change processor put on the bus. */
  eventsPublished: metric('EventsPublished', 'Count', 'Sum', 'Tag events put on the EventBridge bus'),
  /** A background job that failed an attempt (it is retried by the queue, and dead-lettered after five). */
  jobFailed: metric(
    'JobFailed',
    'Count',
    'Sum',
    'A background job attempt failed (retried by the queue; dead-lettered after 5 receives)',
  ),
  /** How long a tag import's registry work took. */
  importDuration: metric(
    'ImportDuration',
    'Milliseconds',
    'p99',
    'Duration of one tag import, registry exchanges included',
  ),
} as const satisfies Record<string, MetricDefinition>;

export type MetricRole = keyof typeof METRICS;
