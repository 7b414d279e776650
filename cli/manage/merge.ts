/**
 * What `apply` computes, as kubectl does: a three-way merge of the file into the live object, with the
 * configuration applied last time (the `kubectl.kubernetes.io/last-applied-configuration` annotation, which oc
 * and kubectl write too) telling which fields the file owned. So fields the server or other commands set
 * (`openshift.io/image.dockerRepositoryCheck`, a tag added by `isctl tag`, an import's `importMode`) survive an
 * apply, and fields removed from the file are removed from the object. Spec tags merge by name, as
 * OpenShift's strategic merge patch does (`patchMergeKey=name`).
 *
 * Then "would anything change?": both sides are compared in the form the server stores, so an apply of an
 * unchanged file is `unchanged` and writes nothing.
 */

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export type JsonMap = Record<string, unknown>;

export function isMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `file` merged into `live`. Maps merge key by key; a key that `last` had and `file` no longer has is removed,
 * as is a key the file sets to null; lists whose path is in `keyed` merge item by item on that key (items the
 * last configuration had and the file dropped are removed, items someone else added are kept); other lists
 * and scalars are the file's. Returns undefined for "remove this field".
 */
export function merge3(
  live: unknown,
  file: unknown,
  last: unknown,
  keyed: Record<string, string> = {},
  path = '',
): unknown {
  if (file === null) return undefined;
  if (isMap(file)) {
    const out: JsonMap = isMap(live) ? { ...live } : {};
    const before = isMap(last) ? last : {};
    for (const [k, v] of Object.entries(file)) {
      const merged = merge3(out[k], v, before[k], keyed, path ? `${path}.${k}` : k);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
    for (const k of Object.keys(before)) if (!(k in file)) delete out[k];
    return out;
  }
  const key = keyed[path];
  if (Array.isArray(file) && key) {
    // Duplicate names collapse, last wins, as the server reads spec tags.
    const byKey = (xs: unknown) =>
      new Map((Array.isArray(xs) ? xs : []).filter(isMap).map((x) => [String(x[key]), x] as const));
    const wanted = byKey(file);
    const before = byKey(last);
    const out: unknown[] = [];
    const done = new Set<string>();
    for (const item of Array.isArray(live) ? live : []) {
      if (!isMap(item)) continue;
      const k = String(item[key]);
      if (wanted.has(k)) {
        out.push(merge3(item, wanted.get(k), before.get(k), keyed, `${path}[]`));
        done.add(k);
      } else if (!before.has(k)) {
        out.push(item);
      }
    }
    for (const [k, item] of wanted)
      if (!done.has(k)) out.push(merge3(undefined, item, before.get(k), keyed, `${path}[]`));
    return out;
  }
  return structuredClone(file);
}

/** Labels and annotations: the live map with the file's keys over it and the keys the file dropped removed. */
export function mergeStringMap(
  live: unknown,
  file: unknown,
  last: unknown,
): Record<string, string> | undefined {
  const merged = merge3(isMap(live) ? live : {}, isMap(file) ? file : {}, isMap(last) ? last : {});
  return isMap(merged) && Object.keys(merged).length > 0 ? (merged as Record<string, string>) : undefined;
}

/** JSON with sorted keys: two values are the same when their canonical forms are. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    isMap(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const nonEmpty = (m: unknown) => (isMap(m) && Object.keys(m).length > 0 ? m : null);

/**
 * A spec tag as the server stores it (functions/core/imagestream/spec-rules.ts normalizeTagReference), minus
 * the server-owned generation, except that generation 0 ("import again") is a change in itself. An empty
 * importMode stands for the server's default; `liveImportMode` fills it in for the comparison.
 */
export function tagForm(tag: JsonMap, liveImportMode?: unknown): JsonMap {
  const from = isMap(tag.from) ? tag.from : undefined;
  const ip = isMap(tag.importPolicy) ? tag.importPolicy : {};
  const rp = isMap(tag.referencePolicy) ? tag.referencePolicy : {};
  return {
    name: tag.name,
    annotations: nonEmpty(tag.annotations),
    from: from
      ? {
          kind: from.kind || undefined,
          name: from.name || undefined,
          namespace: from.namespace || undefined,
        }
      : null,
    reference: Boolean(tag.reference),
    reimport: tag.generation === 0,
    insecure: Boolean(ip.insecure),
    scheduled: Boolean(ip.scheduled),
    importMode: ip.importMode || liveImportMode || '',
    referencePolicy: rp.type || 'Source',
  };
}

function tagsOf(spec: unknown): Map<string, JsonMap> {
  const tags = isMap(spec) && Array.isArray(spec.tags) ? spec.tags : [];
  return new Map(tags.filter(isMap).map((t) => [String(t.name), t] as const));
}

/** Whether writing `desired` over `live` (both ImageStreams) would change nothing the user can see. */
export function sameImageStream(desired: JsonMap, live: JsonMap): boolean {
  const view = (s: JsonMap, other?: Map<string, JsonMap>) => {
    const meta = isMap(s.metadata) ? s.metadata : {};
    const spec = isMap(s.spec) ? s.spec : {};
    const tags = [...tagsOf(spec)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return canonical({
      labels: nonEmpty(meta.labels),
      annotations: nonEmpty(meta.annotations),
      lookupLocal: Boolean(isMap(spec.lookupPolicy) && spec.lookupPolicy.local),
      dockerImageRepository: spec.dockerImageRepository || '',
      tags: tags.map(([name, t]) => {
        const liveTag = other?.get(name);
        const liveMode = isMap(liveTag?.importPolicy) ? liveTag.importPolicy.importMode : undefined;
        return tagForm(t, liveMode);
      }),
    });
  };
  return view(desired, tagsOf(live.spec)) === view(live);
}

/** Whether a spec tag written as `desired` would leave `live` as it is. */
export function sameTag(desired: JsonMap, live: JsonMap): boolean {
  const liveMode = isMap(live.importPolicy) ? live.importPolicy.importMode : undefined;
  return canonical(tagForm(desired, liveMode)) === canonical(tagForm(live));
}

/** Subjects as the server stores them: apiGroup implied for users and groups, a service account's namespace. */
function subjectForms(subjects: unknown, namespace: string): string[] {
  return (Array.isArray(subjects) ? subjects : [])
    .filter(isMap)
    .map((s) =>
      s.kind === 'ServiceAccount'
        ? `ServiceAccount/${s.namespace || namespace}/${s.name}`
        : `${s.kind}/${s.name}/${s.apiGroup || 'rbac.authorization.k8s.io'}`,
    );
}

/** Whether writing `desired` over `live` (both RoleBindings in `namespace`) would change nothing. */
export function sameRoleBinding(desired: JsonMap, live: JsonMap, namespace: string): boolean {
  const view = (b: JsonMap) => {
    const meta = isMap(b.metadata) ? b.metadata : {};
    const ref = isMap(b.roleRef) ? b.roleRef : {};
    return canonical({
      labels: nonEmpty(meta.labels),
      annotations: nonEmpty(meta.annotations),
      role: [ref.kind, ref.name],
      subjects: subjectForms(b.subjects, namespace),
    });
  };
  return view(desired) === view(live);
}

/** The applied configuration as stored in {@link LAST_APPLIED}, or undefined when absent or unreadable. */
export function lastApplied(live: JsonMap): JsonMap | undefined {
  const meta = isMap(live.metadata) ? live.metadata : {};
  const raw = isMap(meta.annotations) ? meta.annotations[LAST_APPLIED] : undefined;
  if (typeof raw !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isMap(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
