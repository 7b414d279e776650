import {
  type FieldSet,
  type FieldsV1,
  fromFieldsV1,
  type Managers,
  managerKey,
  pathKey,
  toFieldsV1,
} from '../managed-fields';
import type { StoredManager, StreamHead, TagRecord } from './model';

/**
 * Where field ownership is stored: a stream's head keeps its managers (manager, operation, apiVersion, time) and
 * the fields they own outside `spec.tags`; each tag record keeps, per manager, the fields it owns of that spec tag
 * (`spec.tags[name=<tag>]` and below). So an apply that changes one tag of a 10,000-tag stream rewrites the head
 * and that tag's record only, and no record grows with the number of tags.
 */

const TAGS: string[] = ['f:spec', 'f:tags'];
const tagElement = (name: string) => `k:${JSON.stringify({ name })}`;

/** The managers of a stream, from its head and the records of its spec tags. */
export function managersOf(head: StreamHead, tags: Iterable<TagRecord>): Managers {
  const out: Managers = new Map();
  for (const e of head.managedFields ?? [])
    out.set(managerKey(e.manager, e.operation), {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fields: fromFieldsV1(e.fieldsV1),
    });
  for (const tag of tags) {
    if (!tag.spec || !tag.owners) continue;
    for (const [key, tree] of Object.entries(tag.owners)) {
      const m = out.get(key);
      if (!m) continue;
      for (const p of fromFieldsV1(tree, [...TAGS, tagElement(tag.name)])) m.fields.add(p);
    }
  }
  return out;
}

/**
 * Stores `managers` on the head and the tag records of `tags` (those with a spec): a record whose owners did not
 * change keeps the very same value, so the commit does not rewrite it.
 */
export function storeManagers(head: StreamHead, tags: Map<string, TagRecord>, managers: Managers): void {
  const perTag = new Map<string, Record<string, FieldSet>>();
  const stored: StoredManager[] = [];
  const tagsPrefix = pathKey(TAGS).slice(0, -1);
  for (const [key, m] of managers) {
    const own: FieldSet = new Set();
    for (const p of m.fields) {
      if (!p.startsWith(`${tagsPrefix},`)) {
        own.add(p);
        continue;
      }
      const el = JSON.parse(p)[2] as string;
      const name = (JSON.parse(el.slice(2)) as { name: string }).name;
      const sets = perTag.get(name) ?? {};
      perTag.set(name, sets);
      const set = sets[key] ?? new Set<string>();
      sets[key] = set;
      set.add(p);
    }
    stored.push({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsV1: toFieldsV1(own),
    });
  }
  head.managedFields = stored;
  for (const [name, tag] of tags) {
    const sets = tag.spec ? perTag.get(name) : undefined;
    const owners: Record<string, FieldsV1> = {};
    for (const [key, set] of Object.entries(sets ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const tree = toFieldsV1(set);
      owners[key] = tree['f:spec']!['f:tags']![tagElement(name)]!;
    }
    const next = Object.keys(owners).length ? owners : undefined;
    if (canonicalJson(next) === canonicalJson(tag.owners)) continue;
    if (next) tag.owners = next;
    else delete tag.owners;
  }
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}
