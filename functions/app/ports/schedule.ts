/**
 * The schedule repository: the sparse indexes of scheduled and source-following tags, and the bookkeeping of
 * budgets, coalescing windows and registry back-off. functions/store/schedule-store.ts implements it on DynamoDB.
 */
export interface ScheduleRepository {
  /** Tags of one shard whose slot lies in [from, to), page by page. */
  dueTags(shard: number, from: number, to: number): AsyncGenerator<IndexedTag[]>;
  /** Tags that follow `repository:tag` (push notifications re-check them). */
  trackingTags(repository: string, tag: string | undefined): Promise<IndexedTag[]>;
  /** Takes `n` tokens from the per-minute budget `scope` of size `limit`; false when it is spent. */
  takeTokens(scope: string, limit: number, nowMs: number, n?: number): Promise<boolean>;
  /** Claims the coalescing window `key`; false when another claim holds it. */
  claimWindow(key: string, nowMs: number, windowMs: number): Promise<boolean>;
  getBackoff(registry: string): Promise<Backoff | undefined>;
  recordRateLimit(
    registry: string,
    retryAfterMs: number,
    nowMs: number,
    maxBackoffMs: number,
  ): Promise<Backoff>;
  pause(registry: string, untilMs: number): Promise<void>;
  clearBackoff(registry: string): Promise<void>;
}

/** A tag found through one of the sparse schedule indexes. */
export interface IndexedTag {
  namespace: string;
  name: string;
  uid: string;
  tag: string;
}

/** A registry's recent rate limiting: leave it alone until `until`; its budget is halved per strike. */
export interface Backoff {
  until: number;
  strikes: number;
}
