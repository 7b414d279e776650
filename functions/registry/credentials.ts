/**
 * Docker config files from registry credential secrets, and which of their entries apply to a repository.
 * Pure (no AWS, no I/O) so the matching rules are unit-tested on their own.
 *
 * Matching follows the Kubernetes credential provider keyring (pkg/credentialprovider/keyring.go:
 * `BasicDockerKeyring.Add`/`Lookup`, `ParseSchemelessURL`, `URLsMatch`), because secrets written for a kubelet
 * or for OpenShift's importer must select the same credentials here.
 */
import type { RegistryCredential } from './auth';

export type { RegistryCredential };

/** One registry's entry in a Docker config file. */
export interface DockerConfigEntry {
  /** base64 of `user:password`; wins over `username`/`password`, as Kubernetes decodes it. */
  auth?: string;
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`docker login` with some registries); see {@link credentialsFor}. */
  identitytoken?: string;
}

/** The `auths` of a Docker config file (`.dockerconfigjson`; the legacy `.dockercfg` is the map itself). */
export interface DockerConfig {
  auths: Record<string, DockerConfigEntry>;
}

const ENTRY_FIELDS = ['auth', 'username', 'password', 'identitytoken'] as const;

/**
 * Checks and normalizes the content of a secret's Docker config (already JSON-parsed). Unknown fields (`email`,
 * `credsStore`, `HttpHeaders`…) are dropped: nothing here uses them. Every error message names at most a registry
 * key and a field, never a value, because callers show it to clients and the values are credentials.
 */
export function parseDockerConfig(json: unknown, legacy: boolean): DockerConfig {
  if (!isObject(json)) throw new Error('must be a JSON object');
  const auths = legacy ? json : json.auths;
  if (legacy && isObject(json.auths) && !looksLikeEntry(json.auths))
    // A .dockerconfigjson pasted into a .dockercfg secret would otherwise "work" as a registry named "auths".
    throw new Error(
      'has an "auths" object, which is the .dockerconfigjson format; use type kubernetes.io/dockerconfigjson',
    );
  if (!isObject(auths))
    throw new Error(legacy ? 'must map registries to credentials' : 'must have an "auths" object');
  const entries: Array<[string, DockerConfigEntry]> = [];
  for (const [key, value] of Object.entries(auths)) {
    const where = `the entry for ${JSON.stringify(key)}`;
    if (!parseKey(key)) throw new Error(`${JSON.stringify(key)} is not a registry (host[:port][/path])`);
    if (!isObject(value)) throw new Error(`${where} must be an object`);
    entries.push([key, parseEntry(value, where)]);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays data and never becomes a prototype.
  return { auths: Object.fromEntries(entries) };
}

function parseEntry(value: Record<string, unknown>, where: string): DockerConfigEntry {
  // Kubernetes decodes with Go's encoding/json, which matches field names case-insensitively.
  const fields = new Map(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
  const entry: DockerConfigEntry = {};
  for (const f of ENTRY_FIELDS) {
    const v = fields.get(f);
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') throw new Error(`${f} of ${where} must be a string`);
    entry[f] = v;
  }
  if (entry.auth !== undefined) {
    if (!decodeAuth(entry.auth)) throw new Error(`auth of ${where} must be base64 of "username:password"`);
  } else if (entry.username !== undefined) {
    if (entry.password === undefined && entry.identitytoken === undefined)
      throw new Error(`${where} has a username but no password`);
  } else if (entry.password !== undefined) throw new Error(`${where} has a password but no username`);
  else if (entry.identitytoken === undefined)
    throw new Error(`${where} has no credentials: give "auth", or "username" and "password"`);
  return entry;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function looksLikeEntry(v: Record<string, unknown>): boolean {
  return Object.keys(v).some((k) => (ENTRY_FIELDS as readonly string[]).includes(k.toLowerCase()));
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `auth` is standard, padded base64 (Go's `base64.StdEncoding`) of `user:password`, split at the first ':'. */
function decodeAuth(auth: string): RegistryCredential | undefined {
  if (!BASE64.test(auth)) return undefined;
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const i = text.indexOf(':');
  // An empty user name cannot authenticate anywhere; refusing it at create time beats a silent anonymous pull.
  if (i <= 0) return undefined;
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

/** Docker Hub's names; credentials under any of them are for the same registry (`docker.io` in references). */
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const DOCKER_HUB = 'docker.io';

interface RegistryKey {
  /** Lowercased host (Docker Hub's names folded into `docker.io`), possibly with globs in its labels. */
  host: string;
  port: string;
  /** Path segments the repository must start with; empty = the whole registry. */
  path: string[];
  /** The host has `*`, `?` or `[…]` in its labels (as `filepath.Match` reads them); IPv6 literals never do. */
  glob: boolean;
}

/** `host[:port]`: an IPv6 literal in brackets, or a name whose labels may carry glob characters. */
const HOST_PORT = /^(?:(\[[0-9a-f:.]+\])|([a-z0-9._*?[\]^\\-]+))(?::(\d{1,5}))?$/;

/**
 * A config key or a registry name as host, port and path: Kubernetes' `ParseSchemelessURL` after `Add` has
 * removed `http(s)://` and a leading `/v1/` or `/v2/` (Docker's API version, not a repository path).
 */
function parseKey(raw: string): RegistryKey | undefined {
  const k = raw.trim().replace(/^https?:\/\//i, '');
  const slash = k.indexOf('/');
  const hp = HOST_PORT.exec((slash < 0 ? k : k.slice(0, slash)).toLowerCase());
  if (!hp) return undefined;
  const rest = slash < 0 ? '' : k.slice(slash).replace(/^\/v[12](?=\/|$)/, '');
  if (/[?#\s]/.test(rest)) return undefined;
  const path = rest.split('/').filter((s) => s !== '');
  const port = hp[3] ?? '';
  if (hp[1]) return { host: hp[1], port, path, glob: false };
  let host = hp[2]!;
  if (host.split('.').some((l) => l === '')) return undefined;
  if (DOCKER_HUB_HOSTS.has(host) && !port) host = DOCKER_HUB;
  return { host, port, path, glob: /[*?[\\]/.test(host) };
}

/**
 * `URLsMatch`: same port, same number of host labels, each label matching its glob, and the key's path a prefix
 * of the repository's. Kubernetes compares paths as strings, so a key `quay.io/team` would also match
 * `quay.io/teammates/app`; we compare whole path segments so credentials never reach a sibling organisation.
 */
function matches(key: RegistryKey, target: RegistryKey, repository: string[]): boolean {
  if (key.port !== target.port) return false;
  if (key.path.length > repository.length || key.path.some((s, i) => s !== repository[i])) return false;
  if (!key.glob) return key.host === target.host;
  const want = target.host.split('.');
  const globs = key.host.split('.');
  return globs.length === want.length && globs.every((g, i) => globMatch(g, want[i]!));
}

const globCache = new Map<string, RegExp | null>();

/** Go's `filepath.Match` for one host label (labels hold no separator); a malformed pattern matches nothing. */
export function globMatch(pattern: string, label: string): boolean {
  let re = globCache.get(pattern);
  if (re === undefined) {
    re = globToRegExp(pattern);
    if (globCache.size >= 1000) globCache.clear();
    globCache.set(pattern, re);
  }
  return re?.test(label) ?? false;
}

const escapeRegExp = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** Translates `*`, `?`, `[^a-z]` classes and `\\` escapes; null where Go answers `ErrBadPattern`. */
function globToRegExp(pattern: string): RegExp | null {
  let out = '';
  let i = 0;
  // Go's getEsc: one class character, '-' and ']' only escaped, and the class must not end the pattern.
  const classChar = (): string | null => {
    let c = pattern[i];
    if (c === undefined || c === '-' || c === ']') return null;
    if (c === '\\') c = pattern[++i];
    if (c === undefined) return null;
    i++;
    return i < pattern.length ? c : null;
  };
  while (i < pattern.length) {
    const c = pattern[i++]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '\\') {
      const next = pattern[i++];
      if (next === undefined) return null;
      out += escapeRegExp(next);
    } else if (c === '[') {
      let cls = '';
      if (pattern[i] === '^') {
        cls = '^';
        i++;
      }
      for (let ranges = 0; !(pattern[i] === ']' && ranges > 0); ranges++) {
        const lo = classChar();
        if (lo === null) return null;
        let hi = lo;
        if (pattern[i] === '-') {
          i++;
          const h = classChar();
          if (h === null) return null;
          hi = h;
        }
        // An inverted range is legal in Go and matches nothing; a RegExp would reject it.
        if (lo <= hi) cls += lo === hi ? escapeRegExp(lo) : `${escapeRegExp(lo)}-${escapeRegExp(hi)}`;
      }
      i++;
      out += `[${cls}]`;
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`);
}

/**
 * The credentials a pull from `registry`/`repository` may use, best first, as the Kubernetes keyring selects
 * them: every entry whose key matches (see {@link matches}), the most specific first (longest matching path,
 * then an exact host before a glob, then config order: secrets by name, entries as written), without duplicates.
 * Callers try them in order. `registry` is a reference's domain (`docker.io` for Docker Hub, `host:port`),
 * `repository` its path (`library/ubuntu`).
 *
 * An entry carrying only an `identitytoken` yields nothing: that token is an OAuth2 refresh token for the
 * registry's token service (Docker's `refresh_token` grant), not a password, and the registry client speaks only
 * basic credentials.
 */
export function credentialsFor(
  configs: DockerConfig[],
  registry: string,
  repository: string,
): RegistryCredential[] {
  const target = parseKey(registry);
  if (!target) return [];
  const repo = repository.split('/').filter((s) => s !== '');
  const found: Array<{ cred: RegistryCredential; key: RegistryKey }> = [];
  for (const cfg of configs)
    for (const [raw, entry] of Object.entries(cfg.auths)) {
      const key = parseKey(raw);
      if (!key || !matches(key, target, repo)) continue;
      const cred = credentialOf(entry);
      if (cred) found.push({ cred, key });
    }
  // Array.prototype.sort is stable, so equally specific keys keep config order.
  found.sort((a, b) => b.key.path.length - a.key.path.length || Number(a.key.glob) - Number(b.key.glob));
  const seen = new Set<string>();
  const out: RegistryCredential[] = [];
  for (const { cred } of found) {
    const id = JSON.stringify([cred.username, cred.password]);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(cred);
  }
  return out;
}

function credentialOf(entry: DockerConfigEntry): RegistryCredential | undefined {
  const cred =
    entry.auth !== undefined
      ? decodeAuth(entry.auth)
      : entry.username !== undefined
        ? { username: entry.username, password: entry.password ?? '' }
        : undefined;
  // `docker login` with an identity token stores `auth` as "user:" and the secret in `identitytoken`.
  if (!cred || (cred.password === '' && entry.identitytoken !== undefined)) return undefined;
  return cred;
}
