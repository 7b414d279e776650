/**
 * Registry push notifications turned into {@link PushHint}s: "something changed in this repository". Pure parsing,
 * no I/O. A hint is only a hint — the consumer re-reads the registry before trusting it — so every parser keeps
 * what the payload says and drops only what is certainly irrelevant (pulls, blob uploads, other event types).
 *
 * Formats and where their shapes come from:
 * - `distribution`: CNCF distribution (docker-registry 2.x/3.x) notifications, notifications/event.go + bridge.go.
 *   Verified against a real docker-registry 2.8.2: one envelope per event, content type
 *   `application/vnd.docker.distribution.events.v1+json`; blob events carry `mediaType: application/octet-stream`
 *   and a `/blobs/` URL; manifest pushes carry the manifest media type, a `/manifests/<digest>` URL and the tag
 *   when pushed by tag; deletes carry no media type and no URL, only `digest` (manifest *or blob*: the two are
 *   indistinguishable), only `tag` (one event per tag of a deleted manifest), or neither (repository deleted, 3.x).
 * - `dockerhub`: Docker Hub repository webhooks (docs.docker.com/docker-hub/webhooks).
 * - `harbor`: Harbor webhooks, both the "Default" payload (`type: PUSH_ARTIFACT`, also Harbor 1.x `pushImage`) and the
 *   "CloudEvents" one (`type: harbor.artifact.pushed`, `data`); goharbor/harbor webhook/artifact/artifact.go.
 * - `quay`: Quay "Repository Push" notifications (updated_tags as a list; the 2013 format's {tag: image} map too).
 * - ECR: EventBridge `ECR Image Action` events (AmazonECR/latest/userguide/ecr-eventbridge.html).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { StatusError } from '../errors';
import { DOCKER_HUB_DOMAIN } from '../reference';

export interface PushHint {
  /** Registry host as it appears in image references: 'docker.io', 'quay.io', '127.0.0.1:5000', '123456789012.dkr.ecr.eu-west-1.amazonaws.com'. Lower-case. */
  registry: string;
  /** Repository path inside the registry, e.g. 'library/nginx', 'team/app' (Docker Hub one-word repos get 'library/'). */
  repository: string;
  /** The tag that was pushed or deleted, when the notification names one. */
  tag?: string;
  /** The manifest digest, when given. */
  digest?: string;
  action: 'push' | 'delete';
}

export type WebhookFormat = 'distribution' | 'dockerhub' | 'harbor' | 'quay';

/** A notification body that cannot be understood; the HTTP layer answers it with 400 BadRequest. */
export class NotificationError extends StatusError {
  constructor(message: string) {
    super(400, 'BadRequest', message);
    this.name = 'NotificationError';
  }
}

// --- names (distribution/reference grammar) ---------------------------------------------------------------------

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REPOSITORY_PATH = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])';
const HOST = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-f0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
/** distribution/reference RepositoryNameTotalLengthMax. */
const REPOSITORY_MAX = 255;
/** Names Docker Hub is reached by besides `docker.io`; image references spell them all `docker.io`. */
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** Manifest media types a registry stores under /manifests/ (docker schema 1/2, OCI, the short-lived OCI artifact). */
const MANIFEST_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.artifact.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

function hint(
  where: string,
  action: PushHint['action'],
  registry: string,
  repository: string,
  tag?: string,
  digest?: string,
): PushHint {
  let host = registry.toLowerCase();
  if (DOCKER_HUB_ALIASES.has(host)) host = DOCKER_HUB_DOMAIN;
  if (!HOST.test(host))
    throw new NotificationError(`${where}: invalid registry host ${JSON.stringify(registry)}`);
  let path = repository.replace(/^\/+|\/+$/g, '');
  if (host === DOCKER_HUB_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (!REPOSITORY_PATH.test(path) || path.length > REPOSITORY_MAX)
    throw new NotificationError(`${where}: invalid repository name ${JSON.stringify(repository)}`);
  const out: PushHint = { registry: host, repository: path, action };
  if (tag) {
    if (!TAG.test(tag)) throw new NotificationError(`${where}: invalid tag ${JSON.stringify(tag)}`);
    out.tag = tag;
  }
  if (digest) {
    if (!DIGEST.test(digest))
      throw new NotificationError(`${where}: invalid digest ${JSON.stringify(digest)}`);
    out.digest = digest;
  }
  return out;
}

/** Host and path of `https://host/ns/repo`, `host/ns/repo:tag` or `host/ns/repo@sha256:…` (no scheme). */
function splitImageUrl(where: string, raw: string): { host: string; path: string } {
  const s = raw.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash <= 0 || slash === s.length - 1)
    throw new NotificationError(`${where}: cannot tell registry and repository from ${JSON.stringify(raw)}`);
  let path = s.slice(slash + 1);
  const at = path.indexOf('@');
  if (at >= 0) path = path.slice(0, at);
  const colon = path.lastIndexOf(':');
  if (colon >= 0 && !path.slice(colon).includes('/')) path = path.slice(0, colon);
  return { host: s.slice(0, slash), path };
}

function parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const at = issue.path.length ? `${issue.path.join('.')}: ` : '';
  throw new NotificationError(`malformed ${what}: ${at}${issue.message}`);
}

/** Empty strings mean "absent" in several payloads (Docker Hub, Harbor). */
const optionalString = z
  .string()
  .nullish()
  .transform((s) => s || undefined);

// --- distribution ------------------------------------------------------------------------------------------------

const DistributionEvent = z.object({
  action: z.string(),
  target: z.object({
    mediaType: optionalString,
    digest: optionalString,
    repository: z.string().min(1),
    url: optionalString,
    tag: optionalString,
  }),
  request: z.object({ host: optionalString }).nullish(),
});
const DistributionEnvelope = z.object({ events: z.array(DistributionEvent) });

type Kind = 'manifest' | 'blob' | 'unknown';

/** The bridge builds `/v2/<name>/manifests/<digest>` or `/v2/<name>/blobs/<digest>` URLs; else go by media type. */
function targetKind(target: { mediaType?: string | undefined; url?: string | undefined }): Kind {
  if (target.url) {
    const path = target.url.replace(/[?#].*$/, '');
    if (/\/manifests\/[^/]+$/.test(path)) return 'manifest';
    if (/\/blobs\/[^/]+$/.test(path)) return 'blob';
  }
  if (target.mediaType) return MANIFEST_MEDIA_TYPES.has(target.mediaType) ? 'manifest' : 'blob';
  return 'unknown';
}

/**
 * `target.url` first: it is built like every other URL the registry hands out (honouring X-Forwarded-Host/-Proto
 * and `http.host`), so behind a proxy it names the public host, whereas `request.host` is the raw Host header the
 * registry process saw (verified: with X-Forwarded-Host set, request.host stayed 127.0.0.1:5055). Deletes carry no
 * URL, and `http.relativeurls` makes URLs host-less, so `request.host` remains the fallback.
 */
function distributionHost(where: string, e: z.output<typeof DistributionEvent>): string {
  if (e.target.url) {
    try {
      const host = new URL(e.target.url).host;
      if (host) return host;
    } catch {
      // relative URL: fall through
    }
  }
  if (e.request?.host) return e.request.host;
  throw new NotificationError(`${where}: neither target.url nor request.host names the registry`);
}

function parseDistribution(body: unknown): PushHint[] {
  const envelope = parse(DistributionEnvelope, body, 'distribution notification');
  const hints: PushHint[] = [];
  envelope.events.forEach((e, i) => {
    const where = `distribution notification events.${i}`;
    if (e.action === 'push') {
      // Blob uploads precede every manifest push; only the manifest says a tag or image changed.
      if (targetKind(e.target) !== 'manifest') return;
      if (!e.target.digest) throw new NotificationError(`${where}: manifest push without target.digest`);
      hints.push(
        hint(where, 'push', distributionHost(where, e), e.target.repository, e.target.tag, e.target.digest),
      );
    } else if (e.action === 'delete') {
      // Real deletes have neither media type nor URL; skip only what is certainly a blob.
      if (targetKind(e.target) === 'blob') return;
      hints.push(
        hint(where, 'delete', distributionHost(where, e), e.target.repository, e.target.tag, e.target.digest),
      );
    }
    // pull, mount and anything newer: nothing changed.
  });
  return hints;
}

// --- Docker Hub --------------------------------------------------------------------------------------------------

const DockerHubBody = z.object({
  push_data: z.object({ tag: optionalString }),
  repository: z.object({ repo_name: optionalString, namespace: optionalString, name: optionalString }),
});

function parseDockerHub(body: unknown): PushHint[] {
  const b = parse(DockerHubBody, body, 'Docker Hub webhook');
  const { repo_name, namespace, name } = b.repository;
  const repository = repo_name ?? (name ? (namespace ? `${namespace}/${name}` : name) : undefined);
  if (!repository)
    throw new NotificationError('malformed Docker Hub webhook: repository.repo_name is missing');
  return [hint('Docker Hub webhook', 'push', DOCKER_HUB_DOMAIN, repository, b.push_data.tag)];
}

// --- Harbor ------------------------------------------------------------------------------------------------------

const HARBOR_ACTIONS: Record<string, PushHint['action']> = {
  PUSH_ARTIFACT: 'push',
  DELETE_ARTIFACT: 'delete',
  'harbor.artifact.pushed': 'push',
  'harbor.artifact.deleted': 'delete',
  // Harbor 1.9/1.10
  pushImage: 'push',
  deleteImage: 'delete',
};

const HarborType = z.object({ type: z.string() });
const HarborData = z.object({
  resources: z
    .array(z.object({ digest: optionalString, tag: optionalString, resource_url: optionalString }))
    .nullish(),
  repository: z
    .object({ repo_full_name: optionalString, namespace: optionalString, name: optionalString })
    .nullish(),
});
const HarborBody = z.union([
  z.object({ event_data: HarborData }),
  z.object({ specversion: z.string(), data: HarborData }),
]);

function parseHarbor(body: unknown): PushHint[] {
  const { type } = parse(HarborType, body, 'Harbor webhook');
  const action = Object.hasOwn(HARBOR_ACTIONS, type) ? HARBOR_ACTIONS[type] : undefined;
  if (!action) return []; // pulls, scans, quota, replication, retention…
  const b = parse(HarborBody, body, 'Harbor webhook');
  const data = 'event_data' in b ? b.event_data : b.data;
  const repo = data.repository;
  const named =
    repo?.repo_full_name ?? (repo?.namespace && repo.name ? `${repo.namespace}/${repo.name}` : undefined);
  return (data.resources ?? []).map((r, i) => {
    const where = `Harbor webhook resources.${i}`;
    if (!r.resource_url) throw new NotificationError(`${where}: resource_url is missing`);
    const { host, path } = splitImageUrl(where, r.resource_url);
    // With no tag Harbor puts the digest in `tag`; tags never contain ':'.
    const tag = r.tag && !r.tag.includes(':') ? r.tag : undefined;
    return hint(where, action, host, named ?? path, tag, r.digest);
  });
}

// --- Quay --------------------------------------------------------------------------------------------------------

const QuayBody = z.object({
  docker_url: z.string().min(1),
  updated_tags: z.union([z.array(z.string()), z.record(z.string(), z.unknown())]).nullish(),
});

function parseQuay(body: unknown): PushHint[] {
  const b = parse(QuayBody, body, 'Quay notification');
  const where = 'Quay notification';
  const { host, path: repository } = splitImageUrl(where, b.docker_url);
  const tags = Array.isArray(b.updated_tags) ? b.updated_tags : Object.keys(b.updated_tags ?? {});
  // No tag named (a push by digest): still one hint for the repository.
  if (tags.length === 0) return [hint(where, 'push', host, repository)];
  return [...new Set(tags)].map((tag) => hint(where, 'push', host, repository, tag));
}

export function parseWebhook(format: WebhookFormat, body: unknown): PushHint[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new NotificationError(`malformed ${format} notification: expected a JSON object`);
  switch (format) {
    case 'distribution':
      return parseDistribution(body);
    case 'dockerhub':
      return parseDockerHub(body);
    case 'harbor':
      return parseHarbor(body);
    case 'quay':
      return parseQuay(body);
    default:
      throw new NotificationError(`unknown notification format ${JSON.stringify(format)}`);
  }
}

// --- ECR (EventBridge) -------------------------------------------------------------------------------------------

const EcrEnvelope = z.object({ source: z.string().optional(), 'detail-type': z.string().optional() });
const EcrImageAction = z.object({
  account: z.string().regex(/^\d{12}$/, 'expected a 12-digit account id'),
  region: z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, 'expected an AWS region'),
  detail: z.object({
    result: z.string(),
    'action-type': z.string(),
    'repository-name': z.string().min(1),
    'image-digest': optionalString,
    'image-tag': optionalString,
  }),
});

/** ECR registry host; China regions live under amazonaws.com.cn. */
function ecrHost(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/**
 * An EventBridge `ECR Image Action` event (source `aws.ecr`). Other ECR events (scans, pull-through cache, …),
 * failed actions and action types other than PUSH/DELETE give no hint. A push of a multi-arch image also emits
 * untagged PUSH events for its child manifests; they come through as hints without a tag.
 */
export function parseEcrImageAction(event: unknown): PushHint[] {
  const where = 'ECR Image Action event';
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw new NotificationError(`malformed ${where}: expected a JSON object`);
  const envelope = parse(EcrEnvelope, event, where);
  if (envelope.source !== 'aws.ecr' || envelope['detail-type'] !== 'ECR Image Action') return [];
  const e = parse(EcrImageAction, event, where);
  const d = e.detail;
  if (d.result !== 'SUCCESS') return [];
  const action = d['action-type'] === 'PUSH' ? 'push' : d['action-type'] === 'DELETE' ? 'delete' : undefined;
  if (!action) return [];
  return [
    hint(
      where,
      action,
      ecrHost(e.account, e.region),
      d['repository-name'],
      d['image-tag'],
      d['image-digest'],
    ),
  ];
}

// --- authorization -----------------------------------------------------------------------------------------------

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Whether a webhook call carries the shared secret: `Authorization: Bearer <secret>` (distribution's configured
 * headers), the raw `Authorization: <secret>` (Harbor sends its auth header value verbatim), or a `?token=<secret>`
 * query parameter (Docker Hub and Quay cannot send headers). Comparisons are on SHA-256 digests with
 * timingSafeEqual, so neither the secret's length nor a matching prefix shows in the timing. An empty secret never
 * authorizes anything.
 */
export function webhookAuthorized(
  secret: string,
  authorization: string | undefined,
  queryToken: string | undefined,
): boolean {
  if (!secret) return false;
  const expected = sha256(secret);
  const candidates: string[] = [];
  if (authorization !== undefined) {
    const value = authorization.trim();
    const bearer = /^bearer[ \t]+(.+)$/i.exec(value);
    if (bearer) candidates.push(bearer[1]!.trim());
    candidates.push(value);
  }
  if (queryToken !== undefined) candidates.push(queryToken);
  let ok = false;
  // Every candidate is compared, whichever matches.
  for (const c of candidates) ok = timingSafeEqual(sha256(c), expected) || ok;
  return ok;
}
