import { appendFileSync } from 'node:fs';
import { describeJob, JOB_MAX_RECEIVES, type Job } from '../app/jobs/jobs';
import type { JobSink } from '../app/ports/jobs';
import type { MetricsRecorder } from '../app/ports/metrics';
import type { Log } from '../app/shared/log';
import { JobJournal, type StoredJob } from './job-journal';

/** Runs of one job (SQS's maxReceiveCount): after this many it is dead-lettered. */
export const MAX_ATTEMPTS = JOB_MAX_RECEIVES;
/** The longest a job may be delayed at once (SQS's limit); longer waits are re-queued by the job itself. */
const MAX_DELAY_MS = 15 * 60_000;
/** The bucket of jobs that belong to no project (scheduler scans, push re-checks, orphan sweeps). */
const SYSTEM = '';

export interface LocalJobRunnerOptions {
  /** The journal file (under $DATA_DIR): every accepted job stays in it until it succeeded or was dead-lettered. */
  journalFile: string;
  /** Where dead-lettered jobs are appended, one JSON line each (the DLQ's role). */
  deadLetterFile: string;
  /** Jobs run at once. */
  concurrency: number;
  /** Jobs of one project (or of the system) run at once; below `concurrency`, so one project cannot take every slot. */
  perProjectConcurrency: number;
  /** Runs one job; a throw means "retry it". `sink` is this runner, for the follow-up work a job queues. */
  execute: (job: Job, sink: JobSink) => Promise<Record<string, unknown>>;
  log: Log;
  /** Counts failed attempts, retries and dead-lettered jobs. */
  metrics?: MetricsRecorder;
  /** Wait before the run after the nth failed one (n ≥ 1). */
  retryDelayMs?: (receives: number) => number;
  clock?: () => number;
}

/**
 * Local mode's job queue: what SQS, its dead-letter queue and the job worker do in AWS, in process and as
 * durable. A job is journalled (and the journal synced) before enqueue() resolves, so the change processor moves
 * its stream checkpoint, and a webhook answers, only once the work it accepted would survive a crash; it leaves the
 * journal only after it succeeded or was dead-lettered. After a restart every journalled job runs again at its
 * due time: jobs are idempotent (functions/app/jobs/jobs.ts), so a run cut short by the crash is simply repeated.
 *
 * Identical waiting jobs are coalesced (import jobs for one stream merge their tags), delayed jobs wait for their
 * due time, a job that throws is retried with back-off, and one that has started MAX_ATTEMPTS times is logged,
 * appended to the dead-letter file and dropped. Slots are shared fairly: waiting jobs are taken round-robin across
 * projects (system jobs count as one more project), and no project runs more than `perProjectConcurrency` jobs at
 * once, so a project whose imports hang on a slow registry leaves the other slots to everyone else.
 */
export class LocalJobRunner implements JobSink {
  private readonly jobs = new Map<number, StoredJob>();
  /** Due jobs waiting for a slot, per project, projects in round-robin order (the next to serve first). */
  private readonly ready = new Map<string, StoredJob[]>();
  /** The waiting due job each coalescing key maps to. */
  private readonly readyByKey = new Map<string, StoredJob>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly runningPerProject = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();
  private running = 0;
  private nextId = 1;
  private stopped = false;
  private idle: Array<() => void> = [];
  private readonly clock: () => number;
  private readonly retryDelayMs: (receives: number) => number;

  private constructor(
    private readonly o: LocalJobRunnerOptions,
    private readonly journal: JobJournal,
  ) {
    this.clock = o.clock ?? Date.now;
    this.retryDelayMs = o.retryDelayMs ?? ((n) => Math.min(30_000, 500 * 2 ** (n - 1)));
  }

  /** Opens the journal and takes back every job it holds; they start running on {@link start}. */
  static async open(o: LocalJobRunnerOptions): Promise<LocalJobRunner> {
    if (o.perProjectConcurrency < 1 || o.perProjectConcurrency > o.concurrency)
      throw new Error('perProjectConcurrency must be between 1 and concurrency');
    let runner: LocalJobRunner | undefined;
    const { journal, jobs } = await JobJournal.open(
      o.journalFile,
      () => [...(runner?.jobs.values() ?? [])],
      o.log,
    );
    runner = new LocalJobRunner(o, journal);
    for (const rec of jobs) {
      runner.jobs.set(rec.id, rec);
      runner.nextId = Math.max(runner.nextId, rec.id + 1);
    }
    if (jobs.length)
      o.log({
        level: 'info',
        message: 'jobs taken back from the journal',
        jobs: jobs.length,
        file: o.journalFile,
      });
    return runner;
  }

  /** Schedules the jobs taken back from the journal: those that already started MAX_ATTEMPTS times are dead-lettered. */
  start(): void {
    for (const rec of [...this.jobs.values()]) {
      if (rec.receives >= MAX_ATTEMPTS) this.deadLetter(rec, 'the process stopped during its last attempt');
      else this.place(rec);
    }
    this.pump();
  }

  async enqueue(jobs: Job[], delayMs = 0): Promise<void> {
    if (jobs.length === 0) return;
    const dueAt = this.clock() + Math.min(Math.max(0, delayMs), MAX_DELAY_MS);
    for (const job of jobs) {
      if (delayMs <= 0 && this.coalesce(job)) continue;
      const rec: StoredJob = { id: this.nextId++, job: structuredClone(job), receives: 0, dueAt };
      this.jobs.set(rec.id, rec);
      this.journal.put(rec);
      // After a stop the job is only journalled: the next start runs it.
      if (!this.stopped) this.place(rec);
    }
    await this.journal.durable();
    this.pump();
  }

  /** Folds `job` into an identical waiting one; false when there is none. */
  private coalesce(job: Job): boolean {
    const existing = this.readyByKey.get(coalescingKey(job));
    if (!existing) return false;
    if (existing.job.kind === 'import' && job.kind === 'import') {
      const tags = [...new Set([...existing.job.tags, ...job.tags])];
      if (tags.length !== existing.job.tags.length) {
        existing.job.tags = tags;
        this.journal.put(existing);
      }
    }
    return true;
  }

  /** Puts a journalled job where it waits: on a timer until it is due, then in its project's queue. */
  private place(rec: StoredJob): void {
    const wait = rec.dueAt - this.clock();
    if (wait > 0) {
      const t = setTimeout(() => {
        this.timers.delete(rec.id);
        this.place(rec);
        this.pump();
      }, wait);
      this.timers.set(rec.id, t);
      return;
    }
    const key = coalescingKey(rec.job);
    const existing = this.readyByKey.get(key);
    if (existing) {
      // A delayed or retried job came due while an identical one waits: one run does for both (counted as the
      // waiting job's, so a retried job's failures do not cut short work that arrived since).
      if (existing.job.kind === 'import' && rec.job.kind === 'import') {
        existing.job.tags = [...new Set([...existing.job.tags, ...rec.job.tags])];
        this.journal.put(existing);
      }
      this.jobs.delete(rec.id);
      this.journal.remove(rec.id);
      return;
    }
    this.readyByKey.set(key, rec);
    const project = projectOf(rec.job);
    const queue = this.ready.get(project);
    if (queue) queue.push(rec);
    else this.ready.set(project, [rec]);
  }

  /** Starts waiting jobs while slots are free, taking projects in turn and skipping those at their limit. */
  private pump(): void {
    while (!this.stopped && this.running < this.o.concurrency) {
      const rec = this.takeNext();
      if (!rec) break;
      const run = this.run(rec);
      this.inflight.add(run);
      void run.finally(() => this.inflight.delete(run));
    }
    if (this.running === 0 && this.ready.size === 0) for (const r of this.idle.splice(0)) r();
  }

  private takeNext(): StoredJob | undefined {
    for (const [project, queue] of this.ready) {
      if ((this.runningPerProject.get(project) ?? 0) >= this.o.perProjectConcurrency) continue;
      const rec = queue.shift()!;
      // Served: the project goes to the back of the round (and leaves it when it has nothing left).
      this.ready.delete(project);
      if (queue.length) this.ready.set(project, queue);
      this.readyByKey.delete(coalescingKey(rec.job));
      return rec;
    }
    return undefined;
  }

  private async run(rec: StoredJob): Promise<void> {
    const project = projectOf(rec.job);
    this.running++;
    this.runningPerProject.set(project, (this.runningPerProject.get(project) ?? 0) + 1);
    rec.receives++;
    this.journal.put(rec);
    try {
      const summary = await this.o.execute(rec.job, this);
      this.o.log({ level: 'debug', message: 'job done', ...summary });
      this.jobs.delete(rec.id);
      this.journal.remove(rec.id);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.o.metrics?.record('jobFailed');
      if (rec.receives >= MAX_ATTEMPTS) this.deadLetter(rec, error);
      else {
        this.o.metrics?.record('jobRetried');
        this.o.log({ level: 'warn', message: 'job failed, will retry', ...describeJob(rec.job), error });
        rec.dueAt = this.clock() + this.retryDelayMs(rec.receives);
        this.journal.put(rec);
        if (!this.stopped) this.place(rec);
      }
    } finally {
      this.running--;
      const left = (this.runningPerProject.get(project) ?? 1) - 1;
      if (left > 0) this.runningPerProject.set(project, left);
      else this.runningPerProject.delete(project);
      this.pump();
    }
  }

  private deadLetter(rec: StoredJob, error: string): void {
    this.o.metrics?.record('jobDeadLettered');
    this.o.log({
      level: 'error',
      message: 'job failed, dropped',
      ...describeJob(rec.job),
      receives: rec.receives,
      error,
    });
    try {
      appendFileSync(
        this.o.deadLetterFile,
        `${JSON.stringify({ at: new Date(this.clock()).toISOString(), receives: rec.receives, error, job: rec.job })}\n`,
      );
    } catch (e) {
      this.o.log({
        level: 'error',
        message: 'could not write the dead-letter file',
        error: (e as Error).message,
      });
    }
    this.jobs.delete(rec.id);
    this.journal.remove(rec.id);
  }

  /** Resolves when nothing is due or running (jobs waiting for a later due time do not count). */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.ready.size === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /**
   * Stops starting jobs and waits (bounded) for the running ones; everything not finished stays in the journal
   * and runs after the next start.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.ready.clear();
    this.readyByKey.clear();
    if (this.inflight.size > 0)
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise((r) => setTimeout(r, timeoutMs).unref()),
      ]);
    await this.journal.close();
  }
}

/** The project a job works for; jobs of none share the system bucket. */
function projectOf(job: Job): string {
  switch (job.kind) {
    case 'import':
    case 'sweep':
    case 'project':
      return `ns/${job.namespace}`;
    default:
      return SYSTEM;
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
    case 'orphans':
      return `orphans/${job.writer ?? ''}/${job.before ?? ''}`;
  }
}
