import type { TagRecord } from '../../core/imagestream/model';
import { apiHost } from '../../core/reference';
import { scheduleEligible, sourceRegistry } from '../../core/schedule/scheduling';
import type { JobSink } from '../ports/jobs';
import type { AppContext } from '../shared/context';
import type { Log } from '../shared/log';
import { type ImportJobResult, runImportJob } from './import-jobs';
import type { ImportJob, Job } from './jobs';

/** The longest a rate-limited registry is left alone (a Docker Hub quota window can be six hours). */
export const MAX_BACKOFF_MS = 60 * 60_000;

/** Tags per scheduled import job: big streams are re-checked by several jobs side by side. */
const TAGS_PER_JOB = 500;
/** Jobs are queued in batches while a scan pages through the index, so memory stays flat. */
const FLUSH_TAGS = 2_000;

/**
 * A scan: the due tags of one shard become import jobs, one per stream (split when a stream has many). Its
 * metrics: the lag from the tick that made its slots due (its cycle's start) to now, and once it completed, the
 * tags it read and the completion the scheduled-cycle alarm waits for.
 */
export async function runScan(
  ctx: AppContext,
  job: Extract<Job, { kind: 'scan' }>,
  sink: JobSink,
  clock: () => number = Date.now,
): Promise<{ tags: number; jobs: number }> {
  const dueAt = job.cycleEndsAt - ctx.scheduling.intervalSeconds * 1000;
  ctx.metrics.record('schedulerLag', Math.max(0, clock() - dueAt));
  let tags = 0;
  let jobs = 0;
  let pending = new Map<string, ImportJob>();
  let pendingTags = 0;
  const flush = async () => {
    const out: Job[] = [];
    for (const j of pending.values())
      for (let i = 0; i < j.tags.length; i += TAGS_PER_JOB)
        out.push({ kind: 'import', ...j, tags: j.tags.slice(i, i + TAGS_PER_JOB) });
    if (out.length) await sink.enqueue(out);
    jobs += out.length;
    pending = new Map();
    pendingTags = 0;
  };
  for await (const page of ctx.schedule.dueTags(job.shard, job.from, job.to)) {
    for (const t of page) {
      const key = `${t.namespace}/${t.name}/${t.uid}`;
      const j = pending.get(key) ?? {
        namespace: t.namespace,
        name: t.name,
        uid: t.uid,
        tags: [],
        force: true,
        scheduled: { cycleEndsAt: job.cycleEndsAt },
      };
      j.tags.push(t.tag);
      pending.set(key, j);
      tags++;
      pendingTags++;
    }
    if (pendingTags >= FLUSH_TAGS) await flush();
  }
  await flush();
  ctx.metrics.record('scheduledTagsChecked', tags);
  ctx.metrics.record('scheduledScanSucceeded');
  return { tags, jobs };
}

/**
 * A scheduled re-import under the budgets (docs/semantics.md#scheduled-import): one token from the global per-minute budget per job,
 * one from each registry's budget, and none at all for a registry that is backing off after rate limiting. What
 * cannot run now is re-queued for when it can, within its cycle; past the cycle it is dropped, since the next
 * cycle re-checks it anyway (OpenShift skips such a stream for the round).
 */
export async function runScheduledImport(
  ctx: AppContext,
  job: ImportJob & { scheduled: { cycleEndsAt: number } },
  sink: JobSink,
  log: Log,
  clock: () => number = Date.now,
): Promise<ImportJobResult & { deferred: number; dropped: number }> {
  const s = ctx.scheduling;
  const now = clock();
  let deferred = 0;
  let dropped = 0;
  const later = async (tags: string[], atMs: number) => {
    if (atMs >= job.scheduled.cycleEndsAt) {
      dropped += tags.length;
      return;
    }
    deferred += tags.length;
    await sink.enqueue([{ kind: 'import', ...job, tags }], Math.max(0, atMs - clock()));
  };
  if (now >= job.scheduled.cycleEndsAt) {
    log({
      level: 'warn',
      message: 'scheduled import past its cycle, skipped',
      namespace: job.namespace,
      name: job.name,
    });
    return { imported: [], wrote: false, deferred: 0, dropped: job.tags.length };
  }
  const nextMinute = (Math.floor(now / 60_000) + 1) * 60_000 + Math.floor(Math.random() * 5_000);
  const strikes = new Map<string, number>();
  const result = await runImportJob(ctx, job, {
    admit: async (candidates) => {
      // The index is read eventually consistently: a tag may have stopped being scheduled since.
      const due = candidates.filter(scheduleEligible);
      if (due.length === 0) return [];
      if (!(await ctx.schedule.takeTokens('scheduled', s.perMinute, now))) {
        await later(
          due.map((t) => t.name),
          nextMinute,
        );
        return [];
      }
      const admitted: TagRecord[] = [];
      for (const [registry, tags] of groupByRegistry(due)) {
        const names = tags.map((t) => t.name);
        const backoff = await ctx.schedule.getBackoff(registry);
        if (backoff && backoff.until > now) {
          await later(names, backoff.until);
          continue;
        }
        const limit = Math.max(1, Math.floor(s.perRegistryPerMinute / 2 ** (backoff?.strikes ?? 0)));
        if (!(await ctx.schedule.takeTokens(`registry#${registry}`, limit, now))) {
          await later(names, nextMinute);
          continue;
        }
        strikes.set(registry, backoff?.strikes ?? 0);
        admitted.push(...tags);
      }
      return admitted;
    },
  });
  const limited = new Map<string, { wait: number; tags: string[] }>();
  for (const r of result.rateLimited ?? []) {
    const e = limited.get(r.registry) ?? { wait: 0, tags: [] };
    e.wait = Math.max(e.wait, r.retryAfterMs);
    e.tags.push(r.tag);
    limited.set(r.registry, e);
  }
  for (const [registry, { wait, tags }] of limited) {
    const b = await ctx.schedule.recordRateLimit(registry, wait, clock(), MAX_BACKOFF_MS);
    log({
      level: 'warn',
      message: 'registry rate limited, backing off',
      registry,
      untilMs: b.until,
      strikes: b.strikes,
    });
    await later(tags, b.until);
  }
  for (const [registry, n] of strikes) {
    if (limited.has(registry)) continue;
    if (n > 0) await ctx.schedule.clearBackoff(registry);
    // The registry answered, but said its quota is nearly spent: pause it until the window refills, before it
    // starts answering 429 (Docker Hub's `ratelimit-remaining`, the IETF RateLimit headers).
    const quota = ctx.registry.quota(apiHost(registry));
    if (quota && quota.remaining <= lowWater(quota.limit)) {
      await ctx.schedule.pause(registry, quota.resetAtMs);
      log({
        level: 'warn',
        message: 'registry quota nearly spent, pausing',
        registry,
        remaining: quota.remaining,
        untilMs: quota.resetAtMs,
      });
    }
  }
  // Rate-limited tags were handled above (back-off and re-queue); the caller has nothing left to retry.
  const { retryAfterMs: _handled, ...rest } = result;
  return { ...rest, deferred, dropped };
}

/** Requests left at which scheduled imports stop until the quota window refills: 5 % of the limit, at least 5. */
function lowWater(limit: number | undefined): number {
  return Math.max(5, Math.ceil((limit ?? 0) * 0.05));
}

function groupByRegistry(tags: TagRecord[]): Map<string, TagRecord[]> {
  const out = new Map<string, TagRecord[]>();
  for (const t of tags) {
    const r = sourceRegistry(t.spec?.from?.name ?? '');
    out.set(r, [...(out.get(r) ?? []), t]);
  }
  return out;
}
