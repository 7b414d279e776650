import { describe, expect, it } from 'vitest';
import type { TagEvent, TagReference } from '../../../functions/core/api-types';
import type { TagRecord } from '../../../functions/core/imagestream/model';
import {
  SCHEDULE_SHARDS,
  SCHEDULE_SLOTS,
  scheduleEligible,
  schedulePlace,
  slotWindow,
  trackedSource,
} from '../../../functions/core/schedule/scheduling';

const D = `sha256:${'a'.repeat(64)}`;
const ev = (generation: number): TagEvent => ({
  created: 'now',
  dockerImageReference: `quay.io/x/y@${D}`,
  image: D,
  generation,
});
function tag(spec: Partial<TagReference> | null, recent: TagEvent[] = []): TagRecord {
  return {
    name: 'latest',
    tid: 't',
    version: 1,
    spec: spec ? ({ name: 'latest', ...spec } as TagReference) : null,
    recent,
    topSeq: recent.length,
    conditions: [],
    aliases: [],
  };
}
const docker = (name: string, scheduled = true, generation = 2) => ({
  from: { kind: 'DockerImage', name },
  importPolicy: { scheduled },
  generation,
});

describe('which tags the scheduler re-checks (docs/semantics.md#scheduled-import)', () => {
  it('scheduled DockerImage tags by tag; digest-pinned ones only until their first success', () => {
    expect(scheduleEligible(tag(docker('quay.io/x/y:1')))).toBe(true);
    expect(scheduleEligible(tag(docker('quay.io/x/y:1', false)))).toBe(false);
    expect(scheduleEligible(tag({ ...docker('quay.io/x/y:1'), reference: true }))).toBe(false);
    expect(
      scheduleEligible(
        tag({ from: { kind: 'ImageStreamTag', name: 'a:b' }, importPolicy: { scheduled: true } }),
      ),
    ).toBe(false);
    expect(scheduleEligible(tag(null))).toBe(false);
    const pinned = docker(`quay.io/x/y@${D}`, true, 2);
    expect(scheduleEligible(tag(pinned))).toBe(true);
    expect(scheduleEligible(tag(pinned, [ev(1)]))).toBe(true);
    expect(scheduleEligible(tag(pinned, [ev(2)]))).toBe(false);
  });

  it('push notifications find tags by normalized repository and tag; digest sources are not followed', () => {
    expect(trackedSource(tag(docker('nginx')))).toEqual({
      repository: 'docker.io/library/nginx',
      tag: 'latest',
    });
    expect(trackedSource(tag(docker('Quay.IO/x/y:1.2')))).toEqual({ repository: 'quay.io/x/y', tag: '1.2' });
    expect(trackedSource(tag(docker(`quay.io/x/y@${D}`)))).toBeUndefined();
    expect(trackedSource(tag(docker('quay.io/x/y:1', false)))).toBeUndefined();
    expect(trackedSource(tag(docker('not a reference')))).toBeUndefined();
  });
});

describe('the schedule layout', () => {
  it('places a stream at a stable shard and slot, spread evenly', () => {
    expect(schedulePlace('IS#ns/app')).toEqual(schedulePlace('IS#ns/app'));
    const shards = new Array(SCHEDULE_SHARDS).fill(0);
    const slots = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) {
      const p = schedulePlace(`IS#ns/stream-${i}`);
      shards[p.shard]++;
      slots[Math.floor((p.slot * 16) / SCHEDULE_SLOTS)]++;
    }
    for (const n of [...shards, ...slots]) expect(n).toBeGreaterThan(800);
    for (const n of [...shards, ...slots]) expect(n).toBeLessThan(1200);
  });

  it('consecutive ticks tile the interval: no slot skipped or visited twice', () => {
    for (const [tick, interval] of [
      [60, 900],
      [1, 5],
      [60, 3600],
      [7, 100],
    ] as const) {
      // Over `tick` whole intervals (a whole number of ticks even when tick does not divide the interval),
      // every slot comes due exactly `tick` times.
      const covered = new Array(SCHEDULE_SLOTS).fill(0);
      const start = 1_800_000_000_123;
      for (let t = start; t < start + tick * interval * 1000; t += tick * 1000)
        for (const r of slotWindow(t, tick, interval)) for (let s = r.from; s < r.to; s++) covered[s]++;
      expect(covered.every((n) => n === tick)).toBe(true);
    }
  });

  it('a tick at least as long as the interval covers everything; the same nominal time the same slots', () => {
    expect(slotWindow(123_456, 60, 60)).toEqual([{ from: 0, to: SCHEDULE_SLOTS }]);
    expect(slotWindow(1_800_000_030_000, 60, 900)).toEqual(slotWindow(1_800_000_030_000, 60, 900));
  });
});
