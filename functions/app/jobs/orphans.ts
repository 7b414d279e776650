import type { Job } from './jobs';

/** How often the sweep of abandoned writes runs on its own (from the scheduler's ticks, in AWS and locally). */
export const ORPHAN_SWEEP_EVERY_MS = 10 * 60_000;

/**
 * The periodic sweep of abandoned writes (functions/store/stream-store.ts, write intents): one job for the tick
 * that crosses a ten-minute boundary, so it runs six times an hour whatever the tick length.
 */
export function orphanSweepsForTick(tickAtMs: number, tickSeconds: number): Job[] {
  const previous = tickAtMs - tickSeconds * 1000;
  return Math.floor(previous / ORPHAN_SWEEP_EVERY_MS) !== Math.floor(tickAtMs / ORPHAN_SWEEP_EVERY_MS)
    ? [{ kind: 'orphans' }]
    : [];
}
