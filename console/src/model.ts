/**
 * What the console derives from API answers: pure functions, no DOM, unit-tested in
 * test/unit/console/model.test.ts.
 */
import type {
  ImageStream,
  NamedTagEventList,
  TagEvent,
  TagEventCondition,
  TagHistoryEntry,
  TagReference,
} from './types';

/** The first 12 hex digits of a digest (`sha256:abc…` → `abc…`), as registries and `docker images` show them. */
export function shortDigest(digest: string): string {
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return hex.slice(0, 12);
}

/** The actors the service records for the writes it makes itself (functions/app/context.ts SYSTEM_ACTORS). */
const SYSTEM_ACTOR_HOW: Record<string, How> = {
  'system:imagestreams:importer': 'import',
  'system:imagestreams:scheduler': 'scheduled import',
  'system:imagestreams:push': 'import on registry push',
  'system:imagestreams:controller': 'service',
};

export type How =
  | 'import'
  | 'scheduled import'
  | 'import on registry push'
  | 'service'
  | 'rollback'
  | 'tag'
  | 'push';

/**
 * How a history entry came to be. The history records who wrote an entry (`by`), not through which call, so the
 * rest is inferred, in this order: an entry written by the service itself is an import (its actor says which
 * kind); an image the tag pointed to before (in an older entry shown) is a rollback, as the service's events
 * classify it; an image another tag of the stream pointed to first is a tag (snapshot or alias); an image from
 * the repository the tag imports from is an import; anything else was pushed (imagestreammappings).
 */
export function howOf(
  entries: readonly TagHistoryEntry[],
  index: number,
  stream: ImageStream | undefined,
  tag: string,
): How {
  const entry = entries[index]!;
  const system = SYSTEM_ACTOR_HOW[entry.by];
  if (system) return system;
  if (entries.slice(index + 1).some((e) => e.image && e.image === entry.image)) return 'rollback';
  const elsewhere = (stream?.status?.tags ?? []).some(
    (t) =>
      t.tag !== tag &&
      (t.items ?? []).some(
        (e) => e.image === entry.image && Date.parse(e.created) <= Date.parse(entry.created),
      ),
  );
  if (elsewhere) return 'tag';
  const from = stream?.spec.tags?.find((t) => t.name === tag)?.from;
  if (
    from?.kind === 'DockerImage' &&
    from.name &&
    repositoryOf(entry.dockerImageReference) === repositoryOf(from.name)
  )
    return 'import';
  return 'push';
}

/** `host/path` of a pull spec, without `:tag` or `@digest`. */
export function repositoryOf(pullSpec: string): string {
  const at = pullSpec.indexOf('@');
  let repo = at >= 0 ? pullSpec.slice(0, at) : pullSpec;
  const colon = repo.lastIndexOf(':');
  if (colon > repo.lastIndexOf('/')) repo = repo.slice(0, colon);
  return repo;
}

/** One stretch of time during which a tag pointed at one image. */
export interface Segment {
  image: string;
  start: number;
  end: number;
  /** Index of the history entry (newest first). */
  index: number;
}

/**
 * Which image was current when: each entry (newest first) is current from its `created` until the next newer
 * entry's, the newest until `now`.
 */
export function segmentsOf(entries: readonly TagEvent[], now: number): Segment[] {
  return entries.map((e, i) => {
    const start = Date.parse(e.created);
    const newer = entries[i - 1];
    const end = newer ? Date.parse(newer.created) : now;
    return { image: e.image, start, end: Math.max(end, start), index: i };
  });
}

/** The images of a history in order of first appearance, newest first: the chart's rows. */
export function distinctImages(entries: readonly TagEvent[]): string[] {
  const seen: string[] = [];
  for (const e of entries) if (!seen.includes(e.image)) seen.push(e.image);
  return seen;
}

/**
 * The pull spec a tag resolves to now: with the Local reference policy the stream's own repository and the
 * digest, else the event's own reference (as `isctl get istag` shows it).
 */
export function pullSpecOf(stream: ImageStream, tag: string): string | undefined {
  const event = stream.status?.tags?.find((t) => t.tag === tag)?.items?.[0];
  if (!event) return undefined;
  const spec = stream.spec.tags?.find((t) => t.name === tag);
  const local = stream.status?.dockerImageRepository;
  if (spec?.referencePolicy?.type === 'Local' && local && event.image) return `${local}@${event.image}`;
  return event.dockerImageReference;
}

/** The ImportSuccess=False condition of a tag, if its last import failed. */
export function importFailure(t: NamedTagEventList | undefined): TagEventCondition | undefined {
  return t?.conditions?.find((c) => c.type === 'ImportSuccess' && c.status === 'False');
}

/** Tags of the stream that follow `tag` (ImageStreamTag sources naming it in the same stream). */
export function followersOf(stream: ImageStream, tag: string): string[] {
  const name = `${stream.metadata.name}:${tag}`;
  return (stream.spec.tags ?? [])
    .filter(
      (t) =>
        t.from?.kind === 'ImageStreamTag' &&
        (!t.from.namespace || t.from.namespace === stream.metadata.namespace) &&
        (t.from.name === name || t.from.name === tag),
    )
    .map((t) => t.name);
}

/** What the streams list shows of a stream at a glance. */
export interface StreamSummary {
  name: string;
  tags: number;
  lastUpdated: string | undefined;
  failing: Array<{ tag: string; message: string }>;
}

export function summarize(stream: ImageStream): StreamSummary {
  const names = new Set([
    ...(stream.spec.tags ?? []).map((t) => t.name),
    ...(stream.status?.tags ?? []).map((t) => t.tag),
  ]);
  let last: string | undefined;
  for (const t of stream.status?.tags ?? []) {
    const created = t.items?.[0]?.created;
    if (created && (!last || Date.parse(created) > Date.parse(last))) last = created;
  }
  const failing = (stream.status?.tags ?? [])
    .map((t) => ({ tag: t.tag, cond: importFailure(t) }))
    .filter((f) => f.cond)
    .map((f) => ({ tag: f.tag, message: f.cond!.message || f.cond!.reason || 'import failed' }));
  return { name: stream.metadata.name ?? '', tags: names.size, lastUpdated: last, failing };
}

export type ChangeKind = 'created' | 'moved' | 'rolled back' | 're-tagged' | 'changed';

/** A tag change of a project, as its streams' recent events show it. */
export interface ProjectEvent {
  stream: string;
  tag: string;
  created: string;
  image: string;
  dockerImageReference: string;
  change: ChangeKind;
}

/**
 * The project's recent tag changes, newest first across its streams, from each tag's recent events in the
 * ImageStream status (`historyLimit` of them per tag). A change is classified as the service's events are:
 * the first entry created it, an image the tag had before is a rollback, anything else moved it; the oldest
 * entry of a full window cannot tell which (its predecessor is not shown), so it is a "change".
 */
export function projectEvents(
  streams: readonly ImageStream[],
  historyLimit: number,
  max = 50,
): ProjectEvent[] {
  const out: ProjectEvent[] = [];
  for (const s of streams)
    for (const t of s.status?.tags ?? []) {
      const items = t.items ?? [];
      items.forEach((e, k) => {
        const previous = items[k + 1];
        let change: ChangeKind;
        if (!previous) change = items.length < historyLimit ? 'created' : 'changed';
        else if (previous.image === e.image) change = 're-tagged';
        else if (items.slice(k + 2).some((o) => o.image === e.image)) change = 'rolled back';
        else change = 'moved';
        out.push({
          stream: s.metadata.name ?? '',
          tag: t.tag,
          created: e.created,
          image: e.image,
          dockerImageReference: e.dockerImageReference,
          change,
        });
      });
    }
  out.sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  return out.slice(0, max);
}

/**
 * The spec tag a rollback writes, as `isctl rollback` does: the tag's source becomes the image
 * (`ImageStreamImage <stream>@<digest>`); its import mode and reference policy are kept.
 */
export function rollbackTag(
  old: TagReference | undefined,
  tag: string,
  stream: string,
  digest: string,
): TagReference {
  return {
    name: tag,
    from: { kind: 'ImageStreamImage', name: `${stream}@${digest}` },
    reference: false,
    importPolicy: { importMode: old?.importPolicy?.importMode || 'Legacy' },
    referencePolicy: old?.referencePolicy?.type ? old.referencePolicy : { type: 'Source' },
  };
}

/**
 * The spec tag `isctl tag` writes to tag one tag into another: a snapshot points at the image the source tag
 * points to now (`ImageStreamImage <stream>@<digest>`), an alias follows the source tag (`ImageStreamTag`).
 */
export function tagInto(
  sourceStream: string,
  sourceTag: string,
  sourceImage: string | undefined,
  destTag: string,
  alias: boolean,
): TagReference {
  if (!alias && !sourceImage) throw new Error(`${sourceStream}:${sourceTag} does not point to an image yet`);
  return {
    name: destTag,
    from: alias
      ? { kind: 'ImageStreamTag', name: `${sourceStream}:${sourceTag}` }
      : { kind: 'ImageStreamImage', name: `${sourceStream}@${sourceImage}` },
    reference: false,
    importPolicy: { importMode: 'Legacy' },
    referencePolicy: { type: 'Source' },
  };
}

/** `stream:tag`, or just `tag` in `defaultStream`; undefined when it is not of that form. */
export function parseTagName(
  raw: string,
  defaultStream: string,
): { stream: string; tag: string } | undefined {
  const text = raw.trim();
  const m = /^(?:([a-z0-9][a-z0-9._-]*):)?(\w[\w.-]{0,127})$/.exec(text);
  if (!m) return undefined;
  return { stream: m[1] ?? defaultStream, tag: m[2]! };
}

/** "5 minutes ago", "in 2 hours": a time relative to `now`, in the user's language. */
export function relativeTime(iso: string, now: number, locale?: string): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
    ['year', 365 * 86400],
    ['month', 30 * 86400],
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
    ['second', 1],
  ];
  const fmt = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, size] of units)
    if (Math.abs(seconds) >= size || unit === 'second') return fmt.format(Math.trunc(seconds / size), unit);
  return iso;
}
