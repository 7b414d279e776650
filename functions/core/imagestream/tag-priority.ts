/**
 * The order a whole-repository import takes tags in (library-go imageutil `PrioritizeTags`, docs/semantics.md#repository-import):
 * `latest`; then minor versions (`5.1`, `v5.1`, `5.1-rc1`) newest first; then full semantic versions newest first
 * (equal versions: no `v` prefix first); then everything else in lexical order.
 */
export function prioritizeTags(tags: string[]): string[] {
  return tags
    .map(classify)
    .sort(compare)
    .map((t) => t.tag);
}

enum Priority {
  Latest = 0,
  Minor = 1,
  Full = 2,
  Other = 3,
}

interface Version {
  major: number;
  minor: number;
  patch: number;
  pre: string[];
}

interface Classified {
  tag: string;
  priority: Priority;
  version?: Version;
  prefix: string;
}

const NUM = '(0|[1-9]\\d*)';
const IDENT = '[0-9A-Za-z-]+';
const SEMVER = new RegExp(
  `^${NUM}\\.${NUM}\\.${NUM}(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+${IDENT}(?:\\.${IDENT})*)?$`,
);
const MINOR = /^\d+\.\d+$/;
const MINOR_WITH_PATCH = /^(\d+\.\d+)-\w+$/;

/** Strict semantic version (blang/semver Parse): no leading zeros, numeric pre-release parts without them. */
function parseSemver(s: string): Version | undefined {
  const m = SEMVER.exec(s);
  if (!m) return undefined;
  const pre = m[4] ? m[4].split('.') : [];
  if (pre.some((p) => /^\d+$/.test(p) && p.length > 1 && p.startsWith('0'))) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre };
}

function classify(tag: string): Classified {
  if (tag === 'latest') return { tag, priority: Priority.Latest, prefix: '' };
  const prefix = tag.startsWith('v') ? 'v' : '';
  const short = tag.slice(prefix.length);
  const full = parseSemver(short);
  if (full) return { tag, priority: Priority.Full, version: full, prefix };
  if (MINOR.test(short)) {
    const v = parseSemver(`${short}.0`);
    if (v) return { tag, priority: Priority.Minor, version: v, prefix };
  }
  const withPatch = MINOR_WITH_PATCH.exec(short);
  if (withPatch) {
    const v = parseSemver(short.replace(withPatch[1]!, `${withPatch[1]}.0`));
    if (v) return { tag, priority: Priority.Minor, version: v, prefix };
  }
  return { tag, priority: Priority.Other, prefix };
}

function compareVersions(a: Version, b: Version): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  // A pre-release sorts before its release; parts compare numerically when both are numbers.
  if (!a.pre.length || !b.pre.length) return a.pre.length === b.pre.length ? 0 : a.pre.length ? -1 : 1;
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i];
    const y = b.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) return Number(x) < Number(y) ? -1 : 1;
    if (xn !== yn) return xn ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function compare(a: Classified, b: Classified): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.priority === Priority.Other || !a.version || !b.version)
    return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
  const c = compareVersions(a.version, b.version);
  if (c !== 0) return -c;
  return a.prefix.length - b.prefix.length;
}
