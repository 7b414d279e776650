import type { JobSink } from '../ports/jobs';
import { type AppContext, asSystem, SYSTEM_ACTORS } from '../shared/context';
import type { Log } from '../shared/log';
import { runImportJob } from './import-jobs';
import { describeJob, type Job } from './jobs';
import { finishProjectDeletion } from './project-deletion';
import { runPush } from './push';
import { MAX_BACKOFF_MS, runScan, runScheduledImport } from './scheduler';

/** How long one sweep job may delete before it hands the rest to a follow-up job. */
const SWEEP_BUDGET_MS = 20_000;

/**
 * The system actor a job's writes record (audit): no user asked for background work directly. A sweep acts as
 * the controller but stamps the records it removes with the user who deleted the stream (`deletedBy`).
 */
export function jobActor(job: Job): string {
  switch (job.kind) {
    case 'import':
      // Scheduled imports come from scans; the others from the change processor (a spec change) or a retry of one.
      return job.scheduled ? SYSTEM_ACTORS.scheduler : SYSTEM_ACTORS.importer;
    case 'scan':
      return SYSTEM_ACTORS.scheduler;
    case 'push':
      return SYSTEM_ACTORS.push;
    case 'sweep':
    case 'orphans':
      return SYSTEM_ACTORS.controller;
    case 'project':
      // What the deletion removes is recorded as removed by whoever deleted the project.
      return job.by;
  }
}

/**
 * Runs one job of any kind, the same way in the AWS worker and the local runner, as the job's system actor.
 * Work the job cannot finish now (a rate-limited registry, a big sweep) is re-queued through `sink`; an exception
 * means "retry this job".
 */
export async function runJob(
  requestCtx: AppContext,
  job: Job,
  sink: JobSink,
  log: Log,
): Promise<Record<string, unknown>> {
  const ctx = asSystem(requestCtx, jobActor(job));
  switch (job.kind) {
    case 'import': {
      if (job.scheduled) {
        const r = await runScheduledImport(ctx, { ...job, scheduled: job.scheduled }, sink, log);
        return {
          ...describeJob(job),
          imported: r.imported.length,
          wrote: r.wrote,
          deferred: r.deferred,
          dropped: r.dropped,
        };
      }
      const r = await runImportJob(ctx, job);
      // The scheduler learns about rate limits from any import, so it backs off the registry too.
      for (const limited of r.rateLimited ?? [])
        await ctx.schedule.recordRateLimit(
          limited.registry,
          limited.retryAfterMs,
          Date.now(),
          MAX_BACKOFF_MS,
        );
      if (r.retryAfterMs !== undefined) await sink.enqueue([job], r.retryAfterMs);
      return {
        ...describeJob(job),
        imported: r.imported.length,
        wrote: r.wrote,
        retryAfterMs: r.retryAfterMs,
      };
    }
    case 'sweep': {
      const done = await ctx.streams.sweep(
        job.namespace,
        job.name,
        SWEEP_BUDGET_MS,
        job.deletedBy ?? SYSTEM_ACTORS.controller,
      );
      if (!done) await sink.enqueue([job]);
      return { ...describeJob(job), done };
    }
    case 'project': {
      const done = await finishProjectDeletion(ctx, job.namespace);
      if (!done) await sink.enqueue([job]);
      return { ...describeJob(job), done };
    }
    case 'scan': {
      const r = await runScan(ctx, job, sink);
      return { ...describeJob(job), ...r };
    }
    case 'push': {
      const r = await runPush(ctx, job.hint, job.notifiedAt);
      return { ...describeJob(job), streams: r.streams, tags: r.tags, wrote: r.results.some((x) => x.wrote) };
    }
    case 'orphans': {
      const r = await ctx.streams.sweepAbandonedWrites({
        budgetMs: SWEEP_BUDGET_MS,
        ...(job.writer && job.before !== undefined
          ? { deadWriter: { writer: job.writer, before: job.before } }
          : {}),
      });
      if (!r.done) await sink.enqueue([job]);
      if (r.abandoned) log({ level: 'info', message: 'swept abandoned writes', ...r });
      return { ...describeJob(job), ...r };
    }
  }
}
