import { StatusError } from '../../core/errors';
import { parseLabelSelector } from '../../core/label-selector';
import {
  FIRST_POSITION,
  type WatchEventType,
  type WatchLog,
  type WatchRecord,
  type WatchResource,
  type WatchSettings,
} from '../ports/watch';
import type { AppContext } from '../shared/context';

/** What a watch or a list at a position covers. */
export interface WatchScope {
  resource: WatchResource;
  /** Undefined: every project (cluster administrators). */
  namespace?: string | undefined;
  /** The label selector, over the stream's labels. */
  labels: (labels: Record<string, string>) => boolean;
  /** The field selector, over the object. */
  fields?: ((object: unknown) => boolean) | undefined;
}

export interface WatchEvent {
  type: WatchEventType | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

interface ObjectLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

const RECORDS_PER_READ = 100;

/** 410 Expired: the position is older than the log keeps (or cannot be shown complete); list again. */
export function expired(position: number | string): StatusError {
  return new StatusError(
    410,
    'Expired',
    `too old resource version: ${position}: the watch log no longer holds the changes after it; list again`,
    {},
  );
}

/**
 * A list whose `resourceVersion` is a position of the watch log, so that a watch from it misses no change and
 * repeats none (what informers rely on). h1 is the log's head before the read; after the read the log is settled
 * (every change committed by then is logged) at h2. A change logged by h1 was committed before the read, which
 * shows it; every object the log changed in (h1, h2] (committed before, during or just after the read, or logged
 * late) is taken as the log holds it at h2. So the list is the state at h2, and the watch from h2 starts after it
 * (h2 is lowered to just before a position not yet written, see below). Items are ordered by `order`; with a
 * `continue`, only items between the page's first and last are corrected (each page is exact for its own range).
 */
export async function listAtPosition<
  L extends { metadata: { continue?: string; resourceVersion?: string }; items: unknown[] },
>(
  settings: WatchSettings,
  scope: WatchScope,
  order: (object: unknown) => string,
  read: () => Promise<L>,
  pageStarted: boolean,
): Promise<L> {
  const h1 = await settings.log.head();
  const list = await read();
  await settings.settle();
  let h2 = await settings.log.head();
  if (h2 > h1) {
    const changed = new Map<string, WatchRecord>();
    let contiguous = h1;
    for await (const r of recordsBetween(settings.log, h1, h2)) {
      // A position handed out but not yet written (another processor's append in flight) ends what the list may
      // claim: its change is in the read or not, so the list stands just before it and a watch from there
      // delivers it, and what came after, as events (at worst again, which informers take as updates).
      if (r.seq !== contiguous + 1) break;
      contiguous = r.seq;
      if (inScope(r, scope)) changed.set(`${r.namespace}/${r.name}`, r);
    }
    h2 = contiguous;
    const paged = typeof list.metadata.continue === 'string';
    const keyOf = (o: unknown) => order(o);
    const first = pageStarted && list.items.length ? keyOf(list.items[0]) : undefined;
    const last = paged && list.items.length ? keyOf(list.items.at(-1)) : undefined;
    const byKey = new Map(
      list.items.map((o) => [
        `${(o as ObjectLike).metadata?.namespace}/${(o as ObjectLike).metadata?.name}`,
        o,
      ]),
    );
    for (const [id, r] of changed) {
      const object = r.object;
      // Logged without its body (too large): the read, as fresh as the record or fresher, stands.
      if (!object && r.type !== 'DELETED') continue;
      const key = object ? order(object) : undefined;
      if (key !== undefined && ((first !== undefined && key < first) || (last !== undefined && key > last)))
        continue;
      byKey.delete(id);
      if (r.type !== 'DELETED' && object && scope.labels(r.labels) && (scope.fields?.(object) ?? true))
        byKey.set(id, object);
    }
    list.items = [...byKey.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  }
  list.metadata.resourceVersion = String(h2);
  return list;
}

async function* recordsBetween(log: WatchLog, after: number, upTo: number): AsyncGenerator<WatchRecord> {
  let pos = after;
  while (pos < upTo) {
    const records = await log.readAfter(pos, RECORDS_PER_READ);
    if (records.length === 0) return;
    for (const r of records) {
      if (r.seq > upTo) return;
      yield r;
      pos = r.seq;
    }
  }
}

function inScope(r: WatchRecord, scope: WatchScope): boolean {
  return r.resource === scope.resource && (scope.namespace === undefined || r.namespace === scope.namespace);
}

/**
 * A position a client gave (a list's or an event's resourceVersion): an unsigned integer; 0 or none means "now,
 * with the current objects first", as in Kubernetes.
 */
export function parsePosition(raw: string | null): number | undefined {
  if (raw === null || raw === '' || raw === '0') return undefined;
  return Number(raw);
}

/**
 * The event a record makes for a watcher, or none: selectors are tested before and after the change, so an object
 * that starts matching is ADDED and one that stops matching is DELETED, as Kubernetes' watch cache does.
 */
export function eventFor(r: WatchRecord, scope: WatchScope): WatchEvent | undefined {
  if (!inScope(r, scope) || !r.object) return undefined;
  if (scope.fields && !scope.fields(r.object)) return undefined;
  const now = r.type !== 'DELETED' && scope.labels(r.labels);
  const before =
    r.type === 'DELETED'
      ? scope.labels(r.labels)
      : r.previousLabels !== undefined && scope.labels(r.previousLabels);
  const type: WatchEventType | undefined =
    now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
  if (!type) return undefined;
  const object = structuredClone(r.object) as ObjectLike;
  // The event's resourceVersion is its position, which a client resumes from.
  object.metadata = { ...object.metadata, resourceVersion: String(r.seq) };
  return { type, object };
}

/**
 * Follows the log from `from` until `signal` aborts, calling `send` with each event in scope, in order. Throws
 * `expired` when the log cannot show every change after `from`: the position is older than the log keeps, or a
 * position stays missing beyond the grace (a writer that died between taking it and writing it). Bookmarks, when
 * asked for, carry the position read up to when nothing else was sent for a while.
 */
export async function followLog(
  settings: WatchSettings,
  from: number,
  scope: WatchScope,
  send: (event: WatchEvent) => Promise<void>,
  signal: AbortSignal,
  opts: {
    bookmarks: boolean;
    bookmarkEveryMs?: number;
    bookmarkObject: (position: number) => unknown;
    fetch: (r: WatchRecord) => Promise<Record<string, unknown> | undefined>;
  },
): Promise<void> {
  const { log } = settings;
  if (from < FIRST_POSITION - 1) throw expired(from);
  let pos = from;
  const head = await log.head();
  if (from > head) throw expired(from);
  let known = head;
  let gapSince: number | undefined;
  let checkedAge = false;
  let lastSent = Date.now();
  let bookmarked = pos;
  while (!signal.aborted) {
    const records = await log.readAfter(pos, RECORDS_PER_READ);
    const next = records[0];
    if (!checkedAge && next?.seq === pos + 1) {
      if (next.at < Date.now() - settings.retentionMs) throw expired(from);
      checkedAge = true;
    }
    if ((next && next.seq !== pos + 1) || (!next && known > pos)) {
      // A position taken but not written yet (another processor), or one that never will be: wait, then give up.
      gapSince ??= Date.now();
      if (Date.now() - gapSince > settings.gapGraceMs) throw expired(from);
      await sleep(settings.pollMs, signal);
      if (!next) known = await log.head();
      continue;
    }
    gapSince = undefined;
    checkedAge = true;
    for (const r of records) {
      if (r.seq !== pos + 1) break;
      pos = r.seq;
      // An object too large for its record is read as it stands now (a later state than the record's, at worst).
      if (!r.object && inScope(r, scope)) r.object = await opts.fetch(r);
      const event = eventFor(r, scope);
      if (event) {
        await send(event);
        lastSent = Date.now();
        bookmarked = pos;
      }
    }
    if (records.length === RECORDS_PER_READ) continue;
    if (opts.bookmarks && pos > bookmarked && Date.now() - lastSent >= (opts.bookmarkEveryMs ?? 10_000)) {
      await send({ type: 'BOOKMARK', object: opts.bookmarkObject(pos) });
      lastSent = Date.now();
      bookmarked = pos;
    }
    await sleep(settings.pollMs, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The order lists of `resource` keep (project, stream, tag), as a string key. */
export function listOrder(resource: WatchResource): (object: unknown) => string {
  return (object) => {
    const meta = (object as ObjectLike).metadata ?? {};
    const name = meta.name ?? '';
    const parts = resource === 'imagestreamtags' ? name.split(':') : [name];
    return [meta.namespace ?? '', ...parts].join('\u0000');
  };
}

/**
 * A list of imagestreams or imagestreamtags (of one project, or of all with `namespace` undefined) answered with a
 * position of the watch log as its `resourceVersion`, where the service keeps one; as read otherwise.
 */
export function positionedList<
  L extends { metadata: { continue?: string; resourceVersion?: string }; items: unknown[] },
>(
  ctx: Pick<AppContext, 'watch'>,
  resource: WatchResource,
  namespace: string | undefined,
  query: URLSearchParams,
  read: () => Promise<L>,
): Promise<L> {
  if (!ctx.watch) return read();
  const scope: WatchScope = {
    resource,
    namespace,
    labels: parseLabelSelector(query.get('labelSelector') ?? ''),
  };
  return listAtPosition(ctx.watch, scope, listOrder(resource), read, !!query.get('continue'));
}
