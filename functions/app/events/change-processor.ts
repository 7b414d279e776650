import {
  DETAIL_TYPES,
  deriveTagEvents,
  type PullSpecResolver,
  type TagEventEnvelope,
} from '../../core/events/tag-events';
import { tagNeedsImport } from '../../core/imagestream/import-rules';
import type { TagRecord } from '../../core/imagestream/model';
import type { StreamRulesConfig } from '../../core/imagestream/spec-rules';
import { resolveEventReference } from '../../core/imagestream/views';
import type { ImportJob, Job } from '../jobs/jobs';
import type { EventPublisher, StreamChange } from '../ports/events';
import type { JobSink } from '../ports/jobs';
import { type MetricsRecorder, noMetrics } from '../ports/metrics';

/** What one batch of table changes asks for: events to publish and jobs to queue. */
export interface ChangeWork {
  events: TagEventEnvelope[];
  jobs: Job[];
}

/**
 * The change processor's decisions over a batch of table changes (docs/architecture.md, "Component map"): events for every change of a tag's
 * resolved pull spec or import condition, import jobs for tags whose spec asks for one (docs/semantics.md#import-controller), and the
 * sweep of a deleted stream's records (whose removals in turn yield the `deleted` events, naming the stream's
 * deleter, which the head's old image carries as `by`). Only tag records and
 * stream heads are read: other records (secrets among them) are never looked at.
 */
export function workForChanges(changes: StreamChange[], resolve: PullSpecResolver): ChangeWork {
  const events: TagEventEnvelope[] = [];
  const jobs: Job[] = importJobsFor(changes).map((j) => ({ kind: 'import' as const, ...j }));
  for (const c of changes) {
    if (c.kind === 'head') {
      // The deleter stamped the head before removing it; the sweep stamps each tag record it removes with them.
      if (c.removed)
        jobs.push({
          kind: 'sweep',
          namespace: c.namespace,
          name: c.stream,
          ...(c.by !== undefined ? { deletedBy: c.by } : {}),
        });
      continue;
    }
    if (c.kind !== 'tag') continue;
    events.push(
      ...deriveTagEvents(
        {
          namespace: c.namespace,
          stream: c.stream,
          before: c.before,
          after: c.after,
          observedAt: c.observedAt ?? new Date().toISOString(),
        },
        resolve,
      ),
    );
  }
  return { events, jobs };
}

/** The pull-spec resolution of GET imagestreamtag (docs/semantics.md#pull-spec-resolution), from the service's registry settings. */
export function pullSpecResolver(rules: StreamRulesConfig): PullSpecResolver {
  return (namespace, name, spec, event) =>
    resolveEventReference(
      {
        namespace,
        name,
        uid: '',
        resourceVersion: 0,
        generation: 0,
        creationTimestamp: '',
        labels: {},
        annotations: {},
        lookupPolicy: { local: false },
        dockerImageRepository: '',
      },
      spec,
      event,
      rules,
    );
}

/**
 * The import controller's trigger (docs/semantics.md#import-controller) over the table's stream: a tag record whose change makes it
 * need an import (new DockerImage tag, changed source, generation 0, new stream) yields a job, grouped per stream.
 */
export function importJobsFor(changes: StreamChange[]): ImportJob[] {
  const jobs = new Map<string, ImportJob>();
  for (const c of changes) {
    if (c.kind !== 'tag') continue;
    const after = c.after?.tag;
    // A record of another stream incarnation (re-created stream) is a different tag altogether.
    const sameTag = c.before && c.after && c.before.streamUid === c.after.streamUid;
    if (!importNeededByChange(sameTag ? c.before?.tag : undefined, after)) continue;
    const uid = c.after!.streamUid;
    const key = `${c.namespace}/${c.stream}|${uid}`;
    const job = jobs.get(key) ?? { namespace: c.namespace, name: c.stream, uid, tags: [] };
    if (!job.tags.includes(after!.name)) job.tags.push(after!.name);
    jobs.set(key, job);
  }
  return [...jobs.values()];
}

/**
 * Which tags a change of one tag record asks to import (the change processor's decision): the tag needs an
 * import now and did not already need the same one before this change (that job was queued then).
 */
export function importNeededByChange(before: TagRecord | undefined, after: TagRecord | undefined): boolean {
  if (!after || !tagNeedsImport(after, true)) return false;
  if (!before || !tagNeedsImport(before, true)) return true;
  return (
    before.spec?.generation !== after.spec?.generation ||
    JSON.stringify(before.spec?.from) !== JSON.stringify(after.spec?.from) ||
    JSON.stringify(before.spec?.importPolicy) !== JSON.stringify(after.spec?.importPolicy)
  );
}

/** Events that went out, as metrics: how many, and the tag changes among them by kind. */
export function recordPublished(metrics: MetricsRecorder, events: readonly TagEventEnvelope[]): void {
  if (events.length === 0) return;
  metrics.record('eventsPublished', events.length);
  for (const e of events)
    if (e.detailType === DETAIL_TYPES.changed) metrics.record('tagChanges', 1, { kind: e.detail.change });
}

/** PutEvents and SendMessageBatch both take ten entries per call. */
const BATCH = 10;

/**
 * One batch of stream records, in order: events published ten at a time, then the jobs of the records whose
 * events all went out (import jobs of one stream merged). Returns the index of the first record that must be
 * processed again (and why), or undefined when all are done. Anything before that index has been published and queued;
 * re-processing from it may repeat some events and jobs, which consumers and workers tolerate (at least once).
 */
export async function processBatch(
  changes: StreamChange[],
  resolve: PullSpecResolver,
  publisher: EventPublisher,
  sink: Pick<JobSink, 'enqueue'>,
  metrics: MetricsRecorder = noMetrics,
): Promise<{ failedAt: number; error: string } | undefined> {
  const work = changes.map((c) => workForChanges([c], resolve));
  let failedAt = changes.length;
  let error = '';
  const events = work.flatMap((w, i) => w.events.map((e) => ({ i, e })));
  for (let k = 0; k < events.length; k += BATCH) {
    const chunk = events.slice(k, k + BATCH);
    try {
      await publisher.publish(chunk.map((x) => x.e));
      recordPublished(
        metrics,
        chunk.map((x) => x.e),
      );
    } catch (e) {
      metrics.record('eventsFailed', chunk.length);
      failedAt = chunk[0]!.i;
      error = `publishing events: ${(e as Error).message}`;
      break;
    }
  }
  const merged = new Map<string, { i: number; job: Job }>();
  work.slice(0, failedAt).forEach((w, i) => {
    for (const job of w.jobs) {
      const key =
        job.kind === 'import'
          ? `import|${job.namespace}/${job.name}|${job.uid}`
          : `${merged.size}|${job.kind}`;
      const prev = merged.get(key);
      if (prev && prev.job.kind === 'import' && job.kind === 'import')
        prev.job.tags = [...new Set([...prev.job.tags, ...job.tags])];
      else merged.set(key, { i, job: structuredClone(job) });
    }
  });
  const jobs = [...merged.values()].sort((a, b) => a.i - b.i);
  for (let k = 0; k < jobs.length; k += BATCH) {
    const chunk = jobs.slice(k, k + BATCH);
    try {
      await sink.enqueue(chunk.map((x) => x.job));
    } catch (e) {
      failedAt = Math.min(failedAt, chunk[0]!.i);
      error = `queuing jobs: ${(e as Error).message}`;
      break;
    }
  }
  return failedAt < changes.length ? { failedAt, error } : undefined;
}
