import type { ImportJobSink } from '../app/change-processor';
import type { AppContext } from '../app/context';
import { type ImportJob, runImportJob } from '../app/import-jobs';
import type { Log } from '../http/handler';

const MAX_ATTEMPTS = 5;
const MAX_DELAY_MS = 15 * 60_000;

interface Queued {
  job: ImportJob;
  attempt: number;
}

/**
 * Local mode's import queue: what SQS and the import worker do in AWS, in process. Jobs for the same stream are
 * coalesced while they wait, run with bounded concurrency, re-queued after a registry's rate-limit window, and
 * retried with backoff when they throw; a job that keeps failing is logged and dropped (the DLQ's role).
 */
export class LocalImportRunner implements ImportJobSink {
  private readonly waiting = new Map<string, Queued>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private stopped = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly ctx: AppContext,
    private readonly log: Log,
    private readonly concurrency = 4,
  ) {}

  async enqueue(jobs: ImportJob[], delayMs = 0): Promise<void> {
    for (const job of jobs) this.schedule({ job, attempt: 0 }, delayMs);
  }

  private schedule(q: Queued, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs > 0) {
      const t = setTimeout(
        () => {
          this.timers.delete(t);
          this.schedule(q, 0);
        },
        Math.min(delayMs, MAX_DELAY_MS),
      );
      this.timers.add(t);
      return;
    }
    const key = `${q.job.namespace}/${q.job.name}/${q.job.uid}`;
    const existing = this.waiting.get(key);
    if (existing) existing.job.tags = [...new Set([...existing.job.tags, ...q.job.tags])];
    else this.waiting.set(key, { job: { ...q.job, tags: [...q.job.tags] }, attempt: q.attempt });
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.waiting.size > 0) {
      const [key, q] = this.waiting.entries().next().value as [string, Queued];
      this.waiting.delete(key);
      this.running++;
      void this.run(q).finally(() => {
        this.running--;
        if (this.running === 0 && this.waiting.size === 0) for (const r of this.idle.splice(0)) r();
        this.pump();
      });
    }
  }

  private async run(q: Queued): Promise<void> {
    const { namespace, name, tags } = q.job;
    try {
      const result = await runImportJob(this.ctx, q.job);
      if (result.retryAfterMs !== undefined) {
        this.log({
          level: 'warn',
          msg: 'import rate limited, re-queued',
          namespace,
          name,
          tags,
          retryAfterMs: result.retryAfterMs,
        });
        this.schedule({ job: q.job, attempt: q.attempt }, result.retryAfterMs);
      } else if (result.imported.length)
        this.log({
          level: 'info',
          msg: 'imported',
          namespace,
          name,
          tags: result.imported,
          wrote: result.wrote,
        });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      if (q.attempt + 1 >= MAX_ATTEMPTS) {
        this.log({ level: 'error', msg: 'import job failed, dropped', namespace, name, tags, error });
        return;
      }
      this.log({ level: 'warn', msg: 'import job failed, will retry', namespace, name, tags, error });
      this.schedule({ job: q.job, attempt: q.attempt + 1 }, Math.min(30_000, 500 * 2 ** q.attempt));
    }
  }

  /** Resolves when nothing is queued or running (timers for later retries do not count). */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.waiting.size === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.clear();
    if (this.running > 0)
      await Promise.race([this.whenIdle(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }
}
