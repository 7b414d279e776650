/**
 * One scheduled re-import cycle, run in its own process so its memory can be measured alone (bench/run.ts, row 4).
 * Builds the same app context and job runner as `npm start`, queues the scan jobs of a tick that covers the whole
 * interval, waits until every job is done, and prints one JSON line: wall time, table writes by kind, peak RSS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJob } from '../functions/app/jobs/job-runner';
import { scanJobsForTick } from '../functions/app/jobs/tick';
import { serviceContext } from '../functions/composition/service-context';
import { readServiceConfig } from '../functions/config';
import { LocalJobRunner } from '../functions/local/job-runner';

const WRITES = new Set([
  'PutCommand',
  'UpdateCommand',
  'DeleteCommand',
  'TransactWriteCommand',
  'BatchWriteCommand',
]);

async function main(): Promise<void> {
  const concurrency = Number(process.env.CYCLE_CONCURRENCY ?? 4);
  const config = readServiceConfig({ ...process.env, RUNTIME_MODE: 'local' });
  const ctx = serviceContext(config);
  const writes: Record<string, number> = {};
  // Every store shares one document client; count the writes it sends, by the kind of record written.
  type Sent = { constructor: { name: string }; input: unknown };
  const db = (ctx.streams as unknown as { db: { send: (c: Sent) => Promise<unknown> } }).db;
  const send = db.send.bind(db);
  db.send = (command) => {
    const name = command.constructor.name;
    if (WRITES.has(name)) {
      const key = (command.input as { Key?: { PK?: string } }).Key?.PK ?? '';
      const kind = key.startsWith('BUDGET#')
        ? 'budget counters'
        : key.startsWith('BACKOFF#')
          ? 'back-off'
          : 'streams';
      writes[kind] = (writes[kind] ?? 0) + 1;
    }
    return send(command);
  };
  const log = (e: { level?: string }) => {
    if (e.level === 'error' || e.level === 'warn') console.error(JSON.stringify(e));
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
  const journalDir = mkdtempSync(join(tmpdir(), 'bench-cycle-jobs-'));
  const runner = await LocalJobRunner.open({
    journalFile: join(journalDir, 'jobs.ndjson'),
    deadLetterFile: join(journalDir, 'dead-letter.ndjson'),
    concurrency,
    // As npm start's default: one project (the bench's) gets all slots but one.
    perProjectConcurrency: Math.max(1, concurrency - 1),
    execute: (job, sink) => runJob(ctx, job, sink, log),
    log,
  });
  // Jobs queue their follow-ups through the sink they are given (the runner): the context needs no queue.
  runner.start();
  const heaps: number[] = [];
  const t0 = performance.now();
  await runner.enqueue(scanJobsForTick(ctx, Date.now()));
  await runner.whenIdle();
  const wallMs = performance.now() - t0;
  for (let extra = Number(process.env.CYCLE_EXTRA ?? 0); extra > 0; extra--) {
    gc?.();
    heaps.push(Math.round(process.memoryUsage().heapUsed / 2 ** 20));
    await runner.enqueue(scanJobsForTick(ctx, Date.now() + 3_600_000 * extra));
    await runner.whenIdle();
  }
  await runner.stop();
  rmSync(journalDir, { recursive: true, force: true });
  gc?.();
  if (process.env.HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT);
  console.log(
    JSON.stringify({
      concurrency,
      wallMs,
      writes,
      rssBeforeMb,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      heapAfterGcMb: process.memoryUsage().heapUsed / 2 ** 20,
      ...(heaps.length ? { heapsAfterEachCycleMb: heaps } : {}),
    }),
  );
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
