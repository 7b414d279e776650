import type { AppContext } from '../app/context';
import { runJob } from '../app/job-runner';
import { describeJob, type Job, type JobSink } from '../app/jobs';
import type { Log } from '../http/handler';

const MAX_ATTEMPTS = 5;
const MAX_DELAY_MS = 15 * 60_000;

interface Queued {
  job: Job;
  attempt: number;
}

/**
 * Local mode's job queue: what SQS and the job worker do in AWS, in process. Identical waiting jobs are
 * coalesced (import jobs for one stream merge their tags), run with bounded concurrency, delayed when asked,
 * and retried with backoff when they throw; a job that keeps failing is logged and dropped (the DLQ's role).
 */
export class LocalJobRunner implements JobSink {
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

  async enqueue(jobs: Job[], delayMs = 0): Promise<void> {
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
    const key = coalescingKey(q.job);
    const existing = this.waiting.get(key);
    if (existing?.job.kind === 'import' && q.job.kind === 'import')
      existing.job.tags = [...new Set([...existing.job.tags, ...q.job.tags])];
    else if (!existing) this.waiting.set(key, { job: structuredClone(q.job), attempt: q.attempt });
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
    try {
      const summary = await runJob(this.ctx, q.job, this, this.log);
      this.log({ level: 'debug', msg: 'job done', ...summary });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      if (q.attempt + 1 >= MAX_ATTEMPTS) {
        this.log({ level: 'error', msg: 'job failed, dropped', ...describeJob(q.job), error });
        return;
      }
      this.log({ level: 'warn', msg: 'job failed, will retry', ...describeJob(q.job), error });
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

function coalescingKey(job: Job): string {
  switch (job.kind) {
    case 'import':
      return `import/${job.namespace}/${job.name}/${job.uid}/${job.force ? 'f' : ''}${job.scheduled ? `s${job.scheduled.cycleEndsAt}` : ''}`;
    case 'sweep':
      return `sweep/${job.namespace}/${job.name}`;
    case 'project':
      return `project/${job.namespace}`;
    case 'scan':
      return `scan/${job.shard}/${job.from}/${job.to}`;
    case 'push':
      return `push/${job.hint.registry}/${job.hint.repository}:${job.hint.tag ?? ''}`;
  }
}
