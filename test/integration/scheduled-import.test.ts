import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents } from '../support/events';
import { eventually, sleep } from '../support/eventually';
import { type FaultRegistry, startFaultRegistry } from '../support/fault-registry';
import { type Api, IS, startStack } from '../support/local-stack';
import { pushImage, type Registry, startRegistry } from '../support/registries';

/**
 * Scheduled re-import (docs/semantics.md#scheduled-import) through the local stack, with a 5-second interval: the scheduler
 * timer, scan jobs over the sparse schedule index, budgets and registry back-off all run as in AWS.
 */
const INTERVAL_S = 5;
let api: Api;
let stop: () => Promise<void>;
let eventsFile: string;
let reg: Registry;
let faults: FaultRegistry;

beforeAll(async () => {
  [reg, faults] = await Promise.all([startRegistry('anonymous'), startFaultRegistry()]);
  const stack = await startStack({ IMPORT_INTERVAL_SECONDS: String(INTERVAL_S) });
  ({ api, stop } = stack);
  eventsFile = stack.service.eventsFile;
}, 120_000);
afterAll(async () => {
  await stop?.();
  await reg?.stop();
  await faults?.stop();
});

const source = (name: string, from: string, scheduled: boolean) => ({
  name,
  from: { kind: 'DockerImage', name: from },
  importPolicy: { insecure: true, scheduled },
});

async function topImage(ns: string, stream: string, tag: string): Promise<string | undefined> {
  const s = (await api.get(IS(ns, stream))).body;
  return s.status?.tags?.find((t: any) => t.tag === tag)?.items?.[0]?.image;
}

describe('scheduled re-import', () => {
  it('re-checks scheduled tags once per interval with one HEAD, writes nothing while unchanged, and picks up a push', {
    timeout: 60_000,
  }, async () => {
    const ns = 'sched';
    const d1 = await pushImage(reg, 'sched/app', 'v1', { label: 'one' });
    await pushImage(reg, 'sched/app', 'other', { label: 'other' });
    const created = await api.post(IS(ns), {
      metadata: { name: 'watch' },
      spec: {
        tags: [
          source('live', `${reg.host}/sched/app:v1`, true),
          source('pinned', `${reg.host}/sched/app@${d1}`, true),
          source('once', `${reg.host}/sched/app:other`, false),
        ],
      },
    });
    expect(created.status).toBe(201);
    for (const t of ['live', 'pinned', 'once'])
      await eventually(() => topImage(ns, 'watch', t), `${t} imported`, 10_000);

    // Unchanged: over a bit more than two intervals, the tracking tag costs one HEAD per interval; the
    // digest-pinned tag (imported once) and the unscheduled one cost nothing; nothing is written.
    await sleep(1_000);
    const rv = (await api.get(IS(ns, 'watch'))).body.metadata.resourceVersion;
    const eventsBefore = readEvents(eventsFile).length;
    const mark = reg.mark();
    await sleep(2 * INTERVAL_S * 1000 + 1_000);
    const seen = reg.since(mark).map((r) => `${r.method} ${r.uri}`);
    const heads = seen.filter((r) => r === 'HEAD /v2/sched/app/manifests/v1');
    expect(heads.length).toBeGreaterThanOrEqual(2);
    expect(heads.length).toBeLessThanOrEqual(3);
    expect(seen.filter((r) => r !== 'HEAD /v2/sched/app/manifests/v1' && !r.endsWith(' /v2/'))).toEqual([]);
    expect((await api.get(IS(ns, 'watch'))).body.metadata.resourceVersion).toBe(rv);
    expect(readEvents(eventsFile).length).toBe(eventsBefore);

    // The source tag moves: within one interval (plus the import itself) the stream follows, with an event.
    const pushedAt = Date.now();
    const d2 = await pushImage(reg, 'sched/app', 'v1', { label: 'two' });
    await eventually(
      async () => ((await topImage(ns, 'watch', 'live')) === d2 ? true : undefined),
      'the scheduled tag to move',
      INTERVAL_S * 1000 + 3_000,
    );
    expect(Date.now() - pushedAt).toBeLessThan(INTERVAL_S * 1000 + 3_000);
    const moved = await eventually(
      async () =>
        readEvents(eventsFile).find(
          (e) => e.detail.stream === 'watch' && e.detail.tag === 'live' && e.detail.change === 'moved',
        ),
      'the moved event',
      3_000,
    );
    expect(moved.detail).toMatchObject({ previous: { image: d1 }, current: { image: d2 } });
    expect(await topImage(ns, 'watch', 'pinned')).toBe(d1);
  });

  it('backs off a registry that answers 429, without starving the others', { timeout: 60_000 }, async () => {
    const ns = 'sched429';
    await pushImage(reg, 'sched/steady', 'v1');
    const created = await api.post(IS(ns), {
      metadata: { name: 'mixed' },
      spec: {
        tags: [
          source('limited', `${faults.host}/rate/always:v1`, true),
          source('steady', `${reg.host}/sched/steady:v1`, true),
        ],
      },
    });
    expect(created.status).toBe(201);
    await eventually(() => topImage(ns, 'mixed', 'steady'), 'steady imported', 10_000);
    // The first attempts met 429s (the client retries a few times, then gives up): the registry is backed off.
    await eventually(async () => (faults.hits('rate/always') > 0 ? true : undefined), 'a 429', 10_000);
    await sleep(2_000);

    const limitedBefore = faults.hits('rate/always');
    const mark = reg.mark();
    await sleep(3 * INTERVAL_S * 1000);
    // Three intervals later: no further request to the rate-limited registry (it said "too many"; the default
    // back-off without Retry-After is a minute), while the healthy registry was re-checked every interval.
    expect(faults.hits('rate/always')).toBe(limitedBefore);
    const steadyHeads = reg
      .since(mark)
      .filter((r) => r.method === 'HEAD' && r.uri === '/v2/sched/steady/manifests/v1');
    expect(steadyHeads.length).toBeGreaterThanOrEqual(2);
    // A rate limit is not a verdict on the image: no failure condition was written for it.
    const status = (await api.get(IS(ns, 'mixed'))).body.status.tags ?? [];
    expect(status.find((t: any) => t.tag === 'limited')).toBeUndefined();
  });
});
