import { badRequest } from './errors';

type Requirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] };

/**
 * Kubernetes label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma separated
 * (all must hold).
 */
export function parseLabelSelector(selector: string): (labels: Record<string, string>) => boolean {
  const reqs: Requirement[] = [];
  const forms: Array<[RegExp, (m: RegExpMatchArray) => Requirement]> = [
    [/^!\s*([\w./-]+)$/, (m) => ({ key: m[1]!, op: 'notexists' })],
    [
      /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/,
      (m) => ({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) }),
    ],
    [
      /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/,
      (m) => ({ key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] }),
    ],
    [/^([\w./-]+)$/, (m) => ({ key: m[1]!, op: 'exists' })],
  ];
  for (const part of splitTopLevel(selector)) {
    const s = part.trim();
    if (!s) continue;
    const form = forms.find(([re]) => re.test(s));
    if (!form)
      throw badRequest(
        `unable to parse requirement: ${JSON.stringify(s)} in label selector ${JSON.stringify(selector)}`,
      );
    reqs.push(form[1](s.match(form[0])!));
  }
  return (labels) => reqs.every((r) => holds(r, labels));
}

function holds(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'in':
      return has && r.values.includes(labels[r.key]!);
    case 'notin':
      return !has || !r.values.includes(labels[r.key]!);
  }
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
