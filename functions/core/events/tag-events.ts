import { createHash } from 'node:crypto';
import type { TagEvent, TagEventCondition, TagReference } from '../api-types';
import type { TagRecord } from '../imagestream/model';

/**
 * The events contract (docs/events.md), version 1: what a consumer of the EventBridge bus, the local
 * `events.ndjson` file or a webhook receives. Events are derived from the table's change stream, by comparing a
 * tag record before and after a write, so every code path that changes a tag produces them.
 */
export const EVENTS_SCHEMA_VERSION = '1';

export const DETAIL_TYPES = {
  changed: 'ImageStreamTag Changed',
  importFailed: 'ImageStreamTag Import Failed',
  importRecovered: 'ImageStreamTag Import Recovered',
} as const;
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

export type ChangeKind = 'created' | 'moved' | 'rolledBack' | 'deleted';

/**
 * The actor of a change whose record names none (written before records carried `by`): the service's own
 * controller, `SYSTEM_ACTORS.controller` of functions/app/shared/context.ts.
 */
export const DEFAULT_ACTOR = 'system:imagestreams:controller';

/** Where a tag points: the image digest and the exact pull spec its reference policy resolves to. */
export interface ImagePointer {
  image: string;
  pullSpec: string;
}

interface DetailBase {
  version: typeof EVENTS_SCHEMA_VERSION;
  /** Stable across re-deliveries and re-derivations of the same change: consumers de-duplicate on it. */
  eventId: string;
  namespace: string;
  stream: string;
  tag: string;
  /** The stream incarnation: a stream deleted and re-created under the same name has a new uid. */
  streamUid: string;
  /** When the change happened (the tag event's `created`, or the write time for deletions and conditions). */
  time: string;
  /**
   * Who made the change: a user name, or a `system:imagestreams:*` actor for background work (imports queued
   * after a spec change, scheduled and push-driven re-imports, the controller). The `by` of the record the change
   * wrote; for a deletion, of the record deleted (stamped with its deleter first).
   */
  actor: string;
}

export interface TagChangedDetail extends DetailBase {
  change: ChangeKind;
  previous: ImagePointer | null;
  current: ImagePointer | null;
  /** The tag generation of the current history entry (null after a deletion). */
  generation: number | null;
}

export interface ImportFailedDetail extends DetailBase {
  /** The registry source the tag imports from. */
  from: string;
  reason: string;
  message: string;
  /** The spec generation the failed import was for. */
  generation: number;
  /** Where the tag still points (a failed import keeps the previous image), if anywhere. */
  current: ImagePointer | null;
}

export interface ImportRecoveredDetail extends DetailBase {
  from: string;
  /** The failure that is now over. */
  previousFailure: { reason: string; message: string };
  generation: number | null;
  current: ImagePointer | null;
}

export type TagEventEnvelope =
  | { detailType: typeof DETAIL_TYPES.changed; detail: TagChangedDetail }
  | { detailType: typeof DETAIL_TYPES.importFailed; detail: ImportFailedDetail }
  | { detailType: typeof DETAIL_TYPES.importRecovered; detail: ImportRecoveredDetail };

/** One side of a tag record change: the record, its stream incarnation and its optimistic-concurrency version. */
export interface TagSide {
  streamUid: string;
  tag: TagRecord;
  /** Who wrote this version of the record (its `by`); absent on records written before the audit existed. */
  by?: string | undefined;
}

export interface TagRecordChange {
  namespace: string;
  stream: string;
  before?: TagSide | undefined;
  after?: TagSide | undefined;
  /** When the table recorded the change (the stream record's time); used when the records carry no time. */
  observedAt: string;
  /** Who made the change, when known otherwise than from the records (see {@link actorOfChange}). */
  actor?: string | undefined;
}

/**
 * Who made a change: the new record's `by`, or the old record's when the record was deleted (a delete stamps it
 * with the deleter first); {@link DEFAULT_ACTOR} when that record has none. Not part of the event id: the records'
 * versions already identify the change, and the same change always has the same actor.
 */
export function actorOfChange(change: Pick<TagRecordChange, 'before' | 'after' | 'actor'>): string {
  return change.actor ?? (change.after ? change.after.by : change.before?.by) ?? DEFAULT_ACTOR;
}

/** How a history entry becomes a pull spec (docs/semantics.md#pull-spec-resolution; needs the registry configuration for `Local`). */
export type PullSpecResolver = (
  namespace: string,
  stream: string,
  spec: TagReference | null,
  event: TagEvent,
) => string;

/**
 * The events one tag record change produces (zero, one or two):
 * - `ImageStreamTag Changed` when the resolved pull spec differs (created, moved, rolled back, deleted);
 * - `ImageStreamTag Import Failed` when a failure condition appears or changes;
 * - `ImageStreamTag Import Recovered` when a failure condition goes away.
 * A re-import that changes nothing writes nothing, so it has no change to derive from; a write that only bumps a
 * generation or edits the spec without moving the pull spec yields no event either.
 *
 * Records of different stream or tag incarnations (a stream deleted and re-created, a tag deleted and re-added
 * before the old record was swept) are two tags: the old one is deleted, the new one created.
 */
export function deriveTagEvents(change: TagRecordChange, resolve: PullSpecResolver): TagEventEnvelope[] {
  const { before, after } = change;
  const actor = actorOfChange(change);
  if (before && after && (before.streamUid !== after.streamUid || before.tag.tid !== after.tag.tid)) {
    // One write replaced the old incarnation's record: its author is the actor of both halves.
    return [
      ...deriveTagEvents({ ...change, actor, after: undefined }, resolve),
      ...deriveTagEvents({ ...change, actor, before: undefined }, resolve),
    ];
  }
  const side = (after ?? before)!;
  if (!side) return [];
  const id = (kind: string) =>
    eventId([
      change.namespace,
      change.stream,
      side.streamUid,
      side.tag.name,
      side.tag.tid,
      String(before?.tag.version ?? 'none'),
      String(after?.tag.version ?? 'gone'),
      kind,
    ]);
  const base = (kind: string): Omit<DetailBase, 'time' | 'actor'> => ({
    version: EVENTS_SCHEMA_VERSION,
    eventId: id(kind),
    namespace: change.namespace,
    stream: change.stream,
    tag: side.tag.name,
    streamUid: side.streamUid,
  });
  const pointer = (s: TagSide | undefined): ImagePointer | null => {
    const ev = s?.tag.recent[0];
    if (!s || !ev) return null;
    return { image: ev.image, pullSpec: resolve(change.namespace, change.stream, s.tag.spec, ev) };
  };

  const out: TagEventEnvelope[] = [];
  const previous = pointer(before);
  const current = pointer(after);
  if (previous?.pullSpec !== current?.pullSpec) {
    const kind = changeKind(before?.tag, previous, current);
    out.push({
      detailType: DETAIL_TYPES.changed,
      detail: {
        ...base(kind),
        time: current ? after!.tag.recent[0]!.created : change.observedAt,
        actor,
        change: kind,
        previous,
        current,
        generation: current ? after!.tag.recent[0]!.generation : null,
      },
    });
  }

  const failedBefore = failure(before?.tag);
  const failedAfter = failure(after?.tag);
  const from = (after ?? before)!.tag.spec?.from?.name ?? '';
  if (failedAfter && !sameFailure(failedBefore, failedAfter)) {
    out.push({
      detailType: DETAIL_TYPES.importFailed,
      detail: {
        ...base('importFailed'),
        time: failedAfter.lastTransitionTime ?? change.observedAt,
        actor,
        from,
        reason: failedAfter.reason ?? '',
        message: failedAfter.message ?? '',
        generation: failedAfter.generation,
        current,
      },
    });
  } else if (failedBefore && !failedAfter && after) {
    out.push({
      detailType: DETAIL_TYPES.importRecovered,
      detail: {
        ...base('importRecovered'),
        time:
          current && previous?.pullSpec !== current.pullSpec
            ? after.tag.recent[0]!.created
            : change.observedAt,
        actor,
        from,
        previousFailure: { reason: failedBefore.reason ?? '', message: failedBefore.message ?? '' },
        generation: after.tag.recent[0]?.generation ?? null,
        current,
      },
    });
  }
  return out;
}

function changeKind(
  before: TagRecord | undefined,
  previous: ImagePointer | null,
  current: ImagePointer | null,
): ChangeKind {
  if (!current) return 'deleted';
  if (!previous) return 'created';
  // Back to an image the tag pointed at before (oc tag stream@old stream:tag, or an older source re-imported).
  const earlier = before?.recent.slice(1) ?? [];
  if (current.image !== previous.image && earlier.some((e) => e.image === current.image)) return 'rolledBack';
  return 'moved';
}

function failure(tag: TagRecord | undefined): TagEventCondition | undefined {
  return tag?.conditions.find((c) => c.type === 'ImportSuccess' && c.status === 'False');
}

function sameFailure(a: TagEventCondition | undefined, b: TagEventCondition): boolean {
  return !!a && a.reason === b.reason && a.message === b.message && a.generation === b.generation;
}

/** A UUID-shaped (version 8, name-based) identifier from the parts that identify one change. */
export function eventId(parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** An event as EventBridge delivers it to a rule's target; local mode writes and POSTs exactly this shape. */
export interface DeliveredEvent {
  version: '0';
  id: string;
  'detail-type': DetailType;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: TagEventEnvelope['detail'];
}

export function deliveredEvent(
  e: TagEventEnvelope,
  where: { source: string; account: string; region: string },
): DeliveredEvent {
  return {
    version: '0',
    id: e.detail.eventId,
    'detail-type': e.detailType,
    source: where.source,
    account: where.account,
    time: new Date(e.detail.time).toISOString(),
    region: where.region,
    resources: [],
    detail: e.detail,
  };
}
