import type { Log } from '../http/handler';
import type { AppContext } from './context';
import { runImportJob } from './import-jobs';
import { describeJob, type Job, type JobSink } from './jobs';
import { runPush } from './push';
import { MAX_BACKOFF_MS, runScan, runScheduledImport } from './scheduler';

/** How long one sweep job may delete before it hands the rest to a follow-up job. */
const SWEEP_BUDGET_MS = 20_000;

/**
 * Runs one job of any kind, the same way in the AWS worker and the local runner. Work the job cannot finish now
 * (a rate-limited registry, a big sweep) is re-queued through `sink`; an exception means "retry this job".
 */
export async function runJob(
  ctx: AppContext,
  job: Job,
  sink: JobSink,
  log: Log,
): Promise<Record<string, unknown>> {
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
      const done = await ctx.streams.sweep(job.namespace, job.name, SWEEP_BUDGET_MS);
      if (!done) await sink.enqueue([job]);
      return { ...describeJob(job), done };
    }
    case 'scan': {
      const r = await runScan(ctx, job, sink);
      return { ...describeJob(job), ...r };
    }
    case 'push': {
      const r = await runPush(ctx, job.hint);
      return { ...describeJob(job), streams: r.streams, tags: r.tags, wrote: r.results.some((x) => x.wrote) };
    }
  }
}
