import { createHash } from 'node:crypto';
import { tagImportable } from '../imagestream/import-rules';
import type { TagRecord } from '../imagestream/model';
import { InvalidReferenceError, parseNormalizedReference, repositoryKey } from '../reference';

/**
 * Scheduled re-import (docs/semantics.md#scheduled-import), laid out for a fleet of workers instead of one controller:
 *
 * - Every eligible tag record carries a place in a sparse index: a shard (0..SHARDS-1) and a slot (0..SLOTS-1),
 *   both from a hash of its stream, so all scheduled tags of a stream come due together (one import per stream,
 *   as OpenShift's controller does) and streams spread evenly over the interval (OpenShift's bucket spreading).
 * - The slot space is one interval long. A tick covers the slots whose time came since the previous tick; each
 *   shard of that window is one independent scan, so 100,000 tags are walked by many small queries in parallel,
 *   never by one invocation.
 */
export const SCHEDULE_SHARDS = 16;
export const SCHEDULE_SLOTS = 4096;

/** Tags the scheduler re-checks: importable, `scheduled`, and for digest-pinned sources only until the first success. */
export function scheduleEligible(tag: TagRecord): boolean {
  const spec = tag.spec;
  if (!tagImportable(spec) || !spec.importPolicy?.scheduled) return false;
  if (!(spec.from?.name ?? '').includes('@')) return true;
  const top = tag.recent[0];
  return !(top && spec.generation != null && top.generation === spec.generation);
}

/** The stream's place in the schedule; stable for a stream key, so re-writes never move it. */
export function schedulePlace(streamKey: string): { shard: number; slot: number } {
  const h = createHash('sha256').update(streamKey).digest();
  return { shard: h.readUInt32BE(0) % SCHEDULE_SHARDS, slot: h.readUInt32BE(4) % SCHEDULE_SLOTS };
}

export const slotKey = (slot: number) => String(slot).padStart(4, '0');

/** A half-open range of slots [from, to); a window that wraps around the interval is two ranges. */
export interface SlotRange {
  from: number;
  to: number;
}

/**
 * The slots a tick at `tickAt` covers: those whose moment in the interval fell in (tickAt − tick, tickAt].
 * Pure arithmetic on the nominal tick time, so a late or repeated tick covers the same slots (jobs are
 * idempotent) and consecutive ticks neither overlap nor leave gaps.
 */
export function slotWindow(tickAtMs: number, tickSeconds: number, intervalSeconds: number): SlotRange[] {
  if (tickSeconds >= intervalSeconds) return [{ from: 0, to: SCHEDULE_SLOTS }];
  const intervalMs = intervalSeconds * 1000;
  const pos = (t: number) =>
    Math.floor((((t % intervalMs) + intervalMs) % intervalMs) * (SCHEDULE_SLOTS / intervalMs));
  const from = pos(tickAtMs - tickSeconds * 1000);
  const to = pos(tickAtMs);
  if (from === to) return [];
  if (from < to) return [{ from, to }];
  return [{ from, to: SCHEDULE_SLOTS }, ...(to > 0 ? [{ from: 0, to }] : [])];
}

/**
 * The repository a tag's source names, as a push notification would name it (`docker.io/library/nginx`), and its
 * tag; undefined for sources that are not importable or are pinned by digest (a push cannot move a digest).
 */
export function trackedSource(tag: TagRecord): { repository: string; tag: string } | undefined {
  const spec = tag.spec;
  if (!tagImportable(spec) || !spec.importPolicy?.scheduled) return undefined;
  try {
    const ref = parseNormalizedReference(spec.from?.name ?? '');
    if (ref.digest) return undefined;
    return { repository: repositoryKey(ref).toLowerCase(), tag: ref.tag || 'latest' };
  } catch (e) {
    if (e instanceof InvalidReferenceError) return undefined;
    throw e;
  }
}

/** The registry host a source reference names (`docker.io`, `quay.io`, `127.0.0.1:5000`), for budgets. */
export function sourceRegistry(from: string): string {
  try {
    return parseNormalizedReference(from).domain;
  } catch {
    return '';
  }
}
