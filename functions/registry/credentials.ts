import type { RegistryCredential } from './auth';

export type { RegistryCredential };

/** The `auths` of a Docker config file (`.dockerconfigjson`; `.dockercfg` has the map at the top level). */
export interface DockerConfig {
  auths: Record<string, { auth?: string; username?: string; password?: string }>;
}

/** Parses a secret's Docker config; throws with a message that never contains the secret itself. */
export function parseDockerConfig(json: unknown, legacy: boolean): DockerConfig {
  const root = json as Record<string, unknown> | null;
  if (!root || typeof root !== 'object' || Array.isArray(root)) throw new Error('must be a JSON object');
  const auths = legacy ? root : root.auths;
  if (!auths || typeof auths !== 'object' || Array.isArray(auths))
    throw new Error(legacy ? 'must map registries to credentials' : 'must have an "auths" object');
  const out: DockerConfig = { auths: {} };
  for (const [key, value] of Object.entries(auths as Record<string, unknown>)) {
    const v = value as Record<string, unknown> | null;
    if (!v || typeof v !== 'object')
      throw new Error(`the entry for ${JSON.stringify(key)} must be an object`);
    const entry: DockerConfig['auths'][string] = {};
    for (const f of ['auth', 'username', 'password'] as const) {
      if (v[f] === undefined) continue;
      if (typeof v[f] !== 'string') throw new Error(`${f} of ${JSON.stringify(key)} must be a string`);
      entry[f] = v[f];
    }
    if (entry.auth !== undefined && !decodeAuth(entry.auth))
      throw new Error(`auth of ${JSON.stringify(key)} must be base64 of "user:password"`);
    out.auths[key] = entry;
  }
  return out;
}

function decodeAuth(auth: string): RegistryCredential | undefined {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i <= 0) return undefined;
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

const DOCKER_HUB_KEYS = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

/** A config key as host + path (Kubernetes credentialprovider `parseSchemelessURL`, Docker Hub folded). */
function parseKey(key: string): { host: string; path: string } {
  let k = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  k = k.replace(/\/+$/, '').replace(/\/v[12]$/, '');
  const slash = k.indexOf('/');
  let host = (slash < 0 ? k : k.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : k.slice(slash + 1);
  if (DOCKER_HUB_KEYS.has(host)) host = 'docker.io';
  return { host, path };
}

/** Host match with `*` globs per label (`*.example.com`); ports must match exactly. */
function hostMatches(pattern: string, host: string): boolean {
  const [pHost, pPort = ''] = splitPort(pattern);
  const [hHost, hPort = ''] = splitPort(host);
  if (pPort !== hPort) return false;
  const p = pHost.split('.');
  const h = hHost.split('.');
  if (p.length !== h.length) return false;
  return p.every((label, i) => label === h[i] || (label.includes('*') && globLabel(label, h[i]!)));
}

function splitPort(host: string): [string, string?] {
  const m = /^(.*?)(?::(\d+))?$/.exec(host)!;
  return m[2] ? [m[1]!, m[2]] : [m[1]!];
}

function globLabel(pattern: string, label: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(label);
}

/**
 * The credentials for a repository, the way the Kubernetes keyring matches them (URLsMatch): the host must match
 * (globs allowed), a key's path must be a prefix of the repository path; longest path first. `registry` is the
 * reference's domain (`docker.io` for Docker Hub), `repository` its path.
 */
export function credentialsFor(
  configs: DockerConfig[],
  registry: string,
  repository: string,
): RegistryCredential[] {
  const target = parseKey(registry).host;
  const matches: Array<{ cred: RegistryCredential; specificity: number }> = [];
  for (const cfg of configs)
    for (const [key, entry] of Object.entries(cfg.auths)) {
      const { host, path } = parseKey(key);
      if (!hostMatches(host, target)) continue;
      if (path && repository !== path && !repository.startsWith(`${path}/`)) continue;
      const cred =
        entry.username !== undefined && entry.password !== undefined
          ? { username: entry.username, password: entry.password }
          : entry.auth
            ? decodeAuth(entry.auth)
            : undefined;
      if (cred) matches.push({ cred, specificity: path.length + (host.includes('*') ? 0 : 1000) });
    }
  matches.sort((a, b) => b.specificity - a.specificity);
  const seen = new Set<string>();
  return matches
    .map((m) => m.cred)
    .filter((c) => {
      const k = `${c.username}\0${c.password}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}
