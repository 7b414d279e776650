/**
 * Test images for the registries in ./registries: a small OCI layout built with umoci (once per process) and
 * pushed with skopeo in all four manifest media types, plus fast pushes of many distinct images over the
 * registry API from Node (skopeo costs ~70 ms a tag; the API costs ~3 requests a tag).
 *
 * Everything here is asynchronous on purpose: a token registry's token server answers from this process, so a
 * synchronous child (execFileSync skopeo) would deadlock against it.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Registry } from './registries';
import { PASSWORD, TOKEN_SERVICE, USER } from './token-server';

const run = promisify(execFile);

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/**
 * All four manifest media types. With fewer, distribution 2.8 silently converts (schema1) or picks a child of a
 * list (functions/registry/media-types.ts), so every fixture fetch sends all four.
 */
export const ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.dockerManifest,
].join(', ');

/** Tags pushStandardContent() creates, with the media type each one is served as. */
export const STANDARD_TAGS = {
  oci: MEDIA_TYPES.ociManifest,
  latest: MEDIA_TYPES.ociManifest,
  arm64: MEDIA_TYPES.ociManifest,
  v2s2: MEDIA_TYPES.dockerManifest,
  multi: MEDIA_TYPES.ociIndex,
  'multi-v2s2': MEDIA_TYPES.dockerList,
} as const;

export type StandardTag = keyof typeof STANDARD_TAGS;

const SKOPEO_TIMEOUT_MS = 60_000;
const FIXED_TIME = '2026-01-01T00:00:00Z';

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

// ---------------------------------------------------------------------------------------------------------------
// The OCI layout (umoci)
// ---------------------------------------------------------------------------------------------------------------

let layout: Promise<string> | undefined;

/**
 * Removes `dir` once this process is gone, however it goes: vitest ends its workers without running 'exit'
 * hooks, so a detached shell waits for EOF on a pipe only this process holds open, then removes the dir.
 */
function removeWhenProcessEnds(dir: string): void {
  const child = spawn('sh', ['-c', 'while read -r _; do :; done; rm -rf "$1"', 'test-layout-cleanup', dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  child.on('error', () => {});
  child.stdin?.on('error', () => {});
  // Neither may keep this process alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
}

/**
 * An OCI layout with two single-platform images, `amd64` and `arm64` (distinct configs and layers), and an
 * index `multi` holding both. Built once per process; returns the layout path (`oci:<path>:<tag>` for skopeo).
 * Timestamps are fixed so the digests are the same from run to run.
 */
export function testLayout(): Promise<string> {
  layout ??= buildLayout().catch((err: unknown) => {
    // A failed build must not poison every later test in the process.
    layout = undefined;
    throw err;
  });
  return layout;
}

async function buildLayout(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'test-layout-'));
  removeWhenProcessEnds(dir);
  const oci = join(dir, 'oci');
  const umoci = (args: string[]) => run('umoci', args, { timeout: 30_000 });
  await umoci(['init', '--layout', oci]);
  const children: Array<Record<string, unknown>> = [];
  for (const arch of ['amd64', 'arm64'] as const) {
    const img = `${oci}:${arch}`;
    await umoci(['new', '--image', img]);
    await umoci([
      'config',
      '--image',
      img,
      '--created',
      FIXED_TIME,
      '--history.created',
      FIXED_TIME,
      '--architecture',
      arch,
      '--os',
      'linux',
      '--config.label',
      `org.opencontainers.image.title=tiny-${arch}`,
      '--config.env',
      `ARCH=${arch}`,
      '--config.entrypoint',
      '/bin/sh',
      '--config.cmd',
      '/hello',
    ]);
    const root = join(dir, `rootfs-${arch}`);
    await mkdir(root);
    const file = join(root, 'hello.txt');
    await writeFile(file, `hello from ${arch}\n`);
    // The tar entry carries the file's mtime: fix it, or every run yields new layer digests.
    await utimes(file, new Date(FIXED_TIME), new Date(FIXED_TIME));
    await umoci(['insert', '--image', img, '--history.created', FIXED_TIME, file, '/hello.txt']);
    const index = JSON.parse(await readFile(join(oci, 'index.json'), 'utf8')) as {
      manifests: Array<Record<string, unknown> & { annotations?: Record<string, string> }>;
    };
    const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === arch);
    if (!d) throw new Error(`umoci left no ${arch} in ${oci}/index.json`);
    children.push({
      mediaType: d.mediaType,
      digest: d.digest,
      size: d.size,
      platform: { architecture: arch, os: 'linux' },
    });
  }
  // umoci cannot make an index: write the blob and reference it from index.json ourselves.
  const list = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: children }),
  );
  const digest = sha256(list);
  await writeFile(join(oci, 'blobs', 'sha256', digest.slice('sha256:'.length)), list);
  const indexFile = join(oci, 'index.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8')) as { manifests: unknown[] };
  index.manifests.push({
    mediaType: MEDIA_TYPES.ociIndex,
    digest,
    size: list.length,
    annotations: { 'org.opencontainers.image.ref.name': 'multi' },
  });
  await writeFile(indexFile, JSON.stringify(index));
  return oci;
}

// ---------------------------------------------------------------------------------------------------------------
// Talking to a registry as the test user
// ---------------------------------------------------------------------------------------------------------------

const basic = () => `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** Headers that authenticate the test user for `actions` on `repo` (a fresh token for token registries). */
export async function authHeaders(
  reg: Registry,
  repo: string,
  actions = 'pull,push',
): Promise<Record<string, string>> {
  if (reg.kind === 'anonymous') return {};
  if (reg.kind === 'htpasswd') return { authorization: basic() };
  if (!reg.tokenServer) throw new Error('token registry without a token server');
  const url = new URL(reg.tokenServer.url);
  url.searchParams.set('service', TOKEN_SERVICE);
  url.searchParams.set('scope', `repository:${repo}:${actions}`);
  const res = await fetch(url, { headers: { authorization: basic() }, signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`token for ${repo}: ${res.status} ${await res.text()}`);
  return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
}

/**
 * fetch against the registry as the test user. A 401 re-authenticates once (a token may have expired during a
 * long push) and is then returned as is: never a loop of 401s.
 */
class Session {
  private headers: Promise<Record<string, string>> | undefined;

  constructor(
    readonly reg: Registry,
    readonly repo: string,
    private readonly actions: string,
    headers?: Record<string, string>,
  ) {
    if (headers) this.headers = Promise.resolve(headers);
  }

  private auth(): Promise<Record<string, string>> {
    this.headers ??= authHeaders(this.reg, this.repo, this.actions);
    return this.headers;
  }

  async fetch(
    url: string | URL,
    init: RequestInit & { headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const target = new URL(url, this.reg.url);
    // Credentials go to the registry only, whatever a Location header says.
    if (target.origin !== new URL(this.reg.url).origin)
      throw new Error(`refusing to send credentials to ${target}`);
    const send = async () =>
      fetch(target, {
        ...init,
        headers: { ...(init.headers ?? {}), ...(await this.auth()) },
        signal: AbortSignal.timeout(30_000),
      });
    const res = await send();
    if (res.status !== 401 || this.reg.kind === 'anonymous') return res;
    await res.arrayBuffer();
    this.headers = undefined;
    return send();
  }
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/** A manifest as the registry serves it, verified against its digest. */
export interface FetchedManifest {
  /** sha256 of the raw body; checked against Docker-Content-Digest. */
  digest: string;
  /** Content-Type the registry served. */
  mediaType: string;
  size: number;
  raw: Buffer;
  json: Record<string, unknown>;
}

/** GET a manifest (tag or digest) with the four-type Accept, verifying Docker-Content-Digest against the body. */
export function getManifest(reg: Registry, repo: string, ref: string): Promise<FetchedManifest> {
  return fetchManifest(new Session(reg, repo, 'pull'), ref);
}

async function fetchManifest(session: Session, ref: string): Promise<FetchedManifest> {
  const repo = session.repo;
  const res = await session.fetch(`/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT } });
  if (res.status !== 200) throw new Error(`GET manifest ${repo}:${ref}: ${res.status} ${await res.text()}`);
  const raw = Buffer.from(await res.arrayBuffer());
  const digest = sha256(raw);
  const header = res.headers.get('docker-content-digest');
  if (header !== digest)
    throw new Error(`${repo}:${ref}: Docker-Content-Digest ${header} but the body hashes to ${digest}`);
  if (ref.startsWith('sha256:') && ref !== digest)
    throw new Error(`${repo}@${ref} served a body of ${digest}`);
  return {
    digest,
    mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim(),
    size: raw.length,
    raw,
    json: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Standard content: the four media types (skopeo)
// ---------------------------------------------------------------------------------------------------------------

export interface ManifestInfo extends Descriptor {
  /** Single-image manifests: the config blob. */
  config?: Descriptor;
  /** Single-image manifests: the layers. */
  layers?: Descriptor[];
  /** Lists (OCI index, Docker manifest list): the children, in order. */
  children?: Array<Descriptor & { platform: Platform }>;
}

export interface PushedContent {
  repo: string;
  /** tag → manifest digest as the registry serves it. */
  digests: Record<string, string>;
  /** tag → media type (Content-Type) as served. */
  mediaTypes: Record<string, string>;
  /** For the two list tags: architecture → child digest. */
  children: Record<string, Record<string, string>>;
  /** tag → the manifest's description (config, layers or children). */
  manifests: Record<string, ManifestInfo>;
  /** Every manifest pushed (tagged ones and list children), by digest. */
  byDigest: Record<string, ManifestInfo>;
}

function describeManifest(m: FetchedManifest): ManifestInfo {
  const info: ManifestInfo = { mediaType: m.mediaType, digest: m.digest, size: m.size };
  const desc = (d: Record<string, unknown>): Descriptor => ({
    mediaType: String(d.mediaType),
    digest: String(d.digest),
    size: Number(d.size),
  });
  if (Array.isArray(m.json.manifests)) {
    info.children = (m.json.manifests as Array<Record<string, unknown>>).map((c) => ({
      ...desc(c),
      platform: c.platform as Platform,
    }));
  } else {
    info.config = desc(m.json.config as Record<string, unknown>);
    info.layers = (m.json.layers as Array<Record<string, unknown>>).map(desc);
  }
  return info;
}

/**
 * Pushes the four media types with skopeo (`--dest-creds` for both auth kinds; the token server grants the test
 * user push): `oci`/`latest` (OCI manifest, amd64), `arm64` (OCI manifest), `v2s2` (Docker schema2, amd64),
 * `multi` (OCI index of both) and `multi-v2s2` (Docker manifest list, converted by skopeo). Then reads every
 * manifest back, children included, and describes it.
 */
export async function pushStandardContent(reg: Registry, repo = 'tiny/app'): Promise<PushedContent> {
  const oci = await testLayout();
  const dest = (tag: string) => `docker://${reg.host}/${repo}:${tag}`;
  const creds = reg.kind === 'anonymous' ? [] : ['--dest-creds', `${USER}:${PASSWORD}`];
  const copy = (args: string[]) =>
    run('skopeo', ['--insecure-policy', 'copy', '-q', '--dest-tls-verify=false', ...creds, ...args], {
      timeout: SKOPEO_TIMEOUT_MS,
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`skopeo copy ${args.join(' ')}: ${err.stderr || err.message}`);
    });
  // One at a time: the copies share blobs and manifests, and distribution 2.8's filesystem driver rewrites a
  // repository's link files in place (truncate, then write), so a concurrent push of the same blob to the same
  // repository can read an empty link ("manifest blob unknown"). Seen with five parallel copies, which saved
  // little time anyway. Different repositories or registries may be filled in parallel.
  await copy([`oci:${oci}:amd64`, dest('oci')]);
  await copy([`oci:${oci}:arm64`, dest('arm64')]);
  await copy(['--format', 'v2s2', `oci:${oci}:amd64`, dest('v2s2')]);
  await copy(['--all', `oci:${oci}:multi`, dest('multi')]);
  await copy(['--all', '--format', 'v2s2', `oci:${oci}:multi`, dest('multi-v2s2')]);
  const session = new Session(reg, repo, 'pull,push');
  await copyTagWith(session, 'oci', 'latest');

  const content: PushedContent = {
    repo,
    digests: {},
    mediaTypes: {},
    children: {},
    manifests: {},
    byDigest: {},
  };
  const fetched = await Promise.all(
    Object.keys(STANDARD_TAGS).map(async (tag) => [tag, await fetchManifest(session, tag)] as const),
  );
  for (const [tag, m] of fetched) {
    const info = describeManifest(m);
    content.digests[tag] = m.digest;
    content.mediaTypes[tag] = m.mediaType;
    content.manifests[tag] = info;
    content.byDigest[m.digest] = info;
    if (info.children)
      content.children[tag] = Object.fromEntries(
        info.children.map((c) => [c.platform.architecture, c.digest]),
      );
  }
  const missing = Object.values(content.manifests)
    .flatMap((m) => m.children ?? [])
    .map((c) => c.digest)
    .filter((d, i, all) => !content.byDigest[d] && all.indexOf(d) === i);
  for (const m of await Promise.all(missing.map((d) => fetchManifest(session, d))))
    content.byDigest[m.digest] = describeManifest(m);

  for (const [tag, mediaType] of Object.entries(STANDARD_TAGS))
    if (content.mediaTypes[tag] !== mediaType)
      throw new Error(`${repo}:${tag} is served as ${content.mediaTypes[tag]}, expected ${mediaType}`);
  return content;
}

// ---------------------------------------------------------------------------------------------------------------
// Many distinct images over the registry API
// ---------------------------------------------------------------------------------------------------------------

/** A one-entry ustar archive: enough for a real layer whose diff_id is honest. */
function tarOf(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) =>
    header.write(value, offset, length, 'ascii');
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0');
  field(name, 0, 100);
  field(octal(0o644, 8), 100, 8);
  field(octal(0, 8), 108, 8);
  field(octal(0, 8), 116, 8);
  field(octal(content.length, 12), 124, 12);
  field(octal(Date.parse(FIXED_TIME) / 1000, 12), 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\u000000', 257, 8);
  let sum = 0;
  for (const byte of header) sum += byte;
  field(`${octal(sum, 7)}\u0000 `, 148, 8);
  const padded = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  content.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

let sharedLayer: { blob: Buffer; digest: string; diffId: string } | undefined;

/** The one layer every API-pushed image shares: pushed once per repository, so a tag costs ~3 requests. */
function layer() {
  if (!sharedLayer) {
    const tar = tarOf('hello.txt', Buffer.from('hello\n'));
    const blob = gzipSync(tar);
    sharedLayer = { blob, digest: sha256(blob), diffId: sha256(tar) };
  }
  return sharedLayer;
}

async function blobExists(session: Session, digest: string): Promise<boolean> {
  const res = await session.fetch(`/v2/${session.repo}/blobs/${digest}`, { method: 'HEAD' });
  return res.status === 200;
}

/** Monolithic upload: POST to open an upload, PUT the whole blob with its digest. */
async function pushBlob(session: Session, blob: Buffer): Promise<string> {
  const digest = sha256(blob);
  const start = await session.fetch(`/v2/${session.repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  const location = start.headers.get('location');
  if (start.status !== 202 || !location) throw new Error(`blob upload start: ${start.status}`);
  const url = new URL(location, session.reg.url);
  url.searchParams.set('digest', digest);
  const put = await session.fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: blob,
  });
  if (put.status !== 201) throw new Error(`blob upload ${digest}: ${put.status} ${await put.text()}`);
  await put.arrayBuffer();
  return digest;
}

async function putManifest(session: Session, ref: string, mediaType: string, raw: Buffer): Promise<string> {
  const res = await session.fetch(`/v2/${session.repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: raw,
  });
  if (res.status !== 201)
    throw new Error(`manifest push ${session.repo}:${ref}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  const digest = sha256(raw);
  const header = res.headers.get('docker-content-digest');
  if (header && header !== digest) throw new Error(`pushed ${digest} but the registry stored ${header}`);
  return digest;
}

/** The config (and so the digest) depends only on label and architecture, never on the tag. */
function imageConfig(label: string, architecture: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture,
      os: 'linux',
      created: FIXED_TIME,
      config: { Labels: { 'test.label': label }, Cmd: ['/hello'] },
      rootfs: { type: 'layers', diff_ids: [layer().diffId] },
    }),
  );
}

/** Pushes the image with this label (config blob, then manifest) under `tags`, one after the other. */
async function pushImageWith(
  session: Session,
  tags: string[],
  label: string,
  architecture: string,
  layerKnown: boolean,
): Promise<string> {
  const l = layer();
  if (!layerKnown && !(await blobExists(session, l.digest))) await pushBlob(session, l.blob);
  const config = imageConfig(label, architecture);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MEDIA_TYPES.ociLayer, digest: l.digest, size: l.blob.length }],
    }),
  );
  // Configs are tiny and usually new: uploading beats a HEAD first.
  await pushBlob(session, config);
  let digest = '';
  for (const tag of tags) digest = await putManifest(session, tag, MEDIA_TYPES.ociManifest, manifest);
  return digest;
}

export interface PushImageOptions {
  /** The `test.label` config label; the image's identity. Default: the tag. Same label → same digest. */
  label?: string;
  architecture?: string;
  /** Authorization headers to use instead of fetching them. */
  auth?: Record<string, string>;
}

/**
 * Pushes one OCI image to `repo:tag` over the API; returns its manifest digest. Pushing with another label
 * moves the tag ("the remote tag moved"); pushing with the label of an earlier tag makes an alias (same digest).
 * Do not push the same image to one repository twice at the same time (see pushDistinctTags).
 */
export async function pushImage(
  reg: Registry,
  repo: string,
  tag: string,
  opts: PushImageOptions = {},
): Promise<string> {
  const session = new Session(reg, repo, 'pull,push', opts.auth);
  return pushImageWith(session, [tag], opts.label ?? tag, opts.architecture ?? 'amd64', false);
}

export interface DistinctTagsOptions {
  /** Tag name of the i-th tag; default `t000`, `t001`, … */
  name?: (i: number) => string;
  /**
   * Label (identity) of the i-th image; default the tag name, so pushImage(…, { label: tag }) aliases it. Tags
   * given the same label get the same image (pushed once, then tagged).
   */
  label?: (i: number, tag: string) => string;
  /** Parallel pushes; default 8. */
  concurrency?: number;
}

/**
 * `count` tags, each a distinct image (its own config label, one shared layer). Returns tag → digest. The fourth
 * argument may be the tag-name function alone.
 */
export async function pushDistinctTags(
  reg: Registry,
  repo: string,
  count: number,
  opts: DistinctTagsOptions | ((i: number) => string) = {},
): Promise<Record<string, string>> {
  const o: DistinctTagsOptions = typeof opts === 'function' ? { name: opts } : opts;
  const name = o.name ?? ((i: number) => `t${String(i).padStart(3, '0')}`);
  const label = o.label ?? ((_i: number, tag: string) => tag);
  const session = new Session(reg, repo, 'pull,push');
  const l = layer();
  if (!(await blobExists(session, l.digest))) await pushBlob(session, l.blob);
  const tags = Array.from({ length: count }, (_, i) => name(i));
  if (new Set(tags).size !== tags.length) throw new Error('pushDistinctTags: tag names repeat');
  // Tags that share a label share every blob and the manifest. Distribution 2.8 rewrites a repository's link
  // files in place, so pushing one blob twice at once can make it look absent to a concurrent manifest check:
  // each image is pushed by one worker, its tags in sequence.
  const images = new Map<string, string[]>();
  tags.forEach((tag, i) => {
    const l = label(i, tag);
    images.set(l, [...(images.get(l) ?? []), tag]);
  });
  const queue = [...images.entries()];
  const out: Record<string, string> = {};
  let next = 0;
  const worker = async () => {
    // Each worker takes the next image until none is left: bounded by the number of images.
    while (next < queue.length) {
      const [imageLabel, imageTags] = queue[next++]!;
      const digest = await pushImageWith(session, imageTags, imageLabel, 'amd64', true);
      for (const tag of imageTags) out[tag] = digest;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 8, queue.length)) }, worker));
  // Insertion order follows completion; give callers the tags in index order.
  return Object.fromEntries(tags.map((t) => [t, out[t]!]));
}

/**
 * Points `toTag` at the manifest `from` (a tag or digest) of the same repository, byte for byte, so the digest is
 * identical: an alias tag, or a tag moved to another image. Lists work too (their children are already there).
 * Returns the digest.
 */
export function copyTag(reg: Registry, repo: string, from: string, toTag: string): Promise<string> {
  return copyTagWith(new Session(reg, repo, 'pull,push'), from, toTag);
}

async function copyTagWith(session: Session, from: string, toTag: string): Promise<string> {
  const m = await fetchManifest(session, from);
  return putManifest(session, toTag, m.mediaType, m.raw);
}

/** Alias of copyTag: a new tag for an already-pushed manifest. */
export const aliasTag = copyTag;
