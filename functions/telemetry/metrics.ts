/**
 * The service's own CloudWatch metrics: names, namespace, dimensions and units, defined once. The CDK alarms and
 * dashboard (infra/observability.ts) read them from here, and so does the code that emits them (CloudWatch
 * embedded metric format lines, functions/telemetry/emf-metrics.ts), so an alarm can never watch a name nothing
 * emits. Pure data: no AWS imports.
 *
 * Every metric carries exactly the dimensions listed with it. CloudWatch identifies a metric by namespace, name
 * and its whole dimension set, so an emitter that adds a dimension writes a different metric than the alarm
 * watches: add a per-something breakdown as a separate metric, never as an extra dimension on these.
 * docs/operations.md lists them with what each answers and which function emits it.
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
  /**
   * Dimensions whose value each data point names (besides `service`), each with a bounded set of values: a
   * registry host, a reason from a fixed list, a kind. Never a namespace, stream or tag (one metric per value).
   */
  readonly breakdown?: readonly string[];
}

const metric = (
  name: string,
  unit: MetricUnit,
  statistic: MetricDefinition['statistic'],
  description: string,
  breakdown?: readonly string[],
): MetricDefinition => ({
  name,
  unit,
  statistic,
  dimensions: SERVICE_DIMENSION,
  description,
  ...(breakdown ? { breakdown } : {}),
});

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
  /** Events the change processor put on the bus (locally: appended to the events file). */
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
  /** Every tag import again, broken down by result and reason (IMPORT_REASONS), to tell what fails. */
  importResult: metric(
    'ImportResult',
    'Count',
    'Sum',
    'Tag imports by result (succeeded, failed) and reason (the Status reason of a failure, Imported otherwise)',
    ['result', 'reason'],
  ),
  /** Requests sent to registries (every HTTP exchange: ping, token, manifest, blob, tag list), per registry host. */
  registryRequests: metric(
    'RegistryRequests',
    'Count',
    'Sum',
    'HTTP requests sent to a registry (auth and token requests included)',
    ['registry'],
  ),
  /** Registry answers 429 Too Many Requests, per registry host. */
  registryRateLimited: metric(
    'RegistryRateLimited',
    'Count',
    'Sum',
    'Registry answers 429 Too Many Requests (the service backs off from that host)',
    ['registry'],
  ),
  /** How late scheduled re-checks run: from the time their slot came due to the time a scan checked them. */
  schedulerLag: metric(
    'SchedulerLag',
    'Milliseconds',
    'p99',
    'Delay from a scheduled tag coming due (its slot) to the scan that re-checked it',
  ),
  /**
   * Push notification to tag change: from the notification's arrival to the commit of the tag change its re-check
   * made. Its event follows through the table stream (the change processor's IteratorAge adds that part).
   */
  pushToTagChange: metric(
    'PushToTagChange',
    'Milliseconds',
    'p99',
    'From a registry push notification to the committed tag change its re-check made (coalescing window included)',
  ),
  /** Tag changes the change processor saw, by kind. */
  tagChanges: metric(
    'TagChanges',
    'Count',
    'Sum',
    'Tag changes by kind: created, moved, rolledBack, deleted',
    ['kind'],
  ),
  /** Events the change processor could not put on the bus (the stream retries them). */
  eventsFailed: metric(
    'EventsFailed',
    'Count',
    'Sum',
    'Tag events the bus refused or that could not be sent (the batch is retried from that record)',
  ),
  /** A failed job attempt that the queue delivers again. */
  jobRetried: metric('JobRetried', 'Count', 'Sum', 'A failed job attempt that will be tried again'),
  /** A job attempt that failed for the last time: the job goes to the dead-letter queue (or is dropped). */
  jobDeadLettered: metric(
    'JobDeadLettered',
    'Count',
    'Sum',
    'A job that failed its last attempt (the dead-letter queue has it) or could not be read at all',
  ),
  /** Requests the access check refused (403): misconfigured clients, bindings that are missing, or probing. */
  authorizationDenied: metric(
    'AuthorizationDenied',
    'Count',
    'Sum',
    'API requests refused by the access check (403 Forbidden)',
  ),
} as const satisfies Record<string, MetricDefinition>;

/**
 * The reasons ImportResult names: Status reasons an import failure carries, `Imported` for a success, and `Other`
 * for anything else, so the dimension has a fixed set of values.
 */
export const IMPORT_REASONS = [
  'Imported',
  'NotFound',
  'Unauthorized',
  'Forbidden',
  'TooManyRequests',
  'Timeout',
  'InternalError',
  'BadRequest',
  'Invalid',
  'ServiceUnavailable',
  'Other',
] as const;

/** The kinds TagChanges names. */
export const TAG_CHANGE_KINDS = ['created', 'moved', 'rolledBack', 'deleted'] as const;

export type MetricRole = keyof typeof METRICS;
