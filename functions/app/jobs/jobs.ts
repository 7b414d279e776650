import * as z from 'zod';
import type { PushHint } from '../../core/push/notifications';

/** Attempts of one job (the job queue's maxReceiveCount; local mode's runner counts the same): then dead-lettered. */
export const JOB_MAX_RECEIVES = 5;

/** A request to bring some tags of one stream up to date with their registry sources. */
export interface ImportJob {
  namespace: string;
  name: string;
  /** The stream incarnation the job is for: a job for a deleted and re-created stream does nothing. */
  uid: string;
  tags: string[];
  /** Import even when the tag's generation says it is up to date (scheduled and push-driven re-import). */
  force?: boolean;
  /** Set on scheduled re-imports: they take a budget token, and are dropped when their cycle has passed. */
  scheduled?: { cycleEndsAt: number };
}

/**
 * Background work, as it travels on the job queue (SQS in AWS, the in-process runner locally). Every job is
 * idempotent, so at-least-once delivery is safe.
 */
export type Job =
  /** Bring some tags of a stream up to date with their sources (spec change, schedule or push). */
  | ({ kind: 'import' } & ImportJob)
  /**
   * Remove what a deleted stream left behind; each removed tag record yields its `deleted` event, naming
   * `deletedBy` (who deleted the stream; absent in jobs queued before the audit existed).
   */
  | { kind: 'sweep'; namespace: string; name: string; deletedBy?: string }
  /** Delete what a Terminating project holds (streams, secrets, bindings), then the project itself. */
  | { kind: 'project'; namespace: string; by: string }
  /** Find the scheduled tags of one shard whose slots are due and queue their imports. */
  | { kind: 'scan'; shard: number; from: number; to: number; cycleEndsAt: number }
  /** A registry said a repository:tag changed: re-check the tags that follow it. */
  /** `notifiedAt`: when the service accepted the notification (epoch ms), for the push-to-change latency. */
  | { kind: 'push'; hint: PushHint; notifiedAt?: number }
  /**
   * Remove what abandoned writes left (functions/store/stream-store.ts, write intents): those older than the
   * abandonment age, and those `writer` put before `before` (a local process that has restarted since).
   */
  | { kind: 'orphans'; writer?: string; before?: number };

const name = z.string().min(1).max(253);
const importJob = z.object({
  kind: z.literal('import'),
  namespace: name,
  name,
  uid: z.string().min(1),
  tags: z.array(z.string().min(1)).min(1).max(1000),
  force: z.boolean().optional(),
  scheduled: z.object({ cycleEndsAt: z.number() }).optional(),
});

/** Validates a job read from the queue; messages written before jobs had kinds are imports. */
export const jobSchema = z.preprocess(
  (v) => (v && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'import' } : v),
  z.discriminatedUnion('kind', [
    importJob,
    z.object({ kind: z.literal('sweep'), namespace: name, name, deletedBy: z.string().min(1).optional() }),
    z.object({ kind: z.literal('project'), namespace: name, by: z.string().min(1) }),
    z.object({
      kind: z.literal('scan'),
      shard: z.number().int().min(0),
      from: z.number().int().min(0),
      to: z.number().int().min(0),
      cycleEndsAt: z.number(),
    }),
    z.object({
      kind: z.literal('push'),
      hint: z.object({
        registry: z.string().min(1),
        repository: z.string().min(1),
        tag: z.string().min(1).optional(),
        digest: z.string().optional(),
        action: z.enum(['push', 'delete']),
      }),
      notifiedAt: z.number().optional(),
    }),
    z.object({
      kind: z.literal('orphans'),
      writer: z.string().min(1).optional(),
      before: z.number().optional(),
    }),
  ]),
);

/** A short description for logs (never credentials: jobs carry none). */
export function describeJob(job: Job): Record<string, unknown> {
  switch (job.kind) {
    case 'import':
      return { job: 'import', namespace: job.namespace, name: job.name, tags: job.tags.length };
    case 'sweep':
      return { job: 'sweep', namespace: job.namespace, name: job.name };
    case 'project':
      return { job: 'project', namespace: job.namespace };
    case 'scan':
      return { job: 'scan', shard: job.shard, from: job.from, to: job.to };
    case 'push':
      return { job: 'push', repository: `${job.hint.registry}/${job.hint.repository}`, tag: job.hint.tag };
    case 'orphans':
      return { job: 'orphans' };
  }
}
