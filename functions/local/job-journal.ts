import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Job } from '../app/jobs/jobs';
import type { Log } from '../app/shared/log';

/** One accepted job as the journal keeps it until it succeeded or was dead-lettered. */
export interface StoredJob {
  /** Acceptance order: ids grow, so replaying the journal restores the queue's order. */
  id: number;
  job: Job;
  /** How often a run of this job has started (SQS's receive count); a crash during a run counts. */
  receives: number;
  /** Epoch milliseconds before which the job must not run (a delay, or the back-off after a failure). */
  dueAt: number;
}

type Entry = { op: 'put'; rec: StoredJob } | { op: 'del'; id: number };

/** Rewrite the journal once it holds this many lines and four times as many as there are live jobs. */
const COMPACT_AFTER_LINES = 10_000;

/**
 * The local job queue's durable half: an append-only journal (one JSON line per change: a job put with its whole
 * state, or a job deleted) under $DATA_DIR. Appends are grouped; {@link durable} resolves once everything
 * appended before it is on disk (fdatasync), which is what accepting a job waits for. Replaying the journal at
 * start gives back every job that was accepted and not finished, with its receive count and due time. A line
 * torn by a crash in mid-write is skipped. The journal is compacted (rewritten from the live jobs, atomically by
 * rename) at start and whenever it has grown well past them.
 */
export class JobJournal {
  private queued: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private flushing: Promise<void> | undefined;
  private lines = 0;
  private closed = false;

  private constructor(
    private readonly file: string,
    private fh: FileHandle,
    private readonly live: () => StoredJob[],
    private readonly log: Log,
  ) {}

  /**
   * Reads what the journal holds (in acceptance order), compacts it and opens it for appending. `live` must
   * return the jobs the caller keeps, each as it last appended it: compaction writes exactly those.
   */
  static async open(
    file: string,
    live: () => StoredJob[],
    log: Log,
  ): Promise<{ journal: JobJournal; jobs: StoredJob[] }> {
    const jobs = replay(file, log);
    writeAtomically(file, jobs);
    const fh = await open(file, 'a');
    const journal = new JobJournal(file, fh, live, log);
    journal.lines = jobs.length;
    return { journal, jobs };
  }

  put(rec: StoredJob): void {
    this.append({ op: 'put', rec });
  }

  remove(id: number): void {
    this.append({ op: 'del', id });
  }

  /** Resolves once every change appended so far is on disk; rejects if it could not be written. */
  durable(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the job journal is closed'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /** Writes what is pending, syncs and closes; later changes are ignored (their jobs are still journalled as before). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.durable().catch(() => undefined);
    this.closed = true;
    await this.flushing;
    await this.fh.close();
  }

  private append(e: Entry): void {
    if (this.closed) return;
    this.queued.push(`${JSON.stringify(e)}\n`);
    this.kick();
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flush().then((ok) => {
      this.flushing = undefined;
      // Whatever arrived while the loop was finishing is written now; after a failed write, its lines wait for
      // the next change or durable() to retry them, rather than spinning on a failing disk.
      if (this.waiters.length || (ok && this.queued.length)) this.kick();
    });
  }

  /** Writes until nothing is pending; false when a write failed. */
  private async flush(): Promise<boolean> {
    while (this.queued.length || this.waiters.length) {
      const waiters = this.waiters.splice(0);
      try {
        if (this.lines + this.queued.length > COMPACT_AFTER_LINES && this.lines > 4 * this.live().length) {
          // The live jobs already include the effect of every queued line: the snapshot replaces them.
          await this.compact();
        } else if (this.queued.length) {
          const lines = this.queued;
          this.queued = [];
          try {
            await this.fh.appendFile(lines.join(''));
          } catch (e) {
            this.queued = [...lines, ...this.queued];
            throw e;
          }
          this.lines += lines.length;
        }
        if (waiters.length) await this.fh.datasync();
        for (const w of waiters) w.resolve();
      } catch (e) {
        this.log({ level: 'error', message: 'job journal write failed', error: (e as Error).message });
        for (const w of waiters) w.reject(e as Error);
        return false;
      }
    }
    return true;
  }

  private async compact(): Promise<void> {
    const jobs = this.live();
    this.queued = [];
    await this.fh.close();
    writeAtomically(this.file, jobs);
    this.fh = await open(this.file, 'a');
    this.lines = jobs.length;
  }
}

/** The jobs a journal file holds, oldest first; a torn or unreadable line is logged and skipped. */
function replay(file: string, log: Log): StoredJob[] {
  if (!existsSync(file)) return [];
  const jobs = new Map<number, StoredJob>();
  const text = readFileSync(file, 'utf8');
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    let e: Entry;
    try {
      e = JSON.parse(line) as Entry;
    } catch {
      skipped++;
      continue;
    }
    if (e.op === 'put' && e.rec && typeof e.rec.id === 'number') jobs.set(e.rec.id, e.rec);
    else if (e.op === 'del') jobs.delete(e.id);
    else skipped++;
  }
  if (skipped) log({ level: 'warn', message: 'job journal: skipped unreadable lines', file, skipped });
  return [...jobs.values()].sort((a, b) => a.id - b.id);
}

/** Replaces `file` with one put line per job: written to a temporary file, synced, renamed, directory synced. */
function writeAtomically(file: string, jobs: StoredJob[]): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, jobs.map((rec) => `${JSON.stringify({ op: 'put', rec })}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
