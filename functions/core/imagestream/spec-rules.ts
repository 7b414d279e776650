import type { ImportMode, ObjectReference, TagEvent, TagReference } from '../api-types';
import { addTagEvent, latestEvent, sameTarget } from './history';
import { emptyTagRecord, type StreamState, type TagRecord } from './model';

/** Server-wide knobs the rules depend on (read once from config, passed in so the rules stay pure). */
export interface StreamRulesConfig {
  defaultImportMode: Exclude<ImportMode, ''>;
  internalRegistryHostname?: string;
  externalRegistryHostname?: string;
}

/** Decode-time defaults of `image.openshift.io/v1` (importMode, referencePolicy) and canonical empty values. */
export function normalizeTagReference(tag: TagReference, cfg: StreamRulesConfig): TagReference {
  const annotations =
    tag.annotations && Object.keys(tag.annotations).length > 0 ? { ...tag.annotations } : null;
  const from = tag.from ? compactFrom(tag.from) : null;
  const importPolicy: TagReference['importPolicy'] = {};
  if (tag.importPolicy?.insecure) importPolicy.insecure = true;
  if (tag.importPolicy?.scheduled) importPolicy.scheduled = true;
  importPolicy.importMode = tag.importPolicy?.importMode || cfg.defaultImportMode;
  const out: TagReference = {
    name: tag.name,
    annotations,
    ...(from ? { from } : {}),
    ...(tag.reference ? { reference: true } : {}),
    generation: tag.generation ?? null,
    importPolicy,
    referencePolicy: { type: tag.referencePolicy?.type || 'Source' },
  };
  return out;
}

function compactFrom(from: ObjectReference): ObjectReference {
  const out: ObjectReference = {};
  if (from.kind) out.kind = from.kind;
  if (from.name) out.name = from.name;
  if (from.namespace) out.namespace = from.namespace;
  return out;
}

/** Deep equality of two spec tags as OpenShift compares specs (on the normalized form). */
export function specTagsEqual(
  a: TagReference | null | undefined,
  b: TagReference | null | undefined,
): boolean {
  return canonical(a ?? null) === canonical(b ?? null);
}

export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}

/**
 * OpenShift's tagRefChanged (docs/semantics.md#generations): does the new spec tag ask for a new resolution/import?
 * Kind, insecure, scheduled, referencePolicy and annotations do not count.
 */
export function tagRefChanged(
  old: TagReference | null,
  next: TagReference,
  streamNamespace: string,
): boolean {
  const from = next.from;
  if (!from || (!from.kind && !from.name)) return false;
  const oldFrom = old?.from ?? {};
  if ((oldFrom.namespace || streamNamespace) !== (from.namespace || streamNamespace)) return true;
  if ((oldFrom.name ?? '') !== (from.name ?? '')) return true;
  if (Boolean(old?.reference) !== Boolean(next.reference)) return true;
  if ((old?.importPolicy?.importMode ?? '') !== (next.importPolicy?.importMode ?? '')) return true;
  const og = old?.generation;
  const ng = next.generation;
  return og != null && ng != null && og !== ng && ng === 0;
}

/**
 * The same-stream tag a spec tag tracks (an ImageStreamTag `from` naming `<tag>` or `<thisStream>:<tag>` in this
 * namespace), or undefined. Only these aliases follow their source (docs/semantics.md#alias-tracking).
 */
export function trackedSourceTag(
  spec: TagReference | null,
  namespace: string,
  streamName: string,
): string | undefined {
  const from = spec?.from;
  if (from?.kind !== 'ImageStreamTag' || !from.name) return undefined;
  if (from.namespace && from.namespace !== namespace) return undefined;
  const parts = from.name.split(':');
  if (parts.length === 1) return parts[0];
  if (parts.length === 2 && parts[0] === streamName) return parts[1] || undefined;
  return undefined;
}

export interface SpecUpdate {
  /** Desired spec tags by name; `null` removes the spec tag (its history stays, docs/semantics.md#tag-deletion). */
  tags: Map<string, TagReference | null>;
  /** Stream-level spec fields, when the write is a whole-stream write. */
  head?: { lookupPolicy: { local: boolean }; dockerImageRepository: string };
}

export interface SpecUpdateResult {
  specChanged: boolean;
  /** Tags that are new or whose reference changed: they get resolved now (or imported later). */
  changedTags: string[];
}

/**
 * Generation rules of docs/semantics.md#generations, applied in OpenShift's order: keep stored tag generations (users
 * cannot forge them, 0 means "re-resolve"), bump the stream generation iff the spec changed, then give every
 * new or re-pointed tag the new stream generation. `create` sets everything to generation 1.
 */
export function applySpecUpdate(
  state: StreamState,
  update: SpecUpdate,
  opts: { create: boolean; newTid: () => string },
): SpecUpdateResult {
  const { head } = state;
  const prior = new Map<string, TagReference | null>();
  let specChanged = false;

  if (update.head) {
    if (
      update.head.lookupPolicy.local !== head.lookupPolicy.local ||
      update.head.dockerImageRepository !== head.dockerImageRepository
    ) {
      specChanged = true;
      head.lookupPolicy = { local: update.head.lookupPolicy.local };
      head.dockerImageRepository = update.head.dockerImageRepository;
    }
  }

  for (const [name, desired] of update.tags) {
    const record = state.tags.get(name);
    const old = record?.spec ?? null;
    prior.set(name, old);
    let next = desired ? { ...desired, name } : null;
    if (next && old) {
      // Step 1: a stored tag keeps its generation unless the client explicitly asks for 0.
      if (next.generation == null || next.generation !== 0) next.generation = old.generation ?? null;
    }
    if (!specTagsEqual(old, next)) specChanged = true;
    if (next || record) {
      const rec = record ?? emptyTagRecord(name, opts.newTid());
      rec.spec = next;
      state.tags.set(name, rec);
    }
    next = state.tags.get(name)?.spec ?? null;
  }

  if (opts.create) {
    head.generation = 1;
  } else if (specChanged || head.generation === 0) {
    head.generation += 1;
  }

  const changedTags: string[] = [];
  for (const [name] of update.tags) {
    const spec = state.tags.get(name)?.spec;
    if (!spec) continue;
    const old = prior.get(name) ?? null;
    const isNew = old === null;
    if (opts.create) {
      spec.generation = 1;
      changedTags.push(name);
      continue;
    }
    if (isNew || tagRefChanged(old, spec, head.namespace)) {
      spec.generation = null;
      changedTags.push(name);
    }
    if (spec.generation == null || spec.generation === 0) spec.generation = head.generation;
  }
  maintainAliases(state, prior, opts.newTid);
  return { specChanged, changedTags };
}

/** Keep every source tag's `aliases` list in step with the specs that track it. */
function maintainAliases(
  state: StreamState,
  prior: Map<string, TagReference | null>,
  newTid: () => string,
): void {
  const { namespace, name: streamName } = state.head;
  for (const [tag, oldSpec] of prior) {
    const before = trackedSourceTag(oldSpec, namespace, streamName);
    const after = trackedSourceTag(state.tags.get(tag)?.spec ?? null, namespace, streamName);
    if (before === after) continue;
    if (before !== undefined) {
      const src = state.tags.get(before);
      if (src) src.aliases = src.aliases.filter((a) => a !== tag);
    }
    if (after !== undefined) {
      const src = state.tags.get(after) ?? emptyTagRecord(after, newTid());
      if (!src.aliases.includes(tag)) src.aliases = [...src.aliases, tag].sort();
      state.tags.set(after, src);
    }
  }
}

/**
 * OpenShift's UpdateTrackingTags (docs/semantics.md#alias-tracking), made transitive: every tag whose newest event changed in this
 * write pushes that event onto the tags that track it, and theirs onto their trackers, each tag at most once.
 */
export function updateTrackingTags(
  state: StreamState,
  topsBefore: Map<string, TagEvent | undefined>,
): string[] {
  const { namespace, name: streamName } = state.head;
  const queue: string[] = [];
  for (const [name, tag] of state.tags) {
    const top = latestEvent(tag);
    if (top && !sameEvent(top, topsBefore.get(name))) queue.push(name);
  }
  const visited = new Set(queue);
  const updated: string[] = [];
  while (queue.length > 0) {
    const source = queue.shift()!;
    const top = latestEvent(state.tags.get(source));
    if (!top) continue;
    for (const [name, tag] of state.tags) {
      if (visited.has(name) || trackedSourceTag(tag.spec, namespace, streamName) !== source) continue;
      visited.add(name);
      if (addTagEvent(tag, { ...top }) !== 'unchanged') {
        updated.push(name);
        queue.push(name);
      }
    }
  }
  return updated;
}

function sameEvent(a: TagEvent, b: TagEvent | undefined): boolean {
  return !!b && sameTarget(a, b) && a.generation === b.generation && a.created === b.created;
}

export function topsOf(state: StreamState): Map<string, TagEvent | undefined> {
  return new Map([...state.tags].map(([k, t]) => [k, t.recent[0] ? { ...t.recent[0] } : undefined]));
}

/** Tags whose records must be loaded before a tag-level write to `tags`: their sources and their aliases. */
export function relatedTags(
  records: Iterable<TagRecord>,
  namespace: string,
  streamName: string,
): Set<string> {
  const out = new Set<string>();
  for (const r of records) {
    const src = trackedSourceTag(r.spec, namespace, streamName);
    if (src !== undefined) out.add(src);
    for (const a of r.aliases) out.add(a);
  }
  return out;
}
