import { createHash } from 'node:crypto';
import type { BlobSource, RepositoryTarget } from '../app/ports/registry';
import {
  type AuthIdentity,
  challengedScope,
  fingerprint,
  isIncorrectCredentials,
  RegistryAuth,
} from './auth';
import { asDeadline, beforeDeadline, type DeadlineLike, within } from './deadline';
import { errorCodes, isRegistryError, RegistryError } from './errors';
import { bareMediaType, MANIFEST_ACCEPT, MediaTypes } from './media-types';
import { hostMatches } from './network-policy';
import { type RegistryResponse, RegistryTransport, type TransportOptions } from './transport';

/** containers/image's limits: manifests and configs are small; anything bigger is a broken or hostile registry. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_TAG_PAGES = 1_000;
const MAX_TAGS = 100_000;
const TAGS_PAGE_BYTES = 8 * 1024 * 1024;
/** How long the scheme a host answered on is remembered. */
const SCHEME_TTL_MS = 5 * 60_000;
const MAX_KNOWN_SCHEMES = 5_000;

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const ECR_HOST = /^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

export function isEcrHost(host: string): boolean {
  return ECR_HOST.test(host);
}

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

export function digestOf(bytes: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** One registry API request, as the retry and re-authentication paths pass it around. */
interface Call {
  method: 'GET' | 'HEAD';
  /** Below `/v2/<repository>/`. */
  path: string;
  headers: Record<string, string>;
  maxBytes: number;
  deadline: DeadlineLike;
  stream?: boolean;
  crossOriginRedirects?: 'return';
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest extends ManifestHead {
  raw: Buffer;
  json: Record<string, unknown>;
}

export interface Descriptor {
  digest: string;
  size: number;
  mediaType?: string;
}

export type { RepositoryTarget };

export interface RegistryClientOptions extends TransportOptions {
  /** Bytes of by-digest manifests and configs kept in memory (they are immutable). */
  cacheBytes?: number;
}

/**
 * A registry client on `fetch`: HEAD to resolve tags, GET by digest with the body's hash
 * verified, all four manifest types accepted, immutable content cached, auth by challenge, and every request
 * bounded in time and size. One instance per process so caches and token reuse survive warm invocations.
 */
export class RegistryClient {
  readonly transport: RegistryTransport;
  readonly auth: RegistryAuth;
  private readonly schemes = new Map<string, { scheme: 'https' | 'http'; expiresAt: number }>();
  private readonly cache: ByteLru;

  constructor(opts: RegistryClientOptions) {
    this.transport = new RegistryTransport(opts);
    this.auth = new RegistryAuth(this.transport);
    this.cache = new ByteLru(opts.cacheBytes ?? 64 * 1024 * 1024);
  }

  repository(target: RepositoryTarget): RepositoryClient {
    return new RepositoryClient(this, target, this.cache);
  }

  /** The scheme a host answered on lately (remembered for a few minutes: registries move to HTTPS). */
  knownOrigin(host: string): string | undefined {
    const known = this.schemes.get(host);
    if (!known) return undefined;
    if (known.expiresAt <= Date.now()) {
      this.schemes.delete(host);
      return undefined;
    }
    return `${known.scheme}://${host}`;
  }

  rememberOrigin(origin: string): void {
    const url = new URL(origin);
    this.schemes.delete(url.host);
    this.schemes.set(url.host, {
      scheme: url.protocol === 'http:' ? 'http' : 'https',
      expiresAt: Date.now() + SCHEME_TTL_MS,
    });
    if (this.schemes.size > MAX_KNOWN_SCHEMES)
      this.schemes.delete(this.schemes.keys().next().value as string);
  }

  insecureAllowed(target: RepositoryTarget): boolean {
    return (
      target.insecure ||
      hostMatches(this.transport.network.insecureRegistries, new URL(`http://${target.host}`))
    );
  }

  /** Whether a host answers plain HTTP on /v2/ (to explain an HTTPS failure). */
  async speaksHttp(host: string, deadline: DeadlineLike): Promise<boolean> {
    try {
      await this.transport.request({
        method: 'GET',
        url: new URL(`http://${host}/v2/`),
        maxBytes: 64 * 1024,
        deadline: within(asDeadline(deadline), 5_000),
      });
      return true;
    } catch {
      return false;
    }
  }
}

/** Requests for one repository on behalf of one caller. */
export class RepositoryClient {
  private who: AuthIdentity;
  private triedAnonymous = false;

  constructor(
    private readonly client: RegistryClient,
    readonly target: RepositoryTarget,
    private readonly cache: ByteLru,
  ) {
    this.who = { credential: target.credential };
  }

  get name(): string {
    return `${this.target.host}/${this.target.path}`;
  }

  /**
   * Cached content is served only to the identity that fetched it from this repository: a private repository's
   * manifest or config must not reach a caller without its credentials because another caller pulled it first.
   */
  private get cacheScope(): string {
    return `${this.name}|${fingerprint(this.target.credential)}`;
  }

  /** Resolves a tag (or checks a digest) without downloading: a HEAD is not a "pull" on Docker Hub. */
  async headManifest(reference: string, deadline: DeadlineLike): Promise<ManifestHead> {
    const res = await this.send({
      method: 'HEAD',
      path: `manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      maxBytes: 0,
      deadline,
    });
    if (res.status !== 200) throw this.failure(res, reference);
    const digest = res.headers.get('docker-content-digest') ?? '';
    const mediaType = bareMediaType(res.headers.get('content-type'));
    // Without a usable digest header the only trustworthy answer is the body's hash.
    if (!isDigest(digest)) {
      const m = await this.getManifest(reference, deadline);
      return { digest: m.digest, mediaType: m.mediaType, size: m.size };
    }
    return { digest, mediaType, size: Number(res.headers.get('content-length') ?? 0) };
  }

  /** GET a manifest; by digest the body must hash to it, by tag it must match any digest header sent. */
  async getManifest(reference: string, deadline: DeadlineLike): Promise<FetchedManifest> {
    const byDigest = isDigest(reference);
    const key = `m|${this.cacheScope}@${reference}`;
    if (byDigest) {
      const hit = this.cache.get(key);
      if (hit) return parseManifest(hit.bytes, hit.mediaType, reference, this.name);
    }
    const res = await this.send({
      method: 'GET',
      path: `manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      maxBytes: MAX_MANIFEST_BYTES,
      deadline,
    });
    if (res.status !== 200) throw this.failure(res, reference);
    const algorithm = byDigest && reference.startsWith('sha512:') ? 'sha512' : 'sha256';
    const computed = digestOf(res.body, algorithm);
    const header = res.headers.get('docker-content-digest');
    const expected = byDigest ? reference : header?.startsWith('sha256:') ? header : computed;
    const mediaType = bareMediaType(res.headers.get('content-type'));
    if (expected !== computed)
      throw new RegistryError(
        'integrity',
        `content integrity error: the manifest retrieved (media type: ${mediaType || 'unknown'}) with digest ${expected} does not match the digest calculated from the content ${computed}`,
      );
    const manifest = parseManifest(res.body, mediaType, computed, this.name);
    this.cache.set(`m|${this.cacheScope}@${computed}`, { bytes: res.body, mediaType: manifest.mediaType });
    return manifest;
  }

  /** A blob (an image config) checked against its descriptor's digest and size. */
  async getBlob(desc: Descriptor, maxBytes: number, deadline: DeadlineLike): Promise<Buffer> {
    if (!isDigest(desc.digest)) throw new RegistryError('integrity', `invalid blob digest ${desc.digest}`);
    if (desc.size > maxBytes)
      throw new RegistryError(
        'transport',
        `blob ${desc.digest} of ${desc.size} bytes exceeds the ${maxBytes}-byte limit`,
      );
    const key = `b|${this.cacheScope}@${desc.digest}`;
    const hit = this.cache.get(key);
    if (hit) return hit.bytes;
    const res = await this.send({
      method: 'GET',
      path: `blobs/${desc.digest}`,
      headers: {},
      maxBytes,
      deadline,
    });
    if (res.status !== 200) throw this.failure(res, desc.digest);
    const computed = digestOf(res.body, desc.digest.startsWith('sha512:') ? 'sha512' : 'sha256');
    if (computed !== desc.digest || (desc.size > 0 && res.body.length !== desc.size))
      throw new RegistryError(
        'integrity',
        `content integrity error: the blob ${desc.digest} (${desc.size} bytes) does not match its content (${computed}, ${res.body.length} bytes)`,
      );
    this.cache.set(key, { bytes: res.body, mediaType: desc.mediaType ?? '' });
    return res.body;
  }

  /**
   * A blob to pass on to a client: the storage location upstream redirected to (no credentials needed there), or
   * the body unread, with its slot held until it is consumed or cancelled. The caller verifies the digest.
   */
  async openBlob(digest: string, deadline: DeadlineLike): Promise<BlobSource> {
    if (!isDigest(digest)) throw new RegistryError('integrity', `invalid blob digest ${digest}`);
    const res = await this.send({
      method: 'GET',
      path: `blobs/${digest}`,
      headers: {},
      maxBytes: Number.MAX_SAFE_INTEGER,
      deadline,
      stream: true,
      crossOriginRedirects: 'return',
    });
    if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.get('location'))
      return { kind: 'redirect', location: new URL(res.headers.get('location')!, res.url).href };
    if (res.status !== 200 || !res.stream) {
      res.stream?.destroy();
      throw this.failure(res, digest);
    }
    const stream = res.stream;
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    return {
      kind: 'stream',
      ...(Number.isFinite(declared) ? { size: declared } : {}),
      body: stream.body,
      cancel: () => stream.destroy(),
    };
  }

  /** Every tag, following `Link: <…>; rel="next"` as an opaque URL; stops when a page adds nothing new. */
  async listTags(deadline: DeadlineLike): Promise<string[]> {
    const seen = new Set<string>();
    let path = 'tags/list';
    for (let page = 0; page < MAX_TAG_PAGES; page++) {
      const res = await this.send({
        method: 'GET',
        path,
        headers: { accept: 'application/json' },
        maxBytes: TAGS_PAGE_BYTES,
        deadline,
      });
      if (res.status !== 200) throw this.failure(res, '');
      let tags: unknown;
      try {
        tags = (JSON.parse(res.body.toString('utf8')) as { tags?: unknown }).tags;
      } catch {
        throw new RegistryError('integrity', `${this.name}: the tag list is not JSON`);
      }
      const before = seen.size;
      for (const t of Array.isArray(tags) ? tags : []) if (typeof t === 'string') seen.add(t || 'latest');
      if (seen.size > MAX_TAGS)
        throw new RegistryError('transport', `${this.name}: more than ${MAX_TAGS} tags`);
      const next = nextLink(res.headers.get('link'));
      if (!next || seen.size === before) break;
      const url = new URL(next, res.url);
      if (url.origin !== res.url.origin)
        throw new RegistryError('integrity', `${this.name}: tag list pagination points at another host`);
      path = url.pathname.replace(/^.*?\/tags\/list/, 'tags/list') + url.search;
    }
    return [...seen];
  }

  /**
   * One request with authentication: up-front when the origin's challenge is known, otherwise learned from the
   * 401; then one re-authentication at most (with the scope the registry asked for), and, for a rejected
   * password, one anonymous attempt as OpenShift does.
   */
  private async send(call: Call): Promise<RegistryResponse> {
    const { deadline } = call;
    const known = this.client.knownOrigin(this.target.host);
    const httpOnly = () =>
      new RegistryError(
        'http-only',
        `the repository ${this.name} is HTTP only and requires the insecure flag to import`,
      );
    if (known) {
      if (known.startsWith('http:') && !this.client.insecureAllowed(this.target)) throw httpOnly();
      return this.sendTo(known, call);
    }
    // HTTPS first; plain HTTP only when allowed and HTTPS got no answer at all (OpenShift's insecure fallback).
    try {
      const res = await this.sendTo(`https://${this.target.host}`, call);
      this.client.rememberOrigin(`https://${this.target.host}`);
      return res;
    } catch (e) {
      if (!isRegistryError(e, 'transport') || !e.details.noResponse) throw e;
      if (!this.client.insecureAllowed(this.target)) {
        if (await this.client.speaksHttp(this.target.host, deadline)) throw httpOnly();
        throw e;
      }
      const res = await this.sendTo(`http://${this.target.host}`, call);
      this.client.rememberOrigin(`http://${this.target.host}`);
      return res;
    }
  }

  private async sendTo(origin: string, call: Call): Promise<RegistryResponse> {
    const { method, path, headers, maxBytes, deadline, stream, crossOriginRedirects } = call;
    const url = new URL(`/v2/${this.target.path}/${path}`, origin);
    const scope = `repository:${this.target.path}:pull`;
    const auth = this.client.auth;
    const attempt = async (fresh: boolean, wanted: string) => {
      const challenge = auth.knownChallenge(origin, this.who);
      const authorization = await auth.authorization(origin, challenge, wanted, this.who, deadline, fresh);
      const res = await this.client.transport.request({
        method,
        url,
        headers,
        authorization,
        maxBytes,
        deadline,
        ...(stream ? { stream } : {}),
        ...(crossOriginRedirects ? { crossOriginRedirects } : {}),
      });
      return { res, sent: authorization !== undefined };
    };
    try {
      let { res, sent } = await attempt(false, scope);
      if (res.status === 401 || (res.status === 403 && isEcrHost(this.target.host))) {
        const header = res.headers.get('www-authenticate');
        const learned = auth.learn(origin, this.who, header);
        if (learned || sent) {
          if (sent && this.target.refreshCredential)
            this.who = {
              credential: await beforeDeadline(
                this.target.refreshCredential(),
                asDeadline(deadline),
                () =>
                  new RegistryError(
                    'transport',
                    `${this.target.host}: the deadline passed renewing credentials`,
                  ),
              ),
            };
          ({ res, sent } = await attempt(true, challengedScope(header) ?? scope));
        }
      }
      if (
        (res.status === 401 || res.status === 403) &&
        this.who.credential &&
        isIncorrectCredentials(res.body)
      )
        return await this.anonymousRetry(call, res);
      if (res.status >= 200 && res.status < 300 && !sent) auth.markAnonymous(origin, this.who);
      return res;
    } catch (e) {
      if (isRegistryError(e, 'unauthorized') && e.details.incorrectCredentials && this.who.credential)
        return await this.anonymousRetry(call, e);
      throw e;
    }
  }

  private async anonymousRetry(
    call: Call,
    original: RegistryResponse | RegistryError,
  ): Promise<RegistryResponse> {
    const incorrect = new RegistryError('unauthorized', 'incorrect username or password', {
      status: 401,
      incorrectCredentials: true,
    });
    if (this.triedAnonymous) throw original instanceof RegistryError ? original : incorrect;
    this.triedAnonymous = true;
    this.who = {};
    try {
      const res = await this.send(call);
      if (res.status === 401 || res.status === 403) throw incorrect;
      return res;
    } catch (e) {
      if (isRegistryError(e, 'unauthorized')) throw incorrect;
      throw e;
    }
  }

  private failure(res: RegistryResponse, reference: string): RegistryError {
    const text = res.body.toString('utf8');
    const codes = errorCodes(text);
    const what = reference ? `${this.name}:${reference}` : this.name;
    if (res.status === 404 || codes.some((c) => /_UNKNOWN$/.test(c.code)))
      return new RegistryError('not-found', `${what} not found`, { status: res.status });
    if (res.status === 401 || res.status === 403)
      return new RegistryError('unauthorized', `access to ${what} was denied`, { status: res.status });
    if (res.status === 429)
      return new RegistryError('rate-limited', `${this.target.host}: too many requests`, { status: 429 });
    const detail = codes[0]?.message || text.trim().slice(0, 200);
    return new RegistryError(
      'transport',
      `${this.target.host} answered ${res.status}${detail ? `: ${detail}` : ''}`,
      { status: res.status },
    );
  }
}

function parseManifest(raw: Buffer, contentType: string, digest: string, repo: string): FetchedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new RegistryError('integrity', `${repo}@${digest}: the manifest is not JSON`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new RegistryError('integrity', `${repo}@${digest}: the manifest is not a JSON object`);
  const field = typeof json.mediaType === 'string' ? json.mediaType : '';
  // The body's own mediaType must agree with Content-Type (spec); an OCI manifest may omit it.
  if (field && contentType && field !== contentType && contentType !== 'application/json')
    throw new RegistryError(
      'integrity',
      `${repo}@${digest}: Content-Type ${contentType} does not match the manifest's mediaType ${field}`,
    );
  let mediaType = field || contentType;
  if (!mediaType || mediaType === 'application/json')
    mediaType = Array.isArray(json.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  if (
    json.schemaVersion === 1 ||
    mediaType === MediaTypes.dockerSchema1 ||
    mediaType === MediaTypes.dockerSchema1Signed
  )
    throw new RegistryError('unsupported', `${repo}@${digest}: Docker schema 1 manifests are not supported`);
  return { digest, mediaType, size: raw.length, raw, json };
}

/** RFC 8288 `Link` header: the target of rel="next", if any. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

interface CacheEntry {
  bytes: Buffer;
  mediaType: string;
}

/** Least-recently-used cache bounded by total bytes (Map iteration order is insertion order). */
class ByteLru {
  private readonly map = new Map<string, CacheEntry>();
  private total = 0;
  constructor(private readonly capacity: number) {}
  get(key: string): CacheEntry | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: CacheEntry): void {
    if (value.bytes.length > this.capacity / 8) return;
    const old = this.map.get(key);
    if (old) {
      this.total -= old.bytes.length;
      this.map.delete(key);
    }
    this.map.set(key, value);
    this.total += value.bytes.length;
    for (const [k, v] of this.map) {
      if (this.total <= this.capacity) break;
      this.map.delete(k);
      this.total -= v.bytes.length;
    }
  }
}
