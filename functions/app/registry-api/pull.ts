import { createHash } from 'node:crypto';
import { API_GROUPS, decide } from '../../core/access/rules';
import type { StreamHead } from '../../core/imagestream/model';
import { apiHost, parseNormalizedReference } from '../../core/reference';
import {
  acceptsManifest,
  DistributionError,
  isDigest,
  isTagName,
  type RepositoryName,
} from '../../core/registry-api/protocol';
import { credentialsFor } from '../../registry/credentials';
import { type DeadlineLike, deadlineIn } from '../../registry/deadline';
import { isRegistryError } from '../../registry/errors';
import { importCredentials, SecretUnusable } from '../imports/secret-credentials';
import type { ManifestRepository, StoredManifest } from '../ports/manifests';
import type {
  BlobSource,
  PullThroughRegistry,
  RegistryCredential,
  RepositoryTarget,
} from '../ports/registry';
import type { AppContext, Identity } from '../shared/context';
import type { Log } from '../shared/log';

/**
 * Pulling through a stream (docs/registry.md): the service answers the distribution API's read side for the
 * images its streams reference, with each project's own rights upstream. A tag serves the digest its
 * imagestreamtag points at, a digest only when the stream's history references it, a blob only when a manifest
 * the stream references lists it.
 */
export type PullContext = Pick<
  AppContext,
  'streams' | 'projects' | 'secrets' | 'sealer' | 'access' | 'externalCredentials'
> & {
  manifests: ManifestRepository;
  pullThrough: PullThroughRegistry;
  /** How long one pull's upstream work may take before headers are sent. */
  upstreamTimeoutMs: number;
  /** Largest blob passed on as a stream (AWS: Lambda's streamed response limit); undefined: no limit. */
  maxStreamedBlobBytes?: number;
  log: Log;
};

const MANIFEST_TYPES_OF_IMAGES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);

/** Most images of a stream a blob lookup walks when no stored manifest lists the blob yet. */
const MAX_IMAGES_WALKED = 50;

/** Pulling needs `get imagestreams/layers` in the namespace (admin, edit, view, system:image-puller). */
export async function authorizePull(ctx: PullContext, caller: Identity, repo: RepositoryName): Promise<void> {
  const access = await ctx.projects.access(repo.namespace);
  const attrs = {
    verb: 'get' as const,
    group: API_GROUPS.image,
    resource: 'imagestreams/layers',
    namespace: repo.namespace,
    name: repo.stream,
  };
  if (!decide(caller, attrs, access.bindings, ctx.access).allowed)
    throw new DistributionError('DENIED', 'requested access to the resource is denied', {
      repository: `${repo.namespace}/${repo.stream}`,
    });
}

async function headOf(ctx: PullContext, repo: RepositoryName): Promise<StreamHead> {
  const head = await ctx.streams.getHead(repo.namespace, repo.stream);
  if (!head)
    throw new DistributionError('NAME_UNKNOWN', 'repository name not known to registry', {
      name: `${repo.namespace}/${repo.stream}`,
    });
  return head;
}

/** Where an image of the stream came from, as its history recorded it. */
interface Origin {
  digest: string;
  /** The recorded pull spec (`registry/repo@digest`). */
  reference: string;
  insecure: boolean;
}

/** The image a tag points at (its newest event) or a digest of the stream's history; MANIFEST_UNKNOWN else. */
async function originOf(ctx: PullContext, head: StreamHead, reference: string): Promise<Origin> {
  const unknown = () =>
    new DistributionError('MANIFEST_UNKNOWN', 'manifest unknown', {
      name: `${head.namespace}/${head.name}`,
      reference,
    });
  if (isDigest(reference)) {
    const match = (await ctx.streams.findImages(head, reference, 2)).find((m) => m.image === reference);
    if (!match) throw unknown();
    const tag = match.tag ? (await ctx.streams.getTags(head, [match.tag])).get(match.tag) : undefined;
    return {
      digest: reference,
      reference: match.dockerImageReference,
      insecure: !!tag?.spec?.importPolicy?.insecure,
    };
  }
  if (!isTagName(reference))
    throw new DistributionError('TAG_INVALID', 'manifest tag did not match URI', { reference });
  const tag = (await ctx.streams.getTags(head, [reference])).get(reference);
  const event = tag?.recent[0];
  if (!event?.image || !isDigest(event.image)) throw unknown();
  return {
    digest: event.image,
    reference: event.dockerImageReference,
    insecure: !!tag?.spec?.importPolicy?.insecure,
  };
}

/** The upstream repository an image was recorded from, with this project's credentials for it. */
async function upstreamOf(ctx: PullContext, ns: string, origin: Origin): Promise<RepositoryTarget> {
  const ref = parseNormalizedReference(origin.reference);
  const host = apiHost(ref.domain);
  const external = ctx.externalCredentials?.handles(host) ? ctx.externalCredentials : undefined;
  let credential: RegistryCredential | undefined;
  if (external) credential = await external.get(host, false);
  else credential = credentialsFor(await importCredentials(ctx, ns), ref.domain, ref.path)[0];
  return {
    host,
    path: ref.path,
    insecure: origin.insecure,
    credential,
    ...(external ? { refreshCredential: () => external.get(host, true) } : {}),
  };
}

/** An upstream failure in the distribution error form; nothing of the project's credentials in it. */
function upstreamFailure(e: unknown, what: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN', digest: string): unknown {
  if (e instanceof SecretUnusable)
    return new DistributionError('UNAVAILABLE', e.message, undefined, e.toStatus().code === 503 ? 503 : 502);
  if (!isRegistryError(e)) return e;
  if (e.kind === 'not-found')
    return new DistributionError(what, 'the upstream registry no longer has this content', { digest });
  if (e.kind === 'rate-limited')
    return new DistributionError('TOOMANYREQUESTS', 'the upstream registry asked to slow down', { digest });
  return new DistributionError(
    'UNAVAILABLE',
    `the upstream registry could not be read: ${e.message}`,
    undefined,
    502,
  );
}

/** Config and layers of an image manifest; the children of an index. */
export function referencesOf(raw: Buffer, mediaType: string): string[] {
  const json = JSON.parse(raw.toString('utf8')) as {
    config?: { digest?: unknown };
    layers?: Array<{ digest?: unknown }>;
    manifests?: Array<{ digest?: unknown }>;
  };
  const digests =
    MANIFEST_TYPES_OF_IMAGES.has(mediaType) || json.config
      ? [json.config?.digest, ...(json.layers ?? []).map((l) => l.digest)]
      : (json.manifests ?? []).map((m) => m.digest);
  return digests.filter((d): d is string => typeof d === 'string' && isDigest(d));
}

/** The project's copy of a manifest, fetched by digest with its credentials and kept the first time. */
async function storedManifest(
  ctx: PullContext,
  ns: string,
  origin: Origin,
  deadline: DeadlineLike,
): Promise<StoredManifest> {
  const kept = await ctx.manifests.get(ns, origin.digest);
  if (kept) return kept;
  let fetched: { digest: string; mediaType: string; raw: Buffer };
  try {
    fetched = await ctx.pullThrough.getManifest(await upstreamOf(ctx, ns, origin), origin.digest, deadline);
  } catch (e) {
    throw upstreamFailure(e, 'MANIFEST_UNKNOWN', origin.digest);
  }
  const manifest: StoredManifest = { ...fetched, references: referencesOf(fetched.raw, fetched.mediaType) };
  await ctx.manifests.put(ns, manifest);
  return manifest;
}

/** GET/HEAD a manifest by tag or digest: upstream's bytes for the digest the stream pins. */
export async function pullManifest(
  ctx: PullContext,
  repo: RepositoryName,
  reference: string,
  accept: string | undefined,
): Promise<StoredManifest> {
  const head = await headOf(ctx, repo);
  const origin = await originOf(ctx, head, reference);
  const manifest = await storedManifest(ctx, repo.namespace, origin, deadlineIn(ctx.upstreamTimeoutMs));
  if (!isDigest(reference) && !acceptsManifest(accept, manifest.mediaType))
    throw new DistributionError(
      'MANIFEST_UNKNOWN',
      `${manifest.mediaType} found, but the Accept header does not support it`,
      { name: `${repo.namespace}/${repo.stream}`, reference },
    );
  return manifest;
}

/** Where a blob the stream may serve comes from, and its size as the manifest listing it declares. */
async function blobOrigin(
  ctx: PullContext,
  head: StreamHead,
  digest: string,
  deadline: DeadlineLike,
): Promise<{ origin: Origin; size?: number }> {
  if (!isDigest(digest))
    throw new DistributionError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
      digest,
    });
  const found = (await listedBy(ctx, head, digest)) ?? (await walkForBlob(ctx, head, digest, deadline));
  if (!found) throw new DistributionError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
  const size = declaredSize(found.manifest, digest);
  return { origin: { ...found.origin, digest }, ...(size !== undefined ? { size } : {}) };
}

/**
 * HEAD of a blob: answered from the manifest that lists it, without asking upstream (a redirect upstream would
 * hand out a location signed for GET only).
 */
export async function statBlob(
  ctx: PullContext,
  repo: RepositoryName,
  digest: string,
): Promise<{ size?: number }> {
  const head = await headOf(ctx, repo);
  const { size } = await blobOrigin(ctx, head, digest, deadlineIn(ctx.upstreamTimeoutMs));
  return size !== undefined ? { size } : {};
}

/** A blob of a manifest the stream references: passed on from upstream (redirect or verified stream). */
export async function pullBlob(ctx: PullContext, repo: RepositoryName, digest: string): Promise<BlobSource> {
  const head = await headOf(ctx, repo);
  const deadline = deadlineIn(ctx.upstreamTimeoutMs);
  const { origin } = await blobOrigin(ctx, head, digest, deadline);
  let source: BlobSource;
  try {
    source = await ctx.pullThrough.openBlob(await upstreamOf(ctx, repo.namespace, origin), digest, deadline);
  } catch (e) {
    throw upstreamFailure(e, 'BLOB_UNKNOWN', digest);
  }
  if (source.kind === 'redirect') return source;
  const limit = ctx.maxStreamedBlobBytes;
  if (limit !== undefined && (source.size ?? 0) > limit) {
    source.cancel();
    throw new DistributionError(
      'UNSUPPORTED',
      `blob ${digest} is ${source.size} bytes; this registry streams blobs of at most ${limit} bytes (pull it from its upstream registry, or store it where the upstream redirects downloads)`,
      { digest, size: source.size, limit },
      413,
    );
  }
  return { ...source, body: verified(capped(source.body, limit, digest), digest, ctx.log, repo) };
}

/** The size a manifest's descriptor declares for one of its blobs (config or layer). */
function declaredSize(manifest: StoredManifest, digest: string): number | undefined {
  const json = JSON.parse(manifest.raw.toString('utf8')) as {
    config?: { digest?: unknown; size?: unknown };
    layers?: Array<{ digest?: unknown; size?: unknown }>;
  };
  const d = [json.config, ...(json.layers ?? [])].find((x) => x?.digest === digest);
  return typeof d?.size === 'number' ? d.size : undefined;
}

/** A referenced manifest of this project that lists the blob. */
async function listedBy(
  ctx: PullContext,
  head: StreamHead,
  blob: string,
): Promise<{ origin: Origin; manifest: StoredManifest } | undefined> {
  for (const digest of await ctx.manifests.listing(head.namespace, blob)) {
    let origin: Origin;
    try {
      origin = await originOf(ctx, head, digest);
    } catch (e) {
      if (!(e instanceof DistributionError)) throw e;
      continue;
    }
    const manifest = await ctx.manifests.get(head.namespace, digest);
    if (manifest) return { origin, manifest };
  }
  return undefined;
}

/**
 * No stored manifest of the stream lists the blob yet (a client asking for a blob before its manifest, or
 * manifests kept by another process): the stream's images are looked at, their manifests fetched and kept.
 */
async function walkForBlob(
  ctx: PullContext,
  head: StreamHead,
  blob: string,
  deadline: DeadlineLike,
): Promise<{ origin: Origin; manifest: StoredManifest } | undefined> {
  const images = await ctx.streams.findImages(head, 'sha256:', MAX_IMAGES_WALKED);
  for (const image of images) {
    const origin = await originOf(ctx, head, image.image);
    const manifest = await storedManifest(ctx, head.namespace, origin, deadline).catch(() => undefined);
    if (manifest?.references.includes(blob)) return { origin, manifest };
  }
  return undefined;
}

/**
 * The blob's bytes as they arrive, hashed on the way. The last chunk is held back until the whole body matched its
 * digest: a body that does not match ends in an error before it is complete (the connection is cut, so the client
 * fails rather than keeping wrong bytes that look whole), and is logged. Memory: one chunk.
 */
async function* verified(
  body: AsyncIterable<Buffer>,
  digest: string,
  log: Log,
  repo: RepositoryName,
): AsyncGenerator<Buffer> {
  const [algorithm, expected] = digest.split(':') as [string, string];
  const hash = createHash(algorithm);
  let bytes = 0;
  let held: Buffer | undefined;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.length;
    if (held) yield held;
    held = chunk;
  }
  const actual = hash.digest('hex');
  if (actual !== expected) {
    log({
      level: 'error',
      message: 'upstream blob does not match its digest',
      repository: `${repo.namespace}/${repo.stream}`,
      digest,
      actual: `${algorithm}:${actual}`,
      bytes,
    });
    throw new Error(`blob ${digest} does not match its content`);
  }
  if (held) yield held;
}

/** A body without a declared length that turns out longer than the limit ends in an error (a cut transfer). */
async function* capped(body: AsyncIterable<Buffer>, limit: number | undefined, digest: string) {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (limit !== undefined && bytes > limit) throw new Error(`blob ${digest} exceeds ${limit} bytes`);
    yield chunk;
  }
}

/** Tags of the stream that point at an image, for `tags/list`. */
export async function streamTags(ctx: PullContext, repo: RepositoryName): Promise<string[]> {
  const head = await headOf(ctx, repo);
  const { tags } = await ctx.streams.queryTags(head);
  return tags.filter((t) => t.recent[0]?.image).map((t) => t.name);
}
