/**
 * When registry work must be over. An import gets one deadline for its whole exchange with registries (every
 * request, redirect, token fetch, retry wait and wait for a connection slot); `signal` fires at that moment, or
 * earlier when whoever started the import gives up, so waits can stop instead of polling the clock.
 */
export interface Deadline {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly signal?: AbortSignal | undefined;
}

/** A bare number is a deadline without a signal (callers that only know the time). */
export type DeadlineLike = number | Deadline;

export function asDeadline(d: DeadlineLike): Deadline {
  return typeof d === 'number' ? { at: d } : d;
}

/** A deadline `ms` from `now`, whose signal fires then, or when `parent` aborts. */
export function deadlineIn(ms: number, parent?: AbortSignal, now = Date.now()): Deadline {
  const timeout = AbortSignal.timeout(Math.max(0, Math.ceil(ms)));
  return { at: now + ms, signal: parent ? AbortSignal.any([parent, timeout]) : timeout };
}

/** The earlier of a deadline and `ms` from now (a shorter bound for one optional step), sharing the signal. */
export function within(d: Deadline, ms: number, now = Date.now()): Deadline {
  return { at: Math.min(d.at, now + ms), signal: d.signal };
}

export function msLeft(d: Deadline, now = Date.now()): number {
  return Math.max(0, d.at - now);
}

/** Over: the time has come, or the caller gave up. */
export function isOver(d: Deadline, now = Date.now()): boolean {
  return now >= d.at || !!d.signal?.aborted;
}

/**
 * How long one exchange may run: its own limit, cut to what is left of the deadline. `cause` says which bound
 * ends it, so a timeout can say whether the registry was slow or the import's time ran out.
 */
export function exchangeBudget(
  d: Deadline,
  exchangeLimitMs: number,
  now = Date.now(),
): { ms: number; cause: 'exchange' | 'deadline' } {
  const left = msLeft(d, now);
  return exchangeLimitMs < left
    ? { ms: exchangeLimitMs, cause: 'exchange' }
    : { ms: left, cause: 'deadline' };
}

/** A retry wait is worth starting only when it ends `marginMs` before the deadline (room for the attempt). */
export function waitFits(waitMs: number, d: Deadline, marginMs: number, now = Date.now()): boolean {
  return waitMs <= d.at - now - marginMs;
}

/**
 * Settles like `work`, unless the deadline comes first: then it rejects with `onExpiry()`. For waits that cannot
 * themselves be cancelled (a DNS lookup in the thread pool, a token fetch another caller started).
 */
export async function beforeDeadline<T>(work: Promise<T>, d: Deadline, onExpiry: () => Error): Promise<T> {
  if (isOver(d)) {
    work.catch(() => undefined);
    throw onExpiry();
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const expiry = new Promise<never>((_, reject) => {
    const fire = () => reject(onExpiry());
    timer = setTimeout(fire, msLeft(d));
    onAbort = fire;
    d.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, expiry]);
  } finally {
    clearTimeout(timer);
    if (onAbort) d.signal?.removeEventListener('abort', onAbort);
    work.catch(() => undefined);
  }
}
