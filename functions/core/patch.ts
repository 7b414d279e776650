import { badRequest } from './errors';

/**
 * Patches nest no deeper than the objects they apply to; anything deeper is refused here rather than recursed
 * into (request bodies are already bounded at the edge, functions/http/body.ts).
 */
export const MAX_PATCH_DEPTH = 64;

function tooDeep(): never {
  throw badRequest(`the patch is nested more than ${MAX_PATCH_DEPTH} levels deep`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The target's own value under `key` (never one inherited from Object.prototype, such as `constructor`). */
const own = (target: Record<string, unknown>, key: string) =>
  Object.hasOwn(target, key) ? target[key] : undefined;

/** A copy of an object's own keys on which any key, `__proto__` included, is plain data. */
function copyOf(target: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (isObject(target)) for (const [k, v] of Object.entries(target)) define(out, k, v);
  return out;
}

function define(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown, depth = 0): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  if (depth >= MAX_PATCH_DEPTH) tooDeep();
  const base = copyOf(target);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else define(base, k, mergePatch(own(base, k), v, depth + 1));
  }
  return base;
}

/** The lists Kubernetes declares with a patch merge key, by their path. */
const MERGE_KEYS: ReadonlyMap<string, string> = new Map([
  ['spec.tags', 'name'],
  ['status.tags', 'tag'],
]);

/**
 * Strategic merge patch for the ImageStream shape: like a merge patch, except that the lists Kubernetes
 * declares with a patch merge key (`spec.tags` by `name`, `status.tags` by `tag`) merge element by element, and
 * an element with `"$patch": "delete"` removes the element with its key.
 */
export function strategicMergePatch(target: unknown, patch: unknown, path: string[] = []): unknown {
  if (patch === null || typeof patch !== 'object') return structuredClone(patch);
  if (path.length >= MAX_PATCH_DEPTH) tooDeep();
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS.get(path.join('.'));
    if (!key || !Array.isArray(target)) return structuredClone(patch);
    const out = target.map((e) => copyOf(e));
    for (const el of patch as unknown[]) {
      const element = isObject(el) ? el : undefined;
      const idx = out.findIndex((e) => own(e, key) === (element && own(element, key)));
      if (element && own(element, '$patch') === 'delete') {
        if (idx >= 0) out.splice(idx, 1);
      } else if (idx >= 0)
        out[idx] = strategicMergePatch(out[idx], el, [...path, '[]']) as Record<string, unknown>;
      else out.push(structuredClone(el) as Record<string, unknown>);
    }
    return out;
  }
  const base = copyOf(target);
  for (const [k, v] of Object.entries(patch)) {
    // Directives, not fields: `$patch`, and the `$setElementOrder/<list>` kubectl's apply sends with list changes
    // (spec tags are served sorted by name, so the order it asks for changes nothing); never stored.
    if (k === '$patch' || k.startsWith('$setElementOrder/') || k === '$retainKeys') continue;
    if (v === null) delete base[k];
    else define(base, k, strategicMergePatch(own(base, k), v, [...path, k]));
  }
  return base;
}
