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
  for (const part of splitTopLevel(selector)) {
    const s = part.trim();
    if (!s) continue;
    let m: RegExpMatchArray | null;
    if ((m = s.match(/^!\s*([\w./-]+)$/))) reqs.push({ key: m[1]!, op: 'notexists' });
    else if ((m = s.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/)))
      reqs.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) });
    else if ((m = s.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/)))
      reqs.push({ key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] });
    else if ((m = s.match(/^([\w./-]+)$/))) reqs.push({ key: m[1]!, op: 'exists' });
    else throw badRequest(`unable to parse requirement: ${JSON.stringify(s)} in label selector ${JSON.stringify(selector)}`);
  }
  return (labels) =>
    reqs.every((r) => {
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
    });
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
