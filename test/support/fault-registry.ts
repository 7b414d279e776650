import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * A small misbehaving OCI registry for fault tests of a registry client (the OCI distribution API and token auth).
 *
 * One server serves every scenario; the repository name picks the behaviour (see SCENARIOS and
 * NETWORK_SCENARIOS), so each test uses its own repository and counters never leak between tests. A second server
 * on 127.0.0.2 (another origin) plays the blob store that `redirect/blob` redirects to. Loopback only; every loop
 * is bounded; the only timers are those of `slow/trickle`, cleared when its response closes or the server stops.
 *
 * Layout: content (a real, self-consistent image) → scenario table → replies → one router per server → lifecycle.
 */

// ---------------------------------------------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------------------------------------------

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** A stored document: the exact bytes served and their descriptor. */
export interface Doc {
  digest: string;
  size: number;
  mediaType: string;
  bytes: Buffer;
}

export interface FaultContent {
  /** linux/amd64 OCI image manifest: tags `latest` and `v1`. */
  manifest: Doc;
  /** Its image config (architecture amd64, os linux). */
  config: Doc;
  /** linux/arm64 (variant v8) child of the index. */
  armManifest: Doc;
  armConfig: Doc;
  /** The one layer both manifests use (a gzipped tar holding `app/hello.txt`). */
  layer: Doc;
  /** sha256 of the uncompressed layer tar, as in the configs' rootfs.diff_ids. */
  diffId: string;
  /** OCI index with linux/amd64 and linux/arm64: tag `multi`. */
  index: Doc;
  /** A valid OCI manifest padded to exactly 5 MiB: tags `latest` and `v1` of `big/*`. */
  bigManifest: Doc;
  /** What `lying/header` claims in Docker-Content-Digest; no document has this digest. */
  lyingDigest: string;
  /** Tags of every repository except `paged/*`: ['latest', 'multi', 'v1']. */
  tags: string[];
  /** The 250 tags of `paged/repo` in lexical order (`build-000`…`build-246`, `latest`, `multi`, `v1`). */
  pagedTags: string[];
}

export const CREATED = '2024-05-01T12:00:00Z';
export const BIG_MANIFEST_BYTES = 5 * 1024 * 1024;
/** Every document carries this marker; tampering upper-cases it, which keeps the size and changes the hash. */
const MARKER = 'genuine';

export function sha256(bytes: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

function doc(mediaType: string, bytes: Buffer): Doc {
  return { digest: sha256(bytes), size: bytes.length, mediaType, bytes };
}

function json(value: unknown, indent = 2): Buffer {
  return Buffer.from(JSON.stringify(value, null, indent) + '\n');
}

function descriptor(d: Doc, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, ...extra };
}

/** Same length, different hash: what a corrupting proxy or a lying registry would hand out. */
function tamper(bytes: Buffer): Buffer {
  const text = bytes.toString('latin1');
  if (!text.includes(MARKER)) throw new Error('fault-registry: nothing to tamper with');
  return Buffer.from(text.replace(MARKER, MARKER.toUpperCase()), 'latin1');
}

/** One regular file in a POSIX ustar archive (512-byte header, padded data, two zero blocks). */
function tarOneFile(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512, 0);
  const put = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, 'latin1');
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';
  put(0, 100, name);
  put(100, 8, octal(0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(data.length, 12));
  put(136, 12, octal(Math.floor(Date.parse(CREATED) / 1000), 12));
  put(148, 8, '        ');
  put(156, 1, '0');
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512, 0);
  data.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024, 0)]);
}

function imageConfig(architecture: string, variant: string | undefined, diffId: string): Buffer {
  return json({
    created: CREATED,
    author: 'fault-registry',
    architecture,
    ...(variant ? { variant } : {}),
    os: 'linux',
    config: {
      User: '1001',
      ExposedPorts: { '8080/tcp': {} },
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_MODE=fault'],
      Entrypoint: ['/app/server'],
      Cmd: ['--port', '8080'],
      WorkingDir: '/app',
      Labels: {
        'org.opencontainers.image.title': 'fault-app',
        'org.opencontainers.image.version': '1.0.0',
        'org.example.provenance': MARKER,
      },
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: CREATED, created_by: 'COPY hello.txt /app/hello.txt # fault-registry' }],
  });
}

function imageManifest(
  config: Doc,
  layer: Doc,
  annotations: Record<string, string> = {},
  indent = 2,
): Buffer {
  return json(
    {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: descriptor(config),
      layers: [descriptor(layer)],
      annotations: {
        'org.opencontainers.image.created': CREATED,
        'org.example.provenance': MARKER,
        ...annotations,
      },
    },
    indent,
  );
}

function buildContent(): FaultContent {
  const tar = tarOneFile('app/hello.txt', Buffer.from('hello from the fault registry\n'));
  const diffId = sha256(tar);
  const layer = doc(MEDIA.layer, gzipSync(tar, { level: 9 }));
  const config = doc(MEDIA.config, imageConfig('amd64', undefined, diffId));
  const armConfig = doc(MEDIA.config, imageConfig('arm64', 'v8', diffId));
  const manifest = doc(MEDIA.manifest, imageManifest(config, layer));
  const armManifest = doc(MEDIA.manifest, imageManifest(armConfig, layer));
  const index = doc(
    MEDIA.index,
    json({
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: [
        descriptor(manifest, { platform: { architecture: 'amd64', os: 'linux' } }),
        descriptor(armManifest, { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }),
      ],
      annotations: { 'org.example.provenance': MARKER },
    }),
  );
  // Pad a compact manifest so the whole document is exactly BIG_MANIFEST_BYTES.
  const unpadded = imageManifest(config, layer, { 'org.example.padding': '' }, 0).length;
  const bigManifest = doc(
    MEDIA.manifest,
    imageManifest(config, layer, { 'org.example.padding': 'x'.repeat(BIG_MANIFEST_BYTES - unpadded) }, 0),
  );
  const tags = ['latest', 'multi', 'v1'];
  const pagedTags = [
    ...Array.from({ length: 247 }, (_, i) => `build-${String(i).padStart(3, '0')}`),
    ...tags,
  ];
  return {
    manifest,
    config,
    armManifest,
    armConfig,
    layer,
    diffId,
    index,
    bigManifest,
    lyingDigest: sha256('fault-registry: these are not the bytes you are looking for'),
    tags,
    pagedTags,
  };
}

let contentMemo: FaultContent | undefined;

/** The image every repository serves (built once per process; about 5 MiB, mostly the big manifest). */
export function faultContent(): FaultContent {
  contentMemo ??= buildContent();
  return contentMemo;
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------------------------

/** An HTTP answer built before it is sent. */
interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

type AuthMode =
  | 'basic'
  | 'badpass'
  | 'bearer'
  | 'bearer-reject'
  | 'private-realm'
  | 'named-realm'
  | 'switchable-realm';

interface Scenario {
  /** What a request must carry to get past the gate (all of the repository's endpoints). */
  auth?: AuthMode;
  /** Answer instead of the manifest for the nth (1-based) manifest request (HEAD or GET) past the gate. */
  manifestFault?: (nth: number) => Reply | undefined;
  /** How manifests are (mis)served. */
  manifest?: 'lying-header' | 'lying-body' | 'slow-body' | 'chunked' | 'trickle';
  /** Which manifest the `latest` and `v1` tags point at. */
  image?: 'normal' | 'big';
  /** How blobs are (mis)served on GET. */
  blob?: 'lying-config' | 'redirect-other' | 'redirect-same' | 'redirect-named';
  tags?: 'paged' | 'loop';
  /** Accept the request and never answer it. */
  hang?: boolean;
  /** Extra headers on every manifest served normally (rate-limit headers of a registry near its quota). */
  manifestHeaders?: Record<string, string>;
}

const firstN =
  (...replies: Reply[]) =>
  (nth: number): Reply | undefined =>
    replies[nth - 1];
const always = (reply: Reply) => (): Reply => reply;

const tooManyRequests = (retryAfter?: string): Reply =>
  errorReply(
    429,
    'TOOMANYREQUESTS',
    'too many requests',
    undefined,
    retryAfter ? { 'retry-after': retryAfter } : {},
  );
const hubQuota: Reply = errorReply(
  429,
  'TOOMANYREQUESTS',
  'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit',
  undefined,
  {
    'ratelimit-limit': '100;w=21600',
    'ratelimit-remaining': '0;w=21600',
    'docker-ratelimit-source': '127.0.0.1',
  },
);
const unavailable: Reply = errorReply(503, 'UNAVAILABLE', 'service unavailable');
/** What a load balancer in front of a registry sends: HTML, not the registry's JSON. */
const badGateway: Reply = {
  status: 502,
  headers: { 'content-type': 'text/html' },
  body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n',
};

/** Repository name → behaviour. Counters are per repository; reset() clears them. */
export const SCENARIOS = {
  // Well-behaved: latest and v1 (linux/amd64 manifest), multi (index).
  'ok/app': {},
  // Manifest requests (HEAD or GET): 429 twice (with / without Retry-After: 1), then normal; or always 429 quota.
  'rate/retry-after': { manifestFault: firstN(tooManyRequests('1'), tooManyRequests('1')) },
  'rate/no-retry-after': { manifestFault: firstN(tooManyRequests(), tooManyRequests()) },
  'rate/hub-quota': { manifestFault: always(hubQuota) },
  // Manifest requests: always 429 without Retry-After (a registry that stays overloaded).
  'rate/always': { manifestFault: always(tooManyRequests()) },
  // Normal answers that say the pull quota is nearly spent (Docker Hub's headers): 2 left in a 60 s window.
  'rate/low-remaining': {
    manifestHeaders: { 'ratelimit-limit': '100;w=60', 'ratelimit-remaining': '2;w=60' },
  },
  // Manifest requests: 503 (JSON) then 502 (HTML) then normal; or always 503.
  'flaky/5xx': { manifestFault: firstN(unavailable, badGateway) },
  'flaky/always-503': { manifestFault: always(unavailable) },
  // By-tag digest header is lyingDigest (or, for a tag named `sha256-<hex>`, the digest it names: a registry
  // claiming someone else's image); by-digest GET body tampered; config blob tampered (sizes kept).
  'lying/header': { manifest: 'lying-header' },
  'lying/body': { manifest: 'lying-body' },
  'lying/config': { blob: 'lying-config' },
  // Manifest GET: headers and half the body, then silence; any request: no answer at all.
  'slow/body': { manifest: 'slow-body' },
  'slow/headers': { hang: true },
  // latest / v1 are a 5 MiB manifest, with Content-Length / chunked without it.
  'big/manifest': { image: 'big' },
  'big/chunked': { image: 'big', manifest: 'chunked' },
  // Basic u:p; blob GETs answer 307 to the other origin (S3-like) / to /_storage/<digest> on this server.
  'redirect/blob': { auth: 'basic', blob: 'redirect-other' },
  'redirect/same-origin': { auth: 'basic', blob: 'redirect-same' },
  // 250 tags in pages of min(n, 100) behind an opaque next_page cursor; a Link that always points at itself.
  'paged/repo': { tags: 'paged' },
  'paged/loop': { tags: 'loop' },
  // Bearer tokens from /token (expires_in 5 s by default) / a registry that rejects every token.
  'bearer/short': { auth: 'bearer' },
  'bearer/always-401': { auth: 'bearer-reject' },
  // Any credential: 401 "incorrect username or password"; anonymous: 200.
  'basic/badpass': { auth: 'badpass' },
  // Bearer challenge whose realm is the link-local metadata address (never served here).
  'redirect/realm-private': { auth: 'private-realm' },
} satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;
export const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[];

/**
 * Scenarios about time and addresses, shaped by the server's options (`trickleIntervalMs`, `namedHost`) and by
 * setRealm(); the names they point at are resolved by the client under test through an injected lookup, never
 * by DNS.
 */
export const NETWORK_SCENARIOS = {
  // Manifest GET: headers at once (with Content-Length), then the body one byte every trickleIntervalMs.
  'slow/trickle': { manifest: 'trickle' },
  // Basic u:p; blob GETs answer 307 to http://<namedHost>:<blob store port>/… (the blob store if that name
  // resolves to it).
  'redirect/named-host': { auth: 'basic', blob: 'redirect-named' },
  // Bearer tokens (as bearer/short) from a realm on http://<namedHost>:<this server's port>/token.
  'realm/named-host': { auth: 'named-realm' },
  // Bearer tokens (as bearer/short) from the realm setRealm() names, by default PRIVATE_REALM (a broken setup).
  'realm/switchable': { auth: 'switchable-realm' },
} satisfies Record<string, Scenario>;

export type NetworkScenarioName = keyof typeof NETWORK_SCENARIOS;
export const NETWORK_SCENARIO_NAMES = Object.keys(NETWORK_SCENARIOS) as NetworkScenarioName[];

function scenarioOf(repo: string): Scenario | undefined {
  if (Object.hasOwn(SCENARIOS, repo)) return (SCENARIOS as Record<string, Scenario>)[repo];
  return Object.hasOwn(NETWORK_SCENARIOS, repo)
    ? (NETWORK_SCENARIOS as Record<string, Scenario>)[repo]
    : undefined;
}

/** The only credentials the Basic-protected scenarios (and the token endpoint) accept. */
export const FAULT_CREDENTIALS = { username: 'u', password: 'p' } as const;
export const TOKEN_SERVICE = 'fault-registry';
export const PRIVATE_REALM = 'http://169.254.169.254/token';
const PAGE_MAX = 100;
const MAX_TOKENS = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------------------------

/** distribution's error body: {"errors":[{code,message,detail}]}. */
function errorReply(
  status: number,
  code: string,
  message: string,
  detail?: unknown,
  headers: Record<string, string> = {},
): Reply {
  const error = detail === undefined ? { code, message } : { code, message, detail };
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify({ errors: [error] }) + '\n',
  };
}

/** distribution's answer when no route matches: plain text, not JSON. */
const pageNotFound: Reply = {
  status: 404,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: '404 page not found\n',
};

function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: json(value, 0),
  };
}

function docReply(d: Doc, bytes = d.bytes, digest = d.digest): Reply {
  return {
    status: 200,
    headers: { 'content-type': d.mediaType, 'docker-content-digest': digest, etag: `"${digest}"` },
    body: bytes,
  };
}

function blobReply(d: Doc, bytes = d.bytes): Reply {
  return {
    status: 200,
    headers: {
      'content-type': 'application/octet-stream',
      'docker-content-digest': d.digest,
      etag: `"${d.digest}"`,
    },
    body: bytes,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------------------------

export type RequestKind = 'ping' | 'manifest' | 'blob' | 'tags' | 'token' | 'storage' | 'other';

export interface RecordedRequest {
  /** `main` = 127.0.0.1, `other` = the blob store on 127.0.0.2. */
  server: 'main' | 'other';
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query parameters (the last value when one repeats; `search` has them all). */
  query: Record<string, string>;
  /** The raw query string, with its leading `?` (or ''). */
  search: string;
  kind: RequestKind;
  /** The repository the request is about; for token requests, the first `repository:` scope. */
  repo?: string;
  /** Request headers, lower-cased, without `authorization` / `proxy-authorization` / `cookie`. */
  headers: Record<string, string>;
  hasAuthorization: boolean;
  /** Scheme and a hash of the Authorization header; the credential itself is never stored. */
  authorization: { scheme: string; sha256: string } | null;
  /** Status sent, once the response head went out (undefined while the request hangs). */
  status?: number;
  at: number;
}

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

function record(server: 'main' | 'other', req: IncomingMessage, url: URL, now: number): RecordedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || SECRET_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const auth = req.headers.authorization;
  return {
    server,
    method: req.method ?? '',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    search: url.search,
    kind: 'other',
    headers,
    hasAuthorization: auth !== undefined,
    authorization: auth === undefined ? null : { scheme: auth.split(' ')[0] ?? '', sha256: sha256(auth) },
    at: now,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Shared state and request plumbing
// ---------------------------------------------------------------------------------------------------------------

interface IssuedToken {
  expiresAt: number;
  repos: Set<string>;
}

interface Env {
  content: FaultContent;
  mainUrl: string;
  otherUrl: string;
  trickleIntervalMs: number;
  namedHost: string;
  /** Realm of realm/switchable (setRealm). */
  realm: string;
  /** Timers of responses being trickled. */
  trickles: Set<NodeJS.Timeout>;
  tokenExpiresIn: number;
  ping: 'open' | 'basic' | 'bearer';
  now: () => number;
  secret: Buffer;
  manifestCounts: Map<string, number>;
  tokens: Map<string, IssuedToken>;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  rec: RecordedRequest;
}

function send(ctx: Ctx, reply: Reply): void {
  const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
  const headers = { ...reply.headers, 'content-length': String(body.length) };
  head(ctx, reply.status, headers);
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

function head(ctx: Ctx, status: number, headers: Record<string, string>): void {
  ctx.rec.status = status;
  const common = ctx.rec.server === 'main' ? { 'docker-distribution-api-version': 'registry/2.0' } : {};
  ctx.res.writeHead(status, { ...common, ...headers });
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const LOOKS_LIKE_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:/;
const TAG = /^[\w][\w.-]{0,127}$/;
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

function basicHeader(username: string, password: string): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
}

function hasGoodBasic(req: IncomingMessage): boolean {
  const got = Buffer.from(req.headers.authorization ?? '');
  const want = Buffer.from(basicHeader(FAULT_CREDENTIALS.username, FAULT_CREDENTIALS.password));
  return got.length === want.length && timingSafeEqual(got, want);
}

function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

// ---------------------------------------------------------------------------------------------------------------
// Main server: router and handlers
// ---------------------------------------------------------------------------------------------------------------

type Route =
  | { kind: 'manifest'; repo: string; ref: string }
  | { kind: 'blob'; repo: string; ref: string }
  | { kind: 'tags'; repo: string };

function parseRoute(path: string): Route | undefined {
  const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);
  if (tags && NAME.test(tags[1]!)) return { kind: 'tags', repo: tags[1]! };
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  if (!m || !NAME.test(m[1]!)) return undefined;
  return { kind: m[2] === 'manifests' ? 'manifest' : 'blob', repo: m[1]!, ref: decodeURIComponent(m[3]!) };
}

/** A Reply to send, or undefined when the handler already streamed (or deliberately holds) the response. */
function routeMain(env: Env, ctx: Ctx): Reply | undefined {
  const { rec } = ctx;
  if (rec.method !== 'GET' && rec.method !== 'HEAD')
    return errorReply(405, 'UNSUPPORTED', 'The operation is unsupported.');
  if (rec.path === '/v2/' || rec.path === '/v2') {
    rec.kind = 'ping';
    return ping(env, ctx.req);
  }
  if (rec.path === '/token') {
    rec.kind = 'token';
    return issueToken(env, ctx);
  }
  const storage = /^\/_storage\/([^/]+)$/.exec(rec.path);
  if (storage) {
    rec.kind = 'storage';
    const blob = blobsOf(env.content).get(decodeURIComponent(storage[1]!));
    return blob ? blobReply(blob) : errorReply(404, 'BLOB_UNKNOWN', 'blob unknown to registry');
  }
  const route = parseRoute(rec.path);
  if (!route) return pageNotFound;
  rec.kind = route.kind;
  rec.repo = route.repo;
  const scenario = scenarioOf(route.repo);
  if (!scenario) return unknownRepo(route);
  if (scenario.hang) return undefined; // the socket stays open until the client gives up or stop() destroys it
  const denied = scenario.auth ? authGate(env, scenario.auth, ctx.req, route.repo) : undefined;
  if (denied) return denied;
  switch (route.kind) {
    case 'manifest':
      return serveManifest(env, scenario, ctx, route.repo, route.ref);
    case 'blob':
      return serveBlob(env, scenario, ctx, route.ref);
    case 'tags':
      return serveTags(env, scenario, ctx, route.repo);
  }
}

function unknownRepo(route: Route): Reply {
  switch (route.kind) {
    case 'manifest':
      return errorReply(404, 'MANIFEST_UNKNOWN', 'manifest unknown', refDetail(route.ref));
    case 'blob':
      return errorReply(404, 'BLOB_UNKNOWN', 'blob unknown to registry', route.ref);
    case 'tags':
      return errorReply(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name: route.repo });
  }
}

function refDetail(ref: string): Record<string, string> {
  return DIGEST.test(ref) ? { Digest: ref } : { Tag: ref };
}

function ping(env: Env, req: IncomingMessage): Reply {
  const ok = jsonReply(200, {});
  if (env.ping === 'basic') return hasGoodBasic(req) ? ok : basicChallenge();
  if (env.ping === 'bearer') {
    const token = bearerToken(req);
    const issued = token ? env.tokens.get(token) : undefined;
    return issued && issued.expiresAt > env.now() ? ok : bearerChallenge(env, undefined);
  }
  return ok;
}

function basicChallenge(): Reply {
  return errorReply(401, 'UNAUTHORIZED', 'authentication required', undefined, {
    'www-authenticate': 'Basic realm="fault"',
  });
}

function bearerChallenge(
  env: Env,
  repo: string | undefined,
  error?: string,
  realm = `${env.mainUrl}/token`,
): Reply {
  let challenge = `Bearer realm="${realm}",service="${TOKEN_SERVICE}"`;
  if (repo) challenge += `,scope="repository:${repo}:pull"`;
  if (error) challenge += `,error="${error}"`;
  const detail = repo ? [{ Type: 'repository', Class: '', Name: repo, Action: 'pull' }] : undefined;
  return errorReply(401, 'UNAUTHORIZED', 'authentication required', detail, {
    'www-authenticate': challenge,
  });
}

/** undefined = the request may proceed. */
function authGate(env: Env, mode: AuthMode, req: IncomingMessage, repo: string): Reply | undefined {
  switch (mode) {
    case 'basic':
      return hasGoodBasic(req) ? undefined : basicChallenge();
    case 'badpass':
      // Anonymous access works; any credential is "wrong" (OpenShift then retries once without credentials).
      return req.headers.authorization === undefined
        ? undefined
        : errorReply(401, 'UNAUTHORIZED', 'incorrect username or password', undefined, {
            'www-authenticate': 'Basic realm="fault"',
          });
    case 'bearer': {
      const token = bearerToken(req);
      if (!token) return bearerChallenge(env, repo);
      const issued = env.tokens.get(token);
      if (!issued || issued.expiresAt <= env.now()) return bearerChallenge(env, repo, 'invalid_token');
      if (!issued.repos.has(repo)) return bearerChallenge(env, repo, 'insufficient_scope');
      return undefined;
    }
    case 'bearer-reject':
      return bearerChallenge(env, repo, bearerToken(req) ? 'invalid_token' : undefined);
    case 'private-realm':
      return bearerChallenge(env, repo, undefined, PRIVATE_REALM);
    case 'named-realm':
    case 'switchable-realm': {
      const realm =
        mode === 'named-realm' ? `http://${env.namedHost}:${new URL(env.mainUrl).port}/token` : env.realm;
      const token = bearerToken(req);
      const issued = token ? env.tokens.get(token) : undefined;
      if (!issued || issued.expiresAt <= env.now() || !issued.repos.has(repo))
        return bearerChallenge(env, repo, token ? 'invalid_token' : undefined, realm);
      return undefined;
    }
  }
}

/** GET /token?service=…&scope=repository:<name>:pull (repeatable); optional Basic u:p. Opaque tokens. */
function issueToken(env: Env, ctx: Ctx): Reply {
  const scopes = ctx.url.searchParams.getAll('scope');
  const repos = new Set<string>();
  for (const scope of scopes.slice(0, 20)) {
    const m = /^repository:(.+):([^:]*)$/.exec(scope);
    if (m?.[2]?.split(',').includes('pull')) repos.add(m[1]!);
  }
  ctx.rec.repo = /^repository:(.+):[^:]*$/.exec(scopes[0] ?? '')?.[1];
  if (ctx.req.headers.authorization !== undefined && !hasGoodBasic(ctx.req))
    return jsonReply(401, { details: 'incorrect username or password' });
  const token = 'fault-' + randomBytes(18).toString('base64url');
  const issuedAt = env.now();
  if (env.tokens.size >= MAX_TOKENS) env.tokens.delete(env.tokens.keys().next().value as string);
  env.tokens.set(token, { expiresAt: issuedAt + env.tokenExpiresIn * 1000, repos });
  return jsonReply(200, {
    token,
    access_token: token,
    expires_in: env.tokenExpiresIn,
    issued_at: new Date(issuedAt).toISOString(),
  });
}

function manifestsOf(
  content: FaultContent,
  scenario: Scenario,
): { tags: Map<string, Doc>; digests: Map<string, Doc> } {
  const image = scenario.image === 'big' ? content.bigManifest : content.manifest;
  const tagNames = scenario.tags === 'paged' ? content.pagedTags : content.tags;
  const tags = new Map(tagNames.map((t) => [t, t === 'multi' ? content.index : image] as const));
  const digests = new Map(
    [image, content.index, content.manifest, content.armManifest].map((d) => [d.digest, d] as const),
  );
  return { tags, digests };
}

function blobsOf(content: FaultContent): Map<string, Doc> {
  return new Map([content.config, content.armConfig, content.layer].map((d) => [d.digest, d] as const));
}

function serveManifest(env: Env, scenario: Scenario, ctx: Ctx, repo: string, ref: string): Reply | undefined {
  const nth = (env.manifestCounts.get(repo) ?? 0) + 1;
  env.manifestCounts.set(repo, nth);
  const fault = scenario.manifestFault?.(nth);
  if (fault) return fault;

  const byDigest = DIGEST.test(ref);
  if (!byDigest && !TAG.test(ref))
    return LOOKS_LIKE_DIGEST.test(ref)
      ? errorReply(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content')
      : pageNotFound;
  const { tags, digests } = manifestsOf(env.content, scenario);
  const claimed =
    scenario.manifest === 'lying-header' && !byDigest ? /^sha256-([a-f0-9]{64})$/.exec(ref)?.[1] : undefined;
  const found = claimed ? env.content.manifest : byDigest ? digests.get(ref) : tags.get(ref);
  if (!found) return errorReply(404, 'MANIFEST_UNKNOWN', 'manifest unknown', refDetail(ref));

  const isGet = ctx.rec.method === 'GET';
  switch (scenario.manifest) {
    case 'lying-header':
      return docReply(
        found,
        found.bytes,
        byDigest ? found.digest : claimed ? `sha256:${claimed}` : env.content.lyingDigest,
      );
    case 'lying-body':
      return byDigest ? docReply(found, tamper(found.bytes)) : docReply(found);
    case 'slow-body': {
      if (!isGet) return docReply(found);
      const { headers } = docReply(found);
      head(ctx, 200, { ...headers, 'content-length': String(found.size) });
      ctx.res.write(found.bytes.subarray(0, Math.floor(found.size / 2)));
      return undefined; // the rest never comes; stop() destroys the socket
    }
    case 'trickle': {
      if (!isGet) return docReply(found);
      const { headers } = docReply(found);
      head(ctx, 200, { ...headers, 'content-length': String(found.size) });
      let sent = 0;
      const timer = setInterval(() => {
        ctx.res.write(found.bytes.subarray(sent, sent + 1));
        sent++;
        if (sent < found.size) return;
        clearInterval(timer);
        env.trickles.delete(timer);
        ctx.res.end();
      }, env.trickleIntervalMs);
      env.trickles.add(timer);
      ctx.res.on('close', () => {
        clearInterval(timer);
        env.trickles.delete(timer);
      });
      return undefined;
    }
    case 'chunked': {
      if (!isGet) return docReply(found);
      const { headers } = docReply(found);
      head(ctx, 200, headers ?? {}); // no Content-Length: Node sends Transfer-Encoding: chunked
      const chunk = 64 * 1024;
      for (let offset = 0; offset < found.size; offset += chunk)
        ctx.res.write(found.bytes.subarray(offset, offset + chunk));
      ctx.res.end();
      return undefined;
    }
    default: {
      const reply = docReply(found);
      return scenario.manifestHeaders
        ? { ...reply, headers: { ...reply.headers, ...scenario.manifestHeaders } }
        : reply;
    }
  }
}

function serveBlob(env: Env, scenario: Scenario, ctx: Ctx, ref: string): Reply {
  if (!DIGEST.test(ref))
    return LOOKS_LIKE_DIGEST.test(ref)
      ? errorReply(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content')
      : pageNotFound;
  const blob = blobsOf(env.content).get(ref);
  if (!blob) return errorReply(404, 'BLOB_UNKNOWN', 'blob unknown to registry', ref);
  if (ctx.rec.method !== 'GET') return blobReply(blob);
  switch (scenario.blob) {
    case 'lying-config':
      return blob.mediaType === MEDIA.config ? blobReply(blob, tamper(blob.bytes)) : blobReply(blob);
    case 'redirect-other': {
      // ECR style: a pre-signed URL on another origin that refuses a second auth mechanism.
      const location = `${env.otherUrl}${ctx.rec.path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=${ref.slice(7, 23)}`;
      return { status: 307, headers: { location } };
    }
    case 'redirect-same':
      return { status: 307, headers: { location: `/_storage/${ref}` } };
    case 'redirect-named': {
      const location = `http://${env.namedHost}:${new URL(env.otherUrl).port}${ctx.rec.path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=${ref.slice(7, 23)}`;
      return { status: 307, headers: { location } };
    }
    default:
      return blobReply(blob);
  }
}

function serveTags(env: Env, scenario: Scenario, ctx: Ctx, repo: string): Reply {
  if (scenario.tags === 'loop') {
    const link = `</v2/${repo}/tags/list?n=${PAGE_MAX}&next_page=again>; rel="next"`;
    return jsonReply(200, { name: repo, tags: env.content.tags }, { link });
  }
  if (scenario.tags !== 'paged') return jsonReply(200, { name: repo, tags: env.content.tags });

  // ECR Public style: page size min(n, 100), an opaque cursor, and no `last=` built by the client.
  const q = ctx.url.searchParams;
  if (q.has('last')) return errorReply(405, 'UNSUPPORTED', 'Invalid next token provided');
  const n = q.has('n') ? Number(q.get('n')) : PAGE_MAX;
  if (!Number.isInteger(n) || n < 0)
    return errorReply(400, 'PAGINATION_NUMBER_INVALID', 'invalid number of results requested', {
      n: q.get('n'),
    });
  const size = Math.min(n, PAGE_MAX);
  const cursor = q.get('next_page');
  const offset = cursor === null ? 0 : openCursor(env.secret, cursor);
  if (offset === undefined) return errorReply(405, 'UNSUPPORTED', 'Invalid next token provided');
  const all = env.content.pagedTags;
  const page = all.slice(offset, offset + size);
  const headers: Record<string, string> = {};
  if (size > 0 && offset + size < all.length)
    headers.link = `</v2/${repo}/tags/list?n=${size}&next_page=${sealCursor(env.secret, offset + size)}>; rel="next"`;
  return jsonReply(200, { name: repo, tags: page }, headers);
}

function sealCursor(secret: Buffer, offset: number): string {
  const mac = createHmac('sha256', secret).update(String(offset)).digest().subarray(0, 12);
  return Buffer.concat([Buffer.from(String(offset)), Buffer.from('.'), mac]).toString('base64url');
}

function openCursor(secret: Buffer, cursor: string): number | undefined {
  const raw = Buffer.from(cursor, 'base64url');
  const dot = raw.indexOf('.');
  if (dot < 1) return undefined;
  const offset = Number(raw.subarray(0, dot).toString('latin1'));
  if (!Number.isSafeInteger(offset) || offset < 0) return undefined;
  return sealCursor(secret, offset) === cursor ? offset : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Other server: an S3-like blob store on another origin
// ---------------------------------------------------------------------------------------------------------------

const S3_TWO_AUTHS = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message><ArgumentName>Authorization</ArgumentName><RequestId>FAULT0000000000</RequestId></Error>
`;

function routeOther(env: Env, ctx: Ctx): Reply {
  const { rec } = ctx;
  const m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(rec.path);
  if (m) {
    rec.kind = 'blob';
    rec.repo = m[1];
  }
  const blob = m ? blobsOf(env.content).get(decodeURIComponent(m[2]!)) : undefined;
  if (rec.method !== 'GET' && rec.method !== 'HEAD') return { status: 405 };
  if (rec.hasAuthorization)
    return { status: 400, headers: { 'content-type': 'application/xml' }, body: S3_TWO_AUTHS };
  if (!blob)
    return {
      status: 404,
      headers: { 'content-type': 'application/xml' },
      body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>\n',
    };
  return {
    status: 200,
    headers: { 'content-type': 'application/octet-stream' },
    body: blob.bytes,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------------------------

export interface FaultRegistryOptions {
  /** `expires_in` (seconds) of issued tokens; the registry rejects a token after that long. Default 5. */
  tokenExpiresIn?: number;
  /** What `/v2/` answers: 200 (default), or a Basic / Bearer challenge until valid credentials are sent. */
  ping?: 'open' | 'basic' | 'bearer';
  /** Clock for token expiry (ms since epoch). Default Date.now. */
  now?: () => number;
  /** How often `slow/trickle` sends the next byte of a manifest. Default 5000 (a manifest then takes hours). */
  trickleIntervalMs?: number;
  /**
   * The host name `redirect/named-host` redirects to and `realm/named-host` names as its realm. Default
   * `elsewhere.fault.test` (the reserved .test domain: it never resolves through DNS to anything real).
   */
  namedHost?: string;
}

export interface FaultServer {
  /** `127.0.0.x:<port>` */
  host: string;
  /** `http://127.0.0.x:<port>` */
  url: string;
  /** Every request received, in arrival order (cleared in place by reset()). */
  requests: RecordedRequest[];
}

export interface FaultRegistry extends FaultServer {
  /** The S3-like blob store `redirect/blob` redirects to (127.0.0.2, or 127.0.0.1 on another port if unavailable). */
  other: FaultServer;
  content: FaultContent;
  credentials: typeof FAULT_CREDENTIALS;
  tokenExpiresIn: number;
  /** Requests (on either server) about `repo`, optionally of one kind. */
  hits(repo: string, kind?: RequestKind): number;
  /** Makes every token issued so far expired (to test renewal without waiting). */
  expireTokens(): void;
  /** The host name of `redirect/named-host` and `realm/named-host` (see FaultRegistryOptions.namedHost). */
  namedHost: string;
  /** The realm `realm/switchable` challenges with from now on (PRIVATE_REALM after start and reset()). */
  setRealm(realm: string): void;
  /** Responses of `slow/trickle` still being sent. */
  trickling(): number;
  /** Forgets recorded requests, per-repository counters and issued tokens; realm/switchable is broken again. */
  reset(): void;
  /** Closes both servers, destroying every open socket (hung ones included). Idempotent. */
  stop(): Promise<void>;
}

interface Listening {
  server: Server;
  sockets: Set<Socket>;
  host: string;
  url: string;
}

async function listen(
  address: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Listening> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { server, sockets, host: `${address}:${port}`, url: `http://${address}:${port}` };
}

function close(l: Listening): Promise<void> {
  return new Promise((resolve) => {
    l.server.close(() => resolve());
    for (const socket of l.sockets) socket.destroy();
    l.server.closeAllConnections();
  });
}

function handlerFor(
  server: 'main' | 'other',
  log: RecordedRequest[],
  env: Env,
  route: (env: Env, ctx: Ctx) => Reply | undefined,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.resume();
    const url = new URL(req.url ?? '/', 'http://fault.invalid');
    const rec = record(server, req, url, env.now());
    log.push(rec);
    try {
      const ctx = { req, res, url, rec };
      const reply = route(env, ctx);
      if (reply) send(ctx, reply);
    } catch (err) {
      if (!res.headersSent) send({ req, res, url, rec }, errorReply(500, 'UNKNOWN', String(err)));
      else res.destroy();
    }
  };
}

/** Starts the fault registry (127.0.0.1) and its blob store (127.0.0.2), each on a free port. */
export async function startFaultRegistry(opts: FaultRegistryOptions = {}): Promise<FaultRegistry> {
  const requests: RecordedRequest[] = [];
  const otherRequests: RecordedRequest[] = [];
  const state: Env = {
    content: faultContent(),
    mainUrl: '', // filled in once both servers listen
    otherUrl: '',
    tokenExpiresIn: opts.tokenExpiresIn ?? 5,
    trickleIntervalMs: opts.trickleIntervalMs ?? 5_000,
    namedHost: opts.namedHost ?? 'elsewhere.fault.test',
    realm: PRIVATE_REALM,
    trickles: new Set(),
    ping: opts.ping ?? 'open',
    now: opts.now ?? Date.now,
    secret: randomBytes(16),
    manifestCounts: new Map(),
    tokens: new Map(),
  };
  const main = await listen('127.0.0.1', handlerFor('main', requests, state, routeMain));
  const otherHandler = handlerFor('other', otherRequests, state, routeOther);
  let other: Listening;
  try {
    other = await listen('127.0.0.2', otherHandler).catch(
      // No 127.0.0.2 (e.g. macOS without an alias): another port is still another origin.
      () => listen('127.0.0.1', otherHandler),
    );
  } catch (err) {
    await close(main);
    throw err;
  }
  state.mainUrl = main.url;
  state.otherUrl = other.url;
  let stopping: Promise<void> | undefined;
  return {
    host: main.host,
    url: main.url,
    requests,
    other: { host: other.host, url: other.url, requests: otherRequests },
    content: state.content,
    credentials: FAULT_CREDENTIALS,
    tokenExpiresIn: state.tokenExpiresIn,
    hits(repo, kind) {
      return [...requests, ...otherRequests].filter((r) => r.repo === repo && (!kind || r.kind === kind))
        .length;
    },
    expireTokens() {
      for (const token of state.tokens.values()) token.expiresAt = Number.NEGATIVE_INFINITY;
    },
    namedHost: state.namedHost,
    setRealm(realm) {
      state.realm = realm;
    },
    trickling() {
      return state.trickles.size;
    },
    reset() {
      requests.length = 0;
      otherRequests.length = 0;
      state.manifestCounts.clear();
      state.tokens.clear();
      state.realm = PRIVATE_REALM;
    },
    stop() {
      for (const timer of state.trickles) clearInterval(timer);
      state.trickles.clear();
      stopping ??= Promise.all([close(main), close(other)]).then(() => undefined);
      return stopping;
    },
  };
}
