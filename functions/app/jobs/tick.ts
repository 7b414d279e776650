import { SCHEDULE_SHARDS, slotWindow } from '../../core/schedule/scheduling';
import type { AppContext } from '../shared/context';
import type { Job } from './jobs';

/**
 * One scheduler tick (EventBridge Scheduler in AWS, a timer locally): a scan job for every shard and slot range
 * that came due since the previous tick. The tick itself reads nothing, so it costs the same for 10 or 100,000
 * scheduled tags; the scans run in parallel on the job queue.
 */
export function scanJobsForTick(ctx: Pick<AppContext, 'scheduling'>, tickAtMs: number): Job[] {
  const s = ctx.scheduling;
  const cycleEndsAt = tickAtMs + s.intervalSeconds * 1000;
  return slotWindow(tickAtMs, s.tickSeconds, s.intervalSeconds).flatMap((range) =>
    Array.from({ length: SCHEDULE_SHARDS }, (_, shard) => ({
      kind: 'scan' as const,
      shard,
      from: range.from,
      to: range.to,
      cycleEndsAt,
    })),
  );
}
