import { describe, expect, it } from 'vitest';
import { jobActor } from '../../../functions/app/jobs/job-runner';
import { jobSchema } from '../../../functions/app/jobs/jobs';
import { ORPHAN_SWEEP_EVERY_MS, orphanSweepsForTick } from '../../../functions/app/jobs/orphans';
import { SYSTEM_ACTORS } from '../../../functions/app/shared/context';

/** The periodic sweep of abandoned writes rides on the scheduler's ticks, whatever their length. */
describe('sweeps of abandoned writes', () => {
  const hour = Date.UTC(2026, 0, 1, 10);
  const sweepsInAnHour = (tickSeconds: number) => {
    let n = 0;
    for (let t = hour + tickSeconds * 1000; t <= hour + 3_600_000; t += tickSeconds * 1000)
      n += orphanSweepsForTick(t, tickSeconds).length;
    return n;
  };

  it('come six times an hour, on the tick that crosses a ten-minute boundary', () => {
    expect(ORPHAN_SWEEP_EVERY_MS).toBe(600_000);
    expect(sweepsInAnHour(60)).toBe(6);
    expect(sweepsInAnHour(90)).toBe(6);
    expect(sweepsInAnHour(45)).toBe(6);
    expect(orphanSweepsForTick(hour + 600_000, 60)).toEqual([{ kind: 'orphans' }]);
    expect(orphanSweepsForTick(hour + 660_000, 60)).toEqual([]);
  });

  it('travel through the queue and act as the controller', () => {
    expect(jobSchema.parse({ kind: 'orphans' })).toEqual({ kind: 'orphans' });
    expect(
      jobSchema.parse(JSON.parse(JSON.stringify({ kind: 'orphans', writer: 'local-x', before: 5 }))),
    ).toEqual({
      kind: 'orphans',
      writer: 'local-x',
      before: 5,
    });
    expect(() => jobSchema.parse({ kind: 'orphans', writer: '' })).toThrow();
    expect(jobActor({ kind: 'orphans' })).toBe(SYSTEM_ACTORS.controller);
  });
});
