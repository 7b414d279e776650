import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../functions/app/jobs/jobs';
import { runScheduledImport } from '../../functions/app/jobs/scheduler';
import type { AppContext } from '../../functions/app/shared/context';
import { serviceContext } from '../../functions/composition/service-context';
import { readServiceConfig } from '../../functions/config';
import { eventually } from '../support/eventually';
import { type FaultRegistry, startFaultRegistry } from '../support/fault-registry';
import { type Api, IS, startStack } from '../support/local-stack';
import { pushImage, type Registry, startRegistry } from '../support/registries';

/**
 * The scheduler's budgets on DynamoDB Local: per-minute token counters under parallel takers, registry back-off,
 * and what a scheduled import does when it may not run now (re-queued within its cycle, dropped after it).
 */
let api: Api;
let stop: () => Promise<void>;
let ctx: AppContext;
let reg: Registry;
let faults: FaultRegistry;

beforeAll(async () => {
  reg = await startRegistry('anonymous');
  faults = await startFaultRegistry();
  const stack = await startStack({ SCHEDULER: 'off' });
  ({ api, stop } = stack);
  ctx = serviceContext(
    readServiceConfig({
      RUNTIME_MODE: 'local',
      TABLE_NAME: stack.table,
      DYNAMODB_ENDPOINT: stack.service.dynamodbEndpoint,
      SCHEDULED_IMPORTS_PER_MINUTE: '2',
      SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE: '8',
    }),
  );
}, 120_000);
afterAll(async () => {
  await stop?.();
  await reg?.stop();
  await faults?.stop();
});

/** Waits (bounded) until the spec-driven import of a one-tag stream has run. */
async function imported(ns: string, name: string): Promise<void> {
  await eventually(
    async () => ((await api.get(IS(ns, name))).body.status?.tags?.[0]?.items?.length ? true : undefined),
    `${ns}/${name} imported`,
  );
}

class RecordingSink {
  readonly queued: Array<{ job: Job; delayMs: number }> = [];
  async enqueue(jobs: Job[], delayMs = 0) {
    for (const job of jobs) this.queued.push({ job, delayMs });
  }
}
const quiet = () => undefined;

describe('scheduler budgets', () => {
  it('a per-minute budget admits exactly its limit among parallel takers, then refills the next minute', async () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 10);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => ctx.schedule.takeTokens('test-parallel', 5, now)),
    );
    expect(results.filter(Boolean)).toHaveLength(5);
    expect(await ctx.schedule.takeTokens('test-parallel', 5, now + 60_000)).toBe(true);
  });

  it('back-off grows with strikes, honours Retry-After, and is cleared by a normal answer', async () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const first = await ctx.schedule.recordRateLimit('r.example', 0, now, 3_600_000);
    expect(first).toEqual({ until: now + 5_000, strikes: 1 });
    const second = await ctx.schedule.recordRateLimit('r.example', 0, now, 3_600_000);
    expect(second).toEqual({ until: now + 10_000, strikes: 2 });
    const told = await ctx.schedule.recordRateLimit('r.example', 120_000, now, 3_600_000);
    expect(told).toEqual({ until: now + 120_000, strikes: 3 });
    const capped = await ctx.schedule.recordRateLimit('r.example', 9_000_000, now, 3_600_000);
    expect(capped.until).toBe(now + 3_600_000);
    await ctx.schedule.clearBackoff('r.example');
    expect((await ctx.schedule.getBackoff('r.example'))?.strikes).toBe(0);
  });

  it('a scheduled import over the global budget waits for the next minute, and is dropped past its cycle', async () => {
    await pushImage(reg, 'budget/app', 'v1');
    const created = await api.post(IS('budget'), {
      metadata: { name: 'app' },
      spec: {
        tags: [
          {
            name: 'v1',
            from: { kind: 'DockerImage', name: `${reg.host}/budget/app:v1` },
            importPolicy: { insecure: true, scheduled: true },
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    const uid = created.body.metadata.uid;
    // Wait until the spec-driven import has run, so the scheduled re-check below is a plain HEAD.
    await imported('budget', 'app');
    const job = { namespace: 'budget', name: 'app', uid, tags: ['v1'], force: true };
    // A fixed clock 10 s into a minute; that minute's global budget (2) is already used up.
    const minute = Math.floor(Date.now() / 60_000) * 60_000 + 3 * 60_000;
    const clock = () => minute + 10_000;
    await ctx.schedule.takeTokens('scheduled', 2, minute, 2);
    const sink = new RecordingSink();
    const mark = reg.mark();
    const r = await runScheduledImport(
      ctx,
      { ...job, scheduled: { cycleEndsAt: minute + 900_000 } },
      sink,
      quiet,
      clock,
    );
    expect(reg.since(mark)).toEqual([]);
    expect(r).toMatchObject({ imported: [], deferred: 1, dropped: 0 });
    expect(sink.queued).toHaveLength(1);
    // Re-queued for the next minute (plus up to 5 s of jitter).
    expect(sink.queued[0]!.delayMs).toBeGreaterThanOrEqual(50_000);
    expect(sink.queued[0]!.delayMs).toBeLessThanOrEqual(55_000);

    // A job whose cycle ends before the next minute is dropped instead (the next cycle re-checks the tag).
    const late = new RecordingSink();
    const dropped = await runScheduledImport(
      ctx,
      { ...job, scheduled: { cycleEndsAt: minute + 20_000 } },
      late,
      quiet,
      clock,
    );
    expect(dropped).toMatchObject({ deferred: 0, dropped: 1 });
    expect(late.queued).toEqual([]);

    // The next minute has budget again: the tag is re-checked with one HEAD and nothing is written.
    const next = new RecordingSink();
    const mark2 = reg.mark();
    const ran = await runScheduledImport(
      ctx,
      { ...job, scheduled: { cycleEndsAt: minute + 900_000 } },
      next,
      quiet,
      () => minute + 70_000,
    );
    expect(ran).toMatchObject({ imported: ['v1'], wrote: false, deferred: 0 });
    expect(reg.since(mark2).map((q) => q.method)).toEqual(['HEAD']);
  });

  it('a registry in back-off is not asked at all; its tags wait until the back-off ends', async () => {
    await pushImage(reg, 'budget/other', 'v1');
    const created = await api.post(IS('budget'), {
      metadata: { name: 'other' },
      spec: {
        tags: [
          {
            name: 'v1',
            from: { kind: 'DockerImage', name: `${reg.host}/budget/other:v1` },
            importPolicy: { insecure: true, scheduled: true },
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    // Let the spec-driven import (not budgeted: a user asked for it) finish first.
    await imported('budget', 'other');
    await new Promise((r) => setTimeout(r, 300));
    const until = Date.now() + 30_000;
    await ctx.schedule.recordRateLimit(reg.host, 30_000, Date.now(), 3_600_000);
    const sink = new RecordingSink();
    const mark = reg.mark();
    const r = await runScheduledImport(
      ctx,
      {
        namespace: 'budget',
        name: 'other',
        uid: created.body.metadata.uid,
        tags: ['v1'],
        force: true,
        scheduled: { cycleEndsAt: Date.now() + 900_000 },
      },
      sink,
      quiet,
    );
    expect(reg.since(mark)).toEqual([]);
    expect(r.deferred).toBe(1);
    expect(sink.queued[0]!.delayMs).toBeGreaterThan(25_000);
    expect(sink.queued[0]!.delayMs).toBeLessThanOrEqual(until - Date.now() + 1_000);
    await ctx.schedule.clearBackoff(reg.host);
  });

  it('a registry that says its quota is nearly spent is paused until its window refills, without a strike', async () => {
    const created = await api.post(IS('budget'), {
      metadata: { name: 'quota' },
      spec: {
        tags: [
          {
            name: 'v1',
            from: { kind: 'DockerImage', name: `${faults.host}/rate/low-remaining:v1` },
            importPolicy: { insecure: true, scheduled: true },
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    await imported('budget', 'quota');
    const job = {
      namespace: 'budget',
      name: 'quota',
      uid: created.body.metadata.uid,
      tags: ['v1'],
      force: true,
      scheduled: { cycleEndsAt: Date.now() + 900_000 },
    };
    const before = faults.hits('rate/low-remaining');
    const first = await runScheduledImport(ctx, job, new RecordingSink(), quiet);
    expect(first.imported).toEqual(['v1']);
    expect(faults.hits('rate/low-remaining')).toBe(before + 1);
    const pause = await ctx.schedule.getBackoff(faults.host);
    expect(pause?.strikes).toBe(0);
    expect(pause!.until).toBeGreaterThan(Date.now() + 50_000);
    expect(pause!.until).toBeLessThanOrEqual(Date.now() + 60_000);
    // The next scheduled import leaves it alone until then.
    const sink = new RecordingSink();
    const second = await runScheduledImport(ctx, job, sink, quiet);
    expect(second).toMatchObject({ imported: [], deferred: 1 });
    expect(faults.hits('rate/low-remaining')).toBe(before + 1);
  });
});
