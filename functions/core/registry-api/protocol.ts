/**
 * The read side of the OCI distribution API as this service answers it under `/v2/`: which request a path is,
 * the spec's JSON error form, token scopes, tag-list paging and manifest negotiation. Pure: no I/O.
 */

/** Error codes of the distribution spec this registry answers with, and their HTTP statuses. */
export const DISTRIBUTION_ERRORS = {
  UNAUTHORIZED: 401,
  DENIED: 403,
  NAME_UNKNOWN: 404,
  NAME_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  BLOB_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  TAG_INVALID: 400,
  PAGINATION_NUMBER_INVALID: 400,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  SIZE_INVALID: 413,
  UNAVAILABLE: 503,
  UNKNOWN: 500,
} as const;

export type DistributionCode = keyof typeof DISTRIBUTION_ERRORS;

/** A refusal in the distribution spec's form: `{"errors":[{"code","message","detail"}]}` with its status. */
export class DistributionError extends Error {
  readonly status: number;
  constructor(
    readonly code: DistributionCode,
    message: string,
    readonly detail?: unknown,
    status?: number,
  ) {
    super(message);
    this.name = 'DistributionError';
    this.status = status ?? DISTRIBUTION_ERRORS[code];
  }

  body(): string {
    return JSON.stringify({
      errors: [
        {
          code: this.code,
          message: this.message,
          ...(this.detail === undefined ? {} : { detail: this.detail }),
        },
      ],
    });
  }
}

/** The repository name under `/v2/`: exactly `<namespace>/<stream>`, as OpenShift's integrated registry names it. */
export interface RepositoryName {
  namespace: string;
  stream: string;
}

export type RegistryRoute =
  | { kind: 'base' }
  | { kind: 'token' }
  | ({ kind: 'manifest'; reference: string } & RepositoryName)
  | ({ kind: 'blob'; digest: string } & RepositoryName)
  | ({ kind: 'tags' } & RepositoryName)
  | { kind: 'unknown' };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Stream names are path segments of at most 253 characters (functions/core/imagestream/validation.ts). */
const STREAM_NAME = /^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export const isDigest = (s: string): boolean => DIGEST.test(s);
export const isTagName = (s: string): boolean => TAG.test(s);

/** `/v2/` paths this registry knows; anything else under `/v2/` is `unknown` (404 NAME_UNKNOWN or UNSUPPORTED). */
export function parseRegistryPath(path: string): RegistryRoute {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (path === '/v2/token') return { kind: 'token' };
  const m =
    /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path) ?? /^\/v2\/(.+)\/(tags)\/(list)$/.exec(path);
  if (!m) return { kind: 'unknown' };
  const repo = parseRepositoryName(m[1]!);
  if (!repo) return { kind: 'unknown' };
  if (m[2] === 'tags') return { kind: 'tags', ...repo };
  if (m[2] === 'blobs') return { kind: 'blob', ...repo, digest: m[3]! };
  return { kind: 'manifest', ...repo, reference: m[3]! };
}

/** `<namespace>/<stream>`, undefined for any other shape (one segment, three, invalid names). */
export function parseRepositoryName(name: string): RepositoryName | undefined {
  const parts = name.split('/');
  if (parts.length !== 2) return undefined;
  const [namespace, stream] = parts as [string, string];
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) return undefined;
  if (stream.length > 253 || !STREAM_NAME.test(stream)) return undefined;
  return { namespace, stream };
}

/** One `repository:<name>:<actions>` entry of a token request's scope. */
export interface ScopeEntry {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Docker's token scope grammar: space-separated `type:name:actions` entries (the name may itself hold a `:` for a
 * port, so the type is the first field and the actions the last); unparsable entries are dropped.
 */
export function parseScopes(values: string[]): ScopeEntry[] {
  const out: ScopeEntry[] = [];
  for (const value of values)
    for (const entry of value.split(' ')) {
      const first = entry.indexOf(':');
      const last = entry.lastIndexOf(':');
      if (first <= 0 || last <= first) continue;
      const name = entry.slice(first + 1, last);
      if (!name) continue;
      out.push({
        type: entry.slice(0, first),
        name,
        actions: entry
          .slice(last + 1)
          .split(',')
          .filter(Boolean),
      });
    }
  return out;
}

/** The scope string a token grants: the pull of one repository. */
export const pullScope = (repo: RepositoryName): string => `repository:${repo.namespace}/${repo.stream}:pull`;

/** Most tags one page of `tags/list` returns when the client asks for more (or for none in particular). */
export const MAX_TAGS_PAGE = 1000;

/**
 * A page of `tags/list`: tags in lexical order after `last`, at most `n` (`n=0` is an empty page, as the spec
 * allows); `next` is the `last` of the following page, when there is one.
 */
export function pageTags(
  tags: string[],
  query: { n?: string | null; last?: string | null },
): { tags: string[]; next?: string } {
  let n = MAX_TAGS_PAGE;
  if (query.n !== undefined && query.n !== null && query.n !== '') {
    if (!/^\d+$/.test(query.n))
      throw new DistributionError('PAGINATION_NUMBER_INVALID', 'invalid number of results requested', {
        n: query.n,
      });
    n = Math.min(Number(query.n), MAX_TAGS_PAGE);
  }
  const sorted = [...tags].sort();
  const after = query.last ? sorted.filter((t) => t > query.last!) : sorted;
  const page = after.slice(0, n);
  return after.length > n && page.length ? { tags: page, next: page[page.length - 1]! } : { tags: page };
}

/** `Link` header of a tag page: where the next page is, as distribution words it. */
export function nextPageLink(repo: RepositoryName, n: number, last: string): string {
  const q = new URLSearchParams({ n: String(n), last });
  return `</v2/${repo.namespace}/${repo.stream}/tags/list?${q}>; rel="next"`;
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/**
 * Whether a manifest of `mediaType` may be served for a client's Accept header. Registries serve what they store:
 * no Accept, a wildcard, or the type itself accepts it. An index the client does not accept is refused by tag
 * (MANIFEST_UNKNOWN, as distribution answers a client that does not accept manifest lists) rather than
 * converted: the bytes must stay the ones upstream's digest names. An image manifest is always served (clients
 * that send only the Docker types still read OCI manifests, and there is nothing else to answer with).
 */
export function acceptsManifest(accept: string | undefined, mediaType: string): boolean {
  if (!INDEX_TYPES.has(mediaType)) return true;
  if (!accept?.trim()) return true;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  return types.some((t) => t === mediaType || t === '*/*' || t === 'application/*');
}
