import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { badRequest, unsupportedMediaType } from '../core/errors';

/**
 * Reading request bodies at the edge, before any use case sees them: the media type must be one the endpoint
 * takes (415 otherwise), and a body nested deeper than {@link MAX_BODY_DEPTH} or carrying a `__proto__` key is
 * refused (400) before anything parses or walks it, so no recursive code further in can overflow the stack and no
 * key can reach an object's prototype.
 */

/** Far deeper than any object of this API (an Image's metadata is the deepest, under ten levels). */
export const MAX_BODY_DEPTH = 64;

/** What a body is to its endpoint: an object (creates, updates, DeleteOptions), a patch, a registry's notification. */
export type BodyKind = 'object' | 'patch' | 'notification';

type Reader = (text: string) => unknown;

/**
 * The media types bodies may come in, the kind of body each is taken for, and how it is read. A new format is one
 * more line here.
 */
const MEDIA_TYPES: ReadonlyArray<{ type: string; kind: BodyKind; read: Reader }> = [
  { type: 'application/json', kind: 'object', read: readJson },
  { type: 'application/yaml', kind: 'object', read: readYaml },
  // What curl users and older tools label YAML with; kube-apiserver takes only application/yaml, this also.
  { type: 'application/x-yaml', kind: 'object', read: readYaml },
  { type: 'application/merge-patch+json', kind: 'patch', read: readJson },
  { type: 'application/json-patch+json', kind: 'patch', read: readJson },
  { type: 'application/strategic-merge-patch+json', kind: 'patch', read: readJson },
  // Server-side apply: the whole intended object, YAML (JSON is YAML too, and is what kubectl sends).
  { type: 'application/apply-patch+yaml', kind: 'patch', read: readYaml },
];

/** Registries label JSON with types of their own (`application/vnd.docker.distribution.events.v1+json`). */
const JSON_SUFFIX = /^application\/[\w.+-]+\+json$/;

/** `application/json; charset=utf-8` → `application/json`; no header is JSON, as Kubernetes takes it. */
export function mediaTypeOf(contentType: string | undefined): string {
  const essence = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return essence || 'application/json';
}

function readerFor(type: string, kind: BodyKind): Reader | undefined {
  if (kind === 'notification')
    return type === 'application/json' || JSON_SUFFIX.test(type) ? readJson : undefined;
  return MEDIA_TYPES.find((m) => m.type === type && m.kind === kind)?.read;
}

function typesFor(kind: BodyKind): string[] {
  if (kind === 'notification') return ['application/json', 'application/*+json'];
  return MEDIA_TYPES.filter((m) => m.kind === kind).map((m) => m.type);
}

/**
 * The body of a request as a value, or undefined when there is none (absent or blank). Refuses a media type the
 * endpoint does not take for this kind of body (415), text that is not JSON, nested too deep or with a `__proto__`
 * key (400).
 */
export function readBody(text: string | undefined, contentType: string | undefined, kind: BodyKind): unknown {
  if (text === undefined || !text.trim()) return undefined;
  const read = readerFor(mediaTypeOf(contentType), kind);
  if (!read) throw unsupportedMediaType(contentType ?? '', typesFor(kind));
  return read(text);
}

function readJson(text: string): unknown {
  const depth = jsonDepth(text, MAX_BODY_DEPTH);
  if (depth > MAX_BODY_DEPTH)
    throw badRequest(
      `the request body is nested more than ${MAX_BODY_DEPTH} levels deep, deeper than any object of this API`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
  const where = prototypeKeyPath(value);
  if (where !== undefined)
    throw badRequest(
      `the request body has a key "__proto__"${where ? ` in ${where}` : ''}; no field of this API takes that key`,
    );
  return value;
}

/**
 * One YAML document (YAML 1.2 core schema, as JSON would read it: `yes` and dates stay strings), held to the same
 * limits as JSON: at most {@link MAX_BODY_DEPTH} levels, no `__proto__` key. Aliases are capped twice: at most 100
 * per document, and the value they expand to may hold no more values than the text has characters (what a body
 * without aliases could hold at most), so an alias bomb is refused before anything walks or serializes it. Anything
 * the parser refuses (several documents, duplicate keys, nesting past its own limit) is 400.
 */
function readYaml(text: string): unknown {
  let value: unknown;
  try {
    // js-yaml keeps an alias as a reference to its anchor's value: nothing expands while parsing.
    value = loadYaml(text, { schema: CORE_SCHEMA, maxAliases: 100 });
  } catch (e) {
    const first = (e as Error).message.split('\n')[0];
    throw badRequest(`the request body is not valid YAML: ${first}`);
  }
  const valueLimit = Math.max(text.length, 1000);
  const shape = valueShape(value, MAX_BODY_DEPTH, valueLimit);
  if (shape.values > valueLimit)
    throw badRequest(
      'the request body is not valid YAML: its aliases expand to more values than the text holds',
    );
  if (shape.depth > MAX_BODY_DEPTH)
    throw badRequest(
      `the request body is nested more than ${MAX_BODY_DEPTH} levels deep, deeper than any object of this API`,
    );
  const where = prototypeKeyPath(value);
  if (where !== undefined)
    throw badRequest(
      `the request body has a key "__proto__"${where ? ` in ${where}` : ''}; no field of this API takes that key`,
    );
  return value;
}

/**
 * How deeply a parsed value nests objects and arrays, and how many values it holds with every shared reference
 * counted each time it is reached (as serializing would); without recursion, and stops once past either limit.
 */
function valueShape(
  value: unknown,
  depthLimit: number,
  valueLimit: number,
): { depth: number; values: number } {
  let depth = 0;
  let values = 0;
  const pending: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (++values > valueLimit) break;
    if (next.v === null || typeof next.v !== 'object') continue;
    const level = next.depth + 1;
    if (level > depth) depth = level;
    if (depth > depthLimit) break;
    for (const item of Object.values(next.v)) pending.push({ v: item, depth: level });
  }
  return { depth, values };
}

/**
 * How deeply the JSON text nests objects and arrays, counted without parsing (brackets inside strings do not
 * count); stops counting once past `limit`. Text that is not JSON is measured all the same; JSON.parse rejects it
 * afterwards.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** The path of the first own `__proto__` key in a parsed body (`''` at the top), or undefined when there is none. */
function prototypeKeyPath(value: unknown): string | undefined {
  const pending: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const v = next.value;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        pending.push({ value: item, path: `${next!.path}[${i}]` });
      });
      continue;
    }
    if (Object.hasOwn(v, '__proto__')) return next.path;
    for (const [k, item] of Object.entries(v))
      pending.push({ value: item, path: next.path ? `${next.path}.${k}` : k });
  }
  return undefined;
}

/**
 * The keys JSON text gives more than once in one object, by their path (`metadata.name`, `spec.tags[0].name`), in
 * the order met: JSON.parse keeps the last silently, kube-apiserver's `fieldValidation` reports them. Scans the text
 * once without parsing; text that is not JSON yields nonsense that JSON.parse refuses anyway.
 */
export function duplicateJsonKeys(text: string): string[] {
  type Frame = { object: boolean; path: string; keys: Set<string>; index: number; key?: string };
  const out: string[] = [];
  const stack: Frame[] = [];
  const childPath = (f: Frame | undefined) =>
    !f ? '' : f.object ? (f.path ? `${f.path}.${f.key}` : (f.key ?? '')) : `${f.path}[${f.index}]`;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (expectKey && top?.object) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          key = text.slice(i + 1, j);
        }
        if (top.keys.has(key)) out.push(top.path ? `${top.path}.${key}` : key);
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      const path = childPath(stack.at(-1));
      stack.push({ object: c === '{', path, keys: new Set(), index: 0 });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack.at(-1);
      if (top?.object) expectKey = true;
      else if (top) top.index++;
    }
  }
  return out;
}
