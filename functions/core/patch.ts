/** RFC 7386 JSON merge patch: objects merge recursively, `null` removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const base: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

/**
 * Strategic merge patch for the ImageStream shape: like a merge patch, except that the lists Kubernetes
 * declares with a patch merge key (`spec.tags` by `name`, `status.tags` by `tag`) merge element by element, and
 * an element with `"$patch": "delete"` removes the element with its key.
 */
export function strategicMergePatch(target: unknown, patch: unknown, path: string[] = []): unknown {
  if (patch === null || typeof patch !== 'object') return structuredClone(patch);
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[path.join('.')];
    if (!key || !Array.isArray(target)) return structuredClone(patch);
    const out = (target as Record<string, unknown>[]).map((e) => ({ ...e }));
    for (const el of patch as Record<string, unknown>[]) {
      const idx = out.findIndex((e) => e[key] === el?.[key]);
      if (el?.$patch === 'delete') {
        if (idx >= 0) out.splice(idx, 1);
      } else if (idx >= 0)
        out[idx] = strategicMergePatch(out[idx], el, [...path, '[]']) as Record<string, unknown>;
      else out.push(el);
    }
    return out;
  }
  const base: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch') continue;
    if (v === null) delete base[k];
    else base[k] = strategicMergePatch(base[k], v, [...path, k]);
  }
  return base;
}

const MERGE_KEYS: Record<string, string> = { 'spec.tags': 'name', 'status.tags': 'tag' };
