import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Job } from '../../functions/app/jobs/jobs';
import type { JobSink } from '../../functions/app/ports/jobs';
import { LocalJobRunner, type LocalJobRunnerOptions, MAX_ATTEMPTS } from '../../functions/local/job-runner';
import { eventually, sleep } from '../support/eventually';
import { FakeMetrics } from '../support/fakes';

/**
 * The local job queue on its own (functions/local/job-runner.ts), with a journal in a temporary directory and jobs
 * that only record that they ran: what survives a stop and a restart, retries and dead letters, coalescing, and
 * the order in which projects get slots.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function files() {
  const d = mkdtempSync(join(tmpdir(), 'is-runner-'));
  dirs.push(d);
  return { journalFile: join(d, 'jobs.ndjson'), deadLetterFile: join(d, 'dead.ndjson') };
}

const imp = (namespace: string, name: string, tags: string[] = ['t']): Job => ({
  kind: 'import',
  namespace,
  name,
  uid: 'u',
  tags,
});
const label = (j: Job) => (j.kind === 'import' ? `${j.namespace}/${j.name}` : j.kind);

/** A runner whose jobs finish when the test says so (or at once with `instant`). */
async function runner(
  paths: { journalFile: string; deadLetterFile: string },
  o: Partial<LocalJobRunnerOptions> & { instant?: boolean } = {},
) {
  const started: Job[] = [];
  const release = new Map<string, () => void>();
  const logs: Array<Record<string, unknown>> = [];
  const r = await LocalJobRunner.open({
    ...paths,
    concurrency: 4,
    perProjectConcurrency: 3,
    retryDelayMs: () => 10,
    log: (e) => logs.push(e as Record<string, unknown>),
    execute: async (job: Job, _sink: JobSink) => {
      started.push(structuredClone(job));
      if (!o.instant) await new Promise<void>((res) => release.set(label(job), res));
      return {};
    },
    ...o,
  });
  r.start();
  return { r, started, release, logs };
}

describe('local job runner', () => {
  it('keeps accepted jobs, running or waiting, across a stop and runs them after the next start', async () => {
    const paths = files();
    const first = await runner(paths, { concurrency: 1, perProjectConcurrency: 1 });
    await first.r.enqueue([imp('a', 's1'), imp('a', 's2')]);
    await first.r.enqueue([imp('b', 's3')], 60_000);
    await eventually(async () => (first.started.length === 1 ? true : undefined), 'the first job to start');
    // Stopped with one job running (never finished), one waiting and one delayed for a minute.
    await first.r.stop(0);

    const second = await runner(paths, { instant: true, concurrency: 1, perProjectConcurrency: 1 });
    await eventually(async () => (second.started.length === 2 ? true : undefined), 'the journalled jobs');
    expect(second.started.map(label)).toEqual(['a/s1', 'a/s2']);
    // The delayed job keeps its due time: it has not run yet.
    await sleep(200);
    expect(second.started.map(label)).toEqual(['a/s1', 'a/s2']);
    await second.r.stop();
    const lines = readFileSync(paths.journalFile, 'utf8').trim().split('\n');
    const left = lines.map((l) => JSON.parse(l)).filter((e) => e.op === 'put');
    expect(left.map((e) => [label(e.rec.job), e.rec.dueAt > Date.now() + 50_000])).toContainEqual([
      'b/s3',
      true,
    ]);
  });

  it('counts every start of a job across restarts and dead-letters it after MAX_ATTEMPTS', async () => {
    const paths = files();
    let runs = 0;
    const metrics = new FakeMetrics();
    const failing = {
      execute: async () => {
        runs++;
        throw new Error('registry down');
      },
      metrics,
    };
    const first = await runner(paths, { ...failing, retryDelayMs: (n) => (n >= 2 ? 60_000 : 10) });
    await first.r.enqueue([imp('a', 's')]);
    await eventually(async () => (runs === 2 ? true : undefined), 'two failed runs');
    await first.r.stop();

    const second = await runner(paths, failing);
    // The journal says two runs were made: the job waits out its back-off, then has three runs left.
    await sleep(200);
    expect(runs).toBe(2);
    await second.r.stop();
    const journal = readFileSync(paths.journalFile, 'utf8');
    writeFileSync(paths.journalFile, journal.replace(/"dueAt":\d+/g, `"dueAt":${Date.now()}`));
    const third = await runner(paths, failing);
    await eventually(async () => (existsSync(paths.deadLetterFile) ? true : undefined), 'the dead letter');
    expect(runs).toBe(MAX_ATTEMPTS);
    const dead = readFileSync(paths.deadLetterFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(dead).toMatchObject([{ receives: MAX_ATTEMPTS, error: 'registry down', job: imp('a', 's') }]);
    expect(third.logs).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'job failed, dropped' }),
    );
    // Every failed run counts; all but the last are retried, the last is dead-lettered.
    expect(metrics.total('jobFailed')).toBe(MAX_ATTEMPTS);
    expect(metrics.total('jobRetried')).toBe(MAX_ATTEMPTS - 1);
    expect(metrics.total('jobDeadLettered')).toBe(1);
    await third.r.stop();

    // Dropped for good: a restart does not bring it back.
    const fourth = await runner(paths, failing);
    await sleep(200);
    expect(runs).toBe(MAX_ATTEMPTS);
    await fourth.r.stop();
  });

  it('dead-letters a job whose last allowed run was cut short by the process dying', async () => {
    const paths = files();
    const rec = { id: 7, job: imp('a', 's'), receives: MAX_ATTEMPTS, dueAt: Date.now() };
    writeFileSync(paths.journalFile, `${JSON.stringify({ op: 'put', rec })}\n`);
    const r = await runner(paths, { instant: true });
    expect(r.started).toEqual([]);
    expect(readFileSync(paths.deadLetterFile, 'utf8')).toContain('"receives":5');
    await r.r.stop();
  });

  it('dead-letters a job that never finishes a run, however the runs end', async () => {
    const paths = files();
    let starts = 0;
    // Each process starts the job and stops (as a crash would) before it finishes.
    for (let i = 0; i < MAX_ATTEMPTS + 1; i++) {
      const r = await runner(paths, { concurrency: 1, perProjectConcurrency: 1 });
      if (i === 0) await r.r.enqueue([imp('a', 'poison')]);
      if (i < MAX_ATTEMPTS)
        await eventually(async () => (r.started.length === 1 ? true : undefined), `start ${i + 1}`);
      starts += r.started.length;
      await r.r.stop(0);
    }
    expect(starts).toBe(MAX_ATTEMPTS);
    expect(readFileSync(paths.deadLetterFile, 'utf8')).toContain('"name":"poison"');
  });

  it('reads a journal whose last line was torn by a crash, and compacts it', async () => {
    const paths = files();
    const put = (id: number, name: string) =>
      JSON.stringify({ op: 'put', rec: { id, job: imp('a', name), receives: 0, dueAt: 0 } });
    writeFileSync(paths.journalFile, `${put(1, 's1')}\n${put(2, 's2')}\n{"op":"del","id":1}\n`);
    appendFileSync(paths.journalFile, put(3, 's3').slice(0, 25));
    const r = await runner(paths, { instant: true });
    await eventually(async () => (r.started.length === 1 ? true : undefined), 'the surviving job');
    expect(r.started.map(label)).toEqual(['a/s2']);
    expect(r.logs).toContainEqual(expect.objectContaining({ level: 'warn', skipped: 1 }));
    await r.r.whenIdle();
    await r.r.stop();
    // Compacted at open: one put of the job that was left; then its run and removal.
    const ops = readFileSync(paths.journalFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).op);
    expect(ops).toEqual(['put', 'put', 'del']);
  });

  it('compacts the journal once it has grown well past the live jobs', async () => {
    const paths = files();
    const r = await runner(paths, { instant: true });
    // Three lines per job (accepted, started, done): 12,000 lines for 4,000 jobs, over the compaction threshold.
    await r.r.enqueue(Array.from({ length: 4_000 }, (_, i) => imp(`ns${i % 7}`, `s${i}`)));
    await r.r.whenIdle();
    await r.r.enqueue([imp('late', 'one')], 60_000);
    await r.r.stop();
    const lines = readFileSync(paths.journalFile, 'utf8').trim().split('\n');
    expect(r.started).toHaveLength(4_000);
    expect(lines.length).toBeLessThan(3_000);
    const again = await runner(paths, { instant: true });
    await sleep(100);
    expect(again.started).toEqual([]);
    await again.r.stop();
    expect(readFileSync(paths.journalFile, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('coalesces identical waiting jobs, import tags merged', async () => {
    const paths = files();
    const r = await runner(paths, { concurrency: 1, perProjectConcurrency: 1 });
    await r.r.enqueue([imp('a', 'busy')]);
    await r.r.enqueue([imp('a', 's', ['x']), imp('a', 's', ['y'])]);
    await r.r.enqueue([imp('a', 's', ['x', 'z'])]);
    r.release.get('a/busy')!();
    await eventually(async () => (r.started.length === 2 ? true : undefined), 'the merged job');
    expect(r.started[1]).toMatchObject({ name: 's', tags: ['x', 'y', 'z'] });
    r.release.get('a/s')!();
    await r.r.whenIdle();
    expect(r.started).toHaveLength(2);
    await r.r.stop();
  });

  it('takes projects in turn and never gives one project every slot', async () => {
    const paths = files();
    const r = await runner(paths, { concurrency: 4, perProjectConcurrency: 3 });
    await r.r.enqueue(Array.from({ length: 6 }, (_, i) => imp('stuck', `s${i}`)));
    await eventually(async () => (r.started.length === 3 ? true : undefined), 'three stuck jobs');
    await sleep(50);
    expect(r.started).toHaveLength(3);
    await r.r.enqueue([imp('other', 'app')]);
    await eventually(async () => (r.started.length === 4 ? true : undefined), "the other project's job");
    expect(label(r.started[3]!)).toBe('other/app');
    for (const f of r.release.values()) f();
    await r.r.stop(100);

    // One slot: waiting projects are served round-robin, not first come first served.
    const order = await runner(files(), { concurrency: 1, perProjectConcurrency: 1 });
    await order.r.enqueue([imp('a', '1'), imp('a', '2'), imp('a', '3'), imp('b', '1'), imp('c', '1')]);
    for (let i = 1; i <= 5; i++) {
      await eventually(async () => (order.started.length === i ? true : undefined), `job ${i}`);
      order.release.get(label(order.started[i - 1]!))!();
    }
    expect(order.started.map(label)).toEqual(['a/1', 'b/1', 'c/1', 'a/2', 'a/3']);
    await order.r.stop();
  });
});
