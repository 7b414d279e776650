import { UsageError } from './errors';

/**
 * kubectl's `-o jsonpath=TEMPLATE` (k8s.io/client-go/util/jsonpath): text with `{…}` actions. An action is a path
 * from the current object (`.metadata.name`, `.items[*].metadata.name`, `.items[0]`, `['a.b']`, `.a\.b`,
 * `[?(@.name=="x")]`, `.*`), a string literal (`{"\n"}`), or `{range PATH}…{end}`, which renders its body for each
 * value. Several values of one action print separated by spaces; strings print as they are, other values as JSON;
 * missing fields print nothing (kubectl's default, --allow-missing-template-keys).
 */

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'path'; path: string }
  | { kind: 'range'; path: string; body: Node[] };

export function renderJsonPath(template: string, data: unknown): string {
  const [nodes, rest] = parse(tokens(template), 0);
  if (rest !== undefined) throw new UsageError(`error parsing jsonpath ${template}: unexpected {end}`);
  return render(nodes, data);
}

function tokens(template: string): Array<{ action: boolean; text: string }> {
  const out: Array<{ action: boolean; text: string }> = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      out.push({ action: false, text: template.slice(i) });
      break;
    }
    if (open > i) out.push({ action: false, text: template.slice(i, open) });
    let close = open + 1;
    let quote: string | undefined;
    for (; close < template.length; close++) {
      const c = template[close]!;
      if (quote) {
        if (c === '\\') close++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '}') break;
    }
    if (close >= template.length) throw new UsageError(`error parsing jsonpath ${template}: unclosed action`);
    out.push({ action: true, text: template.slice(open + 1, close).trim() });
    i = close + 1;
  }
  return out;
}

/** Nodes up to the next `{end}`; returns the index after it, or undefined when the template ended first. */
function parse(toks: Array<{ action: boolean; text: string }>, start: number): [Node[], number | undefined] {
  const nodes: Node[] = [];
  for (let i = start; i < toks.length; i++) {
    const t = toks[i]!;
    if (!t.action) nodes.push({ kind: 'text', text: t.text });
    else if (t.text === 'end') return [nodes, i + 1];
    else if (t.text.startsWith('range ')) {
      const [body, next] = parse(toks, i + 1);
      if (next === undefined) throw new UsageError('error parsing jsonpath: {range} without {end}');
      nodes.push({ kind: 'range', path: t.text.slice(6).trim(), body });
      i = next - 1;
    } else if (/^".*"$|^'.*'$/s.test(t.text)) nodes.push({ kind: 'text', text: unquote(t.text) });
    else nodes.push({ kind: 'path', path: t.text });
  }
  return [nodes, undefined];
}

function unquote(s: string): string {
  const body = s.slice(1, -1);
  return body.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

function render(nodes: Node[], data: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'path') out += evaluate(n.path, data).map(show).join(' ');
    else for (const v of evaluate(n.path, data)) out += render(n.body, v);
  }
  return out;
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The values `path` selects from `data` (the `$` or `@` of the template). */
export function evaluate(path: string, data: unknown): unknown[] {
  let current: unknown[] = [data];
  let i = 0;
  const p = path.replace(/^[$@]/, '');
  while (i < p.length) {
    const c = p[i]!;
    if (c === '.') {
      i++;
      if (p[i] === '*') {
        i++;
        current = current.flatMap((v) => (v && typeof v === 'object' ? Object.values(v) : []));
        continue;
      }
      let key = '';
      while (i < p.length && p[i] !== '.' && p[i] !== '[') {
        if (p[i] === '\\' && i + 1 < p.length) i++;
        key += p[i++];
      }
      if (key) current = current.flatMap((v) => field(v, key));
    } else if (c === '[') {
      const close = closing(p, i);
      const inner = p.slice(i + 1, close).trim();
      i = close + 1;
      current = current.flatMap((v) => subscript(v, inner, path));
    } else throw new UsageError(`error parsing jsonpath {${path}}: unexpected "${c}"`);
  }
  return current;
}

function closing(p: string, open: number): number {
  let quote: string | undefined;
  for (let i = open + 1; i < p.length; i++) {
    const c = p[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ']') return i;
  }
  throw new UsageError(`error parsing jsonpath {${p}}: unclosed [`);
}

function field(v: unknown, key: string): unknown[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, key)) return [];
  return [(v as Record<string, unknown>)[key]];
}

function subscript(v: unknown, inner: string, path: string): unknown[] {
  if (/^['"].*['"]$/.test(inner)) return field(v, inner.slice(1, -1));
  if (!Array.isArray(v)) return [];
  if (inner === '*') return v;
  if (/^-?\d+$/.test(inner)) {
    const n = Number(inner);
    const item = v[n < 0 ? v.length + n : n];
    return item === undefined ? [] : [item];
  }
  const filter =
    /^\?\(\s*(@[^=!<>]*?)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(-?\d+(?:\.\d+)?|true|false))\s*\)$/.exec(inner);
  if (filter) {
    const want = filter[3] ?? filter[4] ?? JSON.parse(filter[5]!);
    return v.filter((item) => {
      const got = evaluate(filter[1]!, item);
      const match = got.length > 0 && got[0] === want;
      return filter[2] === '==' ? match : !match;
    });
  }
  throw new UsageError(`error parsing jsonpath {${path}}: unsupported subscript [${inner}]`);
}
