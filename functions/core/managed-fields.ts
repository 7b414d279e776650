import { FieldError, StatusError } from './errors';

/**
 * Field ownership for server-side apply, after Kubernetes' structured-merge-diff: every field of an object has
 * zero or more managers (an `Apply` entry per applier, an `Update` entry per other writer), kept as sets of field
 * paths in the FieldsV1 form `metadata.managedFields` shows. An apply merges the applier's configuration into the
 * live object (lists with map keys element by element), removes what the applier applied last time and no longer
 * does (unless another manager owns it), and is refused with a conflict when it changes a field another manager
 * owns, unless forced (then the field changes hands). Any other write takes ownership of the fields it changed.
 *
 * Pure: objects in, objects and sets out. The schema says which lists are maps keyed by some fields and which
 * values are atomic, the same facts the served OpenAPI declares (`x-kubernetes-list-map-keys`).
 */

/** How a value is merged and owned: a leaf (scalar or atomic), a struct of known fields, a map, a keyed list. */
export type FieldSchema =
  | { type: 'leaf' }
  | { type: 'struct'; fields: Record<string, FieldSchema> }
  | { type: 'map'; values: FieldSchema }
  | { type: 'listMap'; keys: string[]; item: FieldSchema };

/** A path as FieldsV1 names its elements: `f:<field>`, `k:{"name":"x"}` (a keyed list element). */
export type FieldPath = string[];
/** A set of paths, each held as its JSON text so that sets compare by value. */
export type FieldSet = Set<string>;
/** The FieldsV1 tree: `{}` marks a member leaf, `.` a member that also has members below it. */
export type FieldsV1 = { [element: string]: FieldsV1 };

export type Operation = 'Apply' | 'Update';

/** One `metadata.managedFields` entry as Kubernetes serves it. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldsV1;
}

/** An entry with its fields as a set, keyed by {@link managerKey}. */
export interface Manager {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time: string;
  fields: FieldSet;
}

export type Managers = Map<string, Manager>;

const LEAF: FieldSchema = { type: 'leaf' };
const stringMap: FieldSchema = { type: 'map', values: LEAF };

/**
 * What of an ImageStream is owned: labels, annotations and the spec. Everything else of metadata is the server's,
 * and status is written by imports, never by appliers (as Kubernetes ignores status on the main resource).
 * `from` is an ObjectReference, which Kubernetes declares atomic: it changes hands as a whole.
 */
export const IMAGE_STREAM_SCHEMA: FieldSchema = {
  type: 'struct',
  fields: {
    metadata: { type: 'struct', fields: { labels: stringMap, annotations: stringMap } },
    spec: {
      type: 'struct',
      fields: {
        lookupPolicy: { type: 'struct', fields: { local: LEAF } },
        dockerImageRepository: LEAF,
        tags: {
          type: 'listMap',
          keys: ['name'],
          item: {
            type: 'struct',
            fields: {
              name: LEAF,
              annotations: stringMap,
              from: LEAF,
              reference: LEAF,
              generation: LEAF,
              importPolicy: { type: 'struct', fields: { insecure: LEAF, scheduled: LEAF, importMode: LEAF } },
              referencePolicy: { type: 'struct', fields: { type: LEAF } },
            },
          },
        },
      },
    },
  },
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export const pathKey = (path: FieldPath): string => JSON.stringify(path);
export const pathOf = (key: string): FieldPath => JSON.parse(key) as FieldPath;

/** A keyed list element's path element: `k:{"name":"x"}`, keys in the schema's order. */
function itemElement(item: Record<string, unknown>, keys: string[]): string | undefined {
  const picked: Record<string, unknown> = {};
  for (const k of keys) {
    if (item[k] === undefined || item[k] === null) return undefined;
    picked[k] = item[k];
  }
  return `k:${JSON.stringify(picked)}`;
}

/** The text Kubernetes prints for a path in conflicts: `.spec.tags[name="x"].from`. */
export function pathString(path: FieldPath): string {
  return path
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      const keys = JSON.parse(el.slice(2)) as Record<string, unknown>;
      return `[${Object.entries(keys)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    })
    .join('');
}

/**
 * The fields a configuration sets, as an apply owns them: every leaf, every map entry and keyed list element, and
 * struct fields given as `{}` or null; fields outside the schema (apiVersion, kind, the server's metadata, status)
 * are nobody's.
 */
export function fieldSetOf(value: unknown, schema: FieldSchema = IMAGE_STREAM_SCHEMA): FieldSet {
  const out: FieldSet = new Set();
  const walk = (v: unknown, s: FieldSchema, path: FieldPath) => {
    switch (s.type) {
      case 'leaf':
        out.add(pathKey(path));
        return;
      case 'struct':
        if (!isObject(v)) return;
        for (const [name, child] of Object.entries(s.fields)) {
          if (!Object.hasOwn(v, name)) continue;
          const cv = v[name];
          const at = [...path, `f:${name}`];
          if (cv === null || (isObject(cv) && Object.keys(cv).length === 0)) out.add(pathKey(at));
          else walk(cv, child, at);
        }
        return;
      case 'map':
        if (!isObject(v)) return;
        for (const [k, cv] of Object.entries(v)) {
          const at = [...path, `f:${k}`];
          out.add(pathKey(at));
          walk(cv, s.values, at);
        }
        return;
      case 'listMap':
        if (!Array.isArray(v)) return;
        for (const item of v) {
          if (!isObject(item)) continue;
          const el = itemElement(item, s.keys);
          if (!el) continue;
          const at = [...path, el];
          out.add(pathKey(at));
          walk(item, s.item, at);
        }
    }
  };
  walk(value, schema, []);
  return out;
}

/**
 * Every owned node of an object with what it holds: leaves by their JSON value, map entries and keyed list
 * elements (and maps themselves, when not empty) as present. Comparing two of these says what a write added,
 * changed and removed.
 */
function nodesOf(value: unknown, schema: FieldSchema): Map<string, string> {
  const out = new Map<string, string>();
  const PRESENT = '\u0000';
  const walk = (v: unknown, s: FieldSchema, path: FieldPath) => {
    if (v === undefined) return;
    switch (s.type) {
      case 'leaf':
        out.set(pathKey(path), JSON.stringify(v, sortedKeys));
        return;
      case 'struct':
        if (!isObject(v)) {
          if (v === null && path.length) out.set(pathKey(path), 'null');
          return;
        }
        for (const [name, child] of Object.entries(s.fields))
          if (Object.hasOwn(v, name)) walk(v[name], child, [...path, `f:${name}`]);
        return;
      case 'map':
        if (!isObject(v) || Object.keys(v).length === 0) return;
        out.set(pathKey(path), PRESENT);
        for (const [k, cv] of Object.entries(v)) {
          const at = [...path, `f:${k}`];
          out.set(pathKey(at), PRESENT);
          walk(cv, s.values, at);
        }
        return;
      case 'listMap':
        if (!Array.isArray(v)) return;
        for (const item of v) {
          if (!isObject(item)) continue;
          const el = itemElement(item, s.keys);
          if (!el) continue;
          const at = [...path, el];
          out.set(pathKey(at), PRESENT);
          walk(item, s.item, at);
        }
    }
  };
  walk(value, schema, []);
  return out;
}

function sortedKeys(_k: string, v: unknown): unknown {
  return isObject(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** What changed from `before` to `after`, field by field. */
export function compare(
  before: unknown,
  after: unknown,
  schema: FieldSchema = IMAGE_STREAM_SCHEMA,
): Comparison {
  const a = nodesOf(before, schema);
  const b = nodesOf(after, schema);
  const added: FieldSet = new Set();
  const modified: FieldSet = new Set();
  const removed: FieldSet = new Set();
  for (const [k, v] of b) {
    const old = a.get(k);
    if (old === undefined) added.add(k);
    else if (old !== v) modified.add(k);
  }
  for (const k of a.keys()) if (!b.has(k)) removed.add(k);
  return { added, modified, removed };
}

/**
 * The live object with the configuration merged in: structs and maps field by field, keyed lists element by
 * element (new elements after the live ones, in the configuration's order), leaves replaced, null removing.
 * Fields outside the schema are the live object's.
 */
export function merge(live: unknown, config: unknown, schema: FieldSchema = IMAGE_STREAM_SCHEMA): unknown {
  switch (schema.type) {
    case 'leaf':
      return structuredClone(config);
    case 'struct':
    case 'map': {
      if (!isObject(config)) return config === null ? undefined : structuredClone(config);
      const out: Record<string, unknown> = isObject(live) ? { ...live } : {};
      const names = schema.type === 'struct' ? Object.keys(schema.fields) : Object.keys(config);
      for (const name of names) {
        if (!Object.hasOwn(config, name)) continue;
        const child = schema.type === 'struct' ? schema.fields[name]! : schema.values;
        const merged = merge(out[name], config[name], child);
        if (merged === undefined) delete out[name];
        else out[name] = merged;
      }
      return out;
    }
    case 'listMap': {
      if (!Array.isArray(config)) return config === null ? undefined : structuredClone(config);
      const out = Array.isArray(live) ? [...live] : [];
      const position = new Map<string, number>();
      out.forEach((e, i) => {
        const el = isObject(e) ? itemElement(e, schema.keys) : undefined;
        if (el && !position.has(el)) position.set(el, i);
      });
      for (const item of config) {
        if (!isObject(item)) continue;
        const el = itemElement(item, schema.keys);
        const at = el === undefined ? undefined : position.get(el);
        if (at !== undefined) out[at] = merge(out[at], item, schema.item);
        else {
          if (el !== undefined) position.set(el, out.length);
          out.push(merge(undefined, item, schema.item));
        }
      }
      return out;
    }
  }
}

/**
 * `value` without the nodes at `paths` (leaves, map entries, keyed list elements), in one walk: only containers on
 * the way to a removed node are copied, the rest is shared with `value`.
 */
export function removePaths(
  value: unknown,
  paths: FieldPath[],
  schema: FieldSchema = IMAGE_STREAM_SCHEMA,
): unknown {
  const drop = new Set(paths.map(pathKey));
  const below = ancestorsOf(drop);
  const walk = (v: unknown, s: FieldSchema, path: FieldPath): unknown => {
    if (s.type === 'listMap') {
      if (!Array.isArray(v)) return v;
      const out: unknown[] = [];
      for (const item of v) {
        const el = isObject(item) ? itemElement(item, s.keys) : undefined;
        if (!el) {
          out.push(item);
          continue;
        }
        const key = pathKey([...path, el]);
        if (drop.has(key)) continue;
        out.push(below.has(key) ? walk(item, s.item, [...path, el]) : item);
      }
      return out;
    }
    if (s.type === 'leaf' || !isObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, cv] of Object.entries(v)) {
      const child = s.type === 'struct' ? s.fields[k] : s.values;
      const at = [...path, `f:${k}`];
      const key = pathKey(at);
      if (child && drop.has(key)) continue;
      out[k] = child && below.has(key) ? walk(cv, child, at) : cv;
    }
    return out;
  };
  return drop.size ? walk(value, schema, []) : value;
}

/** `manager` + operation: the identity of an entry (an applier and the same tool's other writes are two). */
export const managerKey = (manager: string, operation: Operation) => `${operation}:${manager}`;

const union = (...sets: FieldSet[]) => {
  const out: FieldSet = new Set();
  for (const s of sets) for (const k of s) out.add(k);
  return out;
};

/** Every path that has a member of `fields` strictly below it (linear in the paths, not their pairs). */
function ancestorsOf(fields: FieldSet): FieldSet {
  const out: FieldSet = new Set();
  for (const p of fields) {
    const path = pathOf(p);
    for (let n = path.length - 1; n > 0; n--) {
      const key = pathKey(path.slice(0, n));
      if (out.has(key)) break;
      out.add(key);
    }
  }
  return out;
}

export interface Conflict {
  manager: Manager;
  path: FieldPath;
}

/** Kubernetes' words for a refused apply: one conflict inline, several listed per manager. */
export function conflictError(conflicts: Conflict[]): StatusError {
  const who = (m: Manager) =>
    m.operation === 'Update'
      ? `${JSON.stringify(m.manager)} using ${m.apiVersion}`
      : JSON.stringify(m.manager);
  let message: string;
  if (conflicts.length === 1) {
    const [c] = conflicts;
    message = `Apply failed with 1 conflict: conflict with ${who(c!.manager)}: ${pathString(c!.path)}`;
  } else {
    const lines: string[] = [];
    let last: Manager | undefined;
    for (const c of conflicts) {
      if (c.manager !== last) lines.push(`conflicts with ${who(c.manager)}:`);
      last = c.manager;
      lines.push(`- ${pathString(c.path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, {
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${who(c.manager)}`,
      field: pathString(c.path),
    })),
  });
}

function copyManagers(managers: Managers): Managers {
  return new Map([...managers].map(([k, m]) => [k, { ...m, fields: new Set(m.fields) }]));
}

/**
 * Takes the fields `changed` from every manager but `except` (forced conflicts, or what another write changed),
 * and drops what the write removed; managers left with nothing are gone.
 */
function settle(managers: Managers, except: string, take: FieldSet, removed: FieldSet): void {
  for (const [key, m] of managers) {
    if (key === except) continue;
    for (const k of [...m.fields]) if (take.has(k) || removed.has(k)) m.fields.delete(k);
  }
  for (const [key, m] of managers) if (m.fields.size === 0) managers.delete(key);
}

export interface ApplyInput {
  /** The live object (undefined: the apply creates it). */
  live: unknown;
  config: unknown;
  managers: Managers;
  manager: string;
  force: boolean;
  apiVersion: string;
  now: string;
  schema?: FieldSchema;
  /** Conflicts that do not stop this apply (see {@link lastAppliedFields}): if all are among them, it is forced. */
  allowedConflicts?: FieldSet;
}

/** The annotation client-side `kubectl apply` keeps its configuration in. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The fields client-side `kubectl apply` configured (its last-applied annotation) whose live values are still what
 * it set. kube-apiserver lets `kubectl apply --server-side` take exactly these without `--force-conflicts`, so an
 * object moves from client-side to server-side apply without conflicts where nothing else changed it.
 */
export function lastAppliedFields(live: unknown, schema: FieldSchema = IMAGE_STREAM_SCHEMA): FieldSet {
  const text = (live as { metadata?: { annotations?: Record<string, unknown> } } | undefined)?.metadata
    ?.annotations?.[LAST_APPLIED];
  const out: FieldSet = new Set();
  if (typeof text !== 'string') return out;
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(text);
  } catch {
    return out;
  }
  const was = nodesOf(lastApplied, schema);
  const is = nodesOf(live, schema);
  for (const p of fieldSetOf(lastApplied, schema)) if (was.has(p) && was.get(p) === is.get(p)) out.add(p);
  return out;
}

/**
 * A server-side apply: the object to write and its managers after, or a 409 naming every field another manager
 * owns that the apply would change (unless `force`, which moves those fields to the applier).
 */
export function apply(input: ApplyInput): { object: unknown; managers: Managers; changed: boolean } {
  const schema = input.schema ?? IMAGE_STREAM_SCHEMA;
  const key = managerKey(input.manager, 'Apply');
  const managers = copyManagers(input.managers);
  const last = managers.get(key)?.fields ?? new Set<string>();
  const applied = fieldSetOf(input.config, schema);
  const merged = merge(input.live ?? {}, input.config, schema);

  // Prune: what this applier applied last time and no longer does goes, unless someone (the applier included, in
  // what it applies now) still owns it or something below it.
  const owned = union(applied, ...[...managers].filter(([k]) => k !== key).map(([, m]) => m.fields));
  const ownedBelow = ancestorsOf(owned);
  const disowned = [...last]
    .filter((p) => !owned.has(p) && !ownedBelow.has(p))
    .map(pathOf)
    .sort((a, b) => a.length - b.length);
  const object = removePaths(merged, disowned, schema);

  const diff = compare(input.live ?? {}, object, schema);
  const changed = union(diff.added, diff.modified);
  const conflicts: Conflict[] = [];
  for (const [k, m] of [...managers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (k === key) continue;
    for (const p of [...m.fields].sort()) if (changed.has(p)) conflicts.push({ manager: m, path: pathOf(p) });
  }
  const allowed = input.allowedConflicts;
  const forced =
    input.force ||
    (conflicts.length > 0 && !!allowed && conflicts.every((c) => allowed.has(pathKey(c.path))));
  if (conflicts.length && !forced)
    throw conflictError(allowed ? conflicts.filter((c) => !allowed.has(pathKey(c.path))) : conflicts);
  settle(managers, key, changed, diff.removed);

  const unchanged = changed.size === 0 && diff.removed.size === 0 && sameSet(last, applied);
  const previous = managers.get(key);
  managers.delete(key);
  if (applied.size)
    managers.set(key, {
      manager: input.manager,
      operation: 'Apply',
      apiVersion: input.apiVersion,
      time: unchanged && previous ? previous.time : input.now,
      fields: applied,
    });
  return { object, managers: capUpdateManagers(managers), changed: !unchanged };
}

const sameSet = (a: FieldSet, b: FieldSet) => a.size === b.size && [...a].every((k) => b.has(k));

export interface UpdateInput {
  before: unknown;
  after: unknown;
  managers: Managers;
  manager: string;
  apiVersion: string;
  now: string;
  schema?: FieldSchema;
}

/**
 * Any write but an apply: its manager owns what it added or changed (taking it from whoever owned it) and loses
 * what it removed, as do the others.
 */
export function update(input: UpdateInput): Managers {
  const schema = input.schema ?? IMAGE_STREAM_SCHEMA;
  const key = managerKey(input.manager, 'Update');
  const managers = copyManagers(input.managers);
  const diff = compare(input.before ?? {}, input.after, schema);
  const changed = union(diff.added, diff.modified);
  settle(managers, key, changed, diff.removed);
  const previous = managers.get(key);
  const fields = union(previous?.fields ?? new Set(), changed);
  for (const k of diff.removed) fields.delete(k);
  managers.delete(key);
  if (fields.size)
    managers.set(key, {
      manager: input.manager,
      operation: 'Update',
      apiVersion: input.apiVersion,
      time: changed.size || diff.removed.size || !previous ? input.now : previous.time,
      fields,
    });
  return capUpdateManagers(managers);
}

/** How many Update managers an object keeps, as kube-apiserver's default (appliers are never merged). */
export const MAX_UPDATE_MANAGERS = 10;
/** The manager the oldest Update managers are merged into beyond {@link MAX_UPDATE_MANAGERS}, as kube-apiserver names it. */
export const ANCIENT_CHANGES = 'ancient-changes';

/**
 * Keeps managedFields bounded however many clients write an object: beyond {@link MAX_UPDATE_MANAGERS} Update
 * managers, the oldest are merged, fields and all, into one {@link ANCIENT_CHANGES} Update entry carrying the newest
 * merged time (kube-apiserver's capManagersManager). Without it every distinct `fieldManager` or User-Agent adds an
 * entry for good.
 */
export function capUpdateManagers(managers: Managers, max = MAX_UPDATE_MANAGERS): Managers {
  const bucketKey = managerKey(ANCIENT_CHANGES, 'Update');
  const updaters = [...managers.entries()]
    .filter(([, m]) => m.operation === 'Update')
    .sort(([, a], [, b]) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  let count = updaters.length;
  for (const [key, m] of updaters) {
    if (count <= max) break;
    if (key === bucketKey) continue;
    const bucket = managers.get(bucketKey);
    if (!bucket) {
      // The oldest becomes the bucket, as it is; the next ones merge into it.
      managers.delete(key);
      managers.set(bucketKey, { ...m, manager: ANCIENT_CHANGES, fields: new Set(m.fields) });
      continue;
    }
    for (const f of m.fields) bucket.fields.add(f);
    if (m.time > bucket.time) bucket.time = m.time;
    bucket.apiVersion = m.apiVersion;
    managers.delete(key);
    count--;
  }
  return managers;
}

/** A FieldsV1 tree from a set of paths. */
export function toFieldsV1(fields: FieldSet): FieldsV1 {
  const root: FieldsV1 = {};
  const members: FieldPath[] = [...fields].map(pathOf);
  for (const path of members) {
    let node = root;
    for (const el of path) node = node[el] ??= {};
  }
  // A member with members below it says so with `.`.
  for (const path of members) {
    let node = root;
    for (const el of path) node = node[el]!;
    if (Object.keys(node).length && !('.' in node)) node['.'] = {};
  }
  return sortTree(root);
}

function sortTree(node: FieldsV1): FieldsV1 {
  return Object.fromEntries(
    Object.keys(node)
      .sort()
      .map((k) => [k, sortTree(node[k]!)]),
  );
}

/** The set of paths a FieldsV1 tree holds (`prefix` is prepended to each). */
export function fromFieldsV1(tree: FieldsV1, prefix: FieldPath = []): FieldSet {
  const out: FieldSet = new Set();
  const walk = (node: FieldsV1, path: FieldPath) => {
    const children = Object.keys(node).filter((k) => k !== '.');
    if ('.' in node || children.length === 0) if (path.length) out.add(pathKey(path));
    for (const k of children) walk(node[k]!, [...path, k]);
  };
  walk(tree, prefix);
  return out;
}

/** The entries as `metadata.managedFields` serves them, in the order Kubernetes keeps (oldest entry first). */
export function toEntries(managers: Managers): ManagedFieldsEntry[] {
  return [...managers.values()].map((m) => ({
    manager: m.manager,
    operation: m.operation,
    apiVersion: m.apiVersion,
    time: m.time,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(m.fields),
  }));
}

export function fromEntries(entries: ManagedFieldsEntry[]): Managers {
  return new Map(
    entries.map((e) => [
      managerKey(e.manager, e.operation),
      {
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        time: e.time,
        fields: fromFieldsV1(e.fieldsV1),
      },
    ]),
  );
}

/**
 * The managers a write asks for by sending `metadata.managedFields` (kubectl does, to hand a client-side applier's
 * fields to its server-side applier): undefined when it sends none (or an empty list), which keeps the stored ones;
 * entries without a manager are dropped, so `[{}]` clears them all. A malformed entry is a field error.
 */
export function requestedManagers(value: unknown): { managers?: Managers; errors: FieldError[] } {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0))
    return { errors: [] };
  const errors: FieldError[] = [];
  if (!Array.isArray(value))
    return { errors: [FieldError.invalid('metadata.managedFields', value, 'must be a list of entries')] };
  const managers: Managers = new Map();
  value.forEach((e, i) => {
    const at = `metadata.managedFields[${i}]`;
    if (!isObject(e)) {
      errors.push(FieldError.invalid(at, e, 'must be an object'));
      return;
    }
    if (!e.manager && !e.operation && !e.fieldsV1) return;
    if (typeof e.manager !== 'string') errors.push(FieldError.required(`${at}.manager`));
    if (e.operation !== 'Apply' && e.operation !== 'Update')
      errors.push(FieldError.notSupported(`${at}.operation`, e.operation, ['Apply', 'Update']));
    if (e.fieldsType !== undefined && e.fieldsType !== 'FieldsV1')
      errors.push(FieldError.notSupported(`${at}.fieldsType`, e.fieldsType, ['FieldsV1']));
    if (e.fieldsV1 !== undefined && !isFieldsV1(e.fieldsV1))
      errors.push(FieldError.invalid(`${at}.fieldsV1`, '', 'must be a FieldsV1 tree of objects'));
    if (errors.length) return;
    const operation = e.operation as Operation;
    managers.set(managerKey(e.manager as string, operation), {
      manager: e.manager as string,
      operation,
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
      time: typeof e.time === 'string' ? e.time : '',
      fields: fromFieldsV1((e.fieldsV1 as FieldsV1 | undefined) ?? {}),
    });
  });
  return errors.length ? { errors } : { managers, errors };
}

function isFieldsV1(v: unknown, depth = 0): boolean {
  if (!isObject(v) || depth > 64) return false;
  return Object.values(v).every((c) => isFieldsV1(c, depth + 1));
}
