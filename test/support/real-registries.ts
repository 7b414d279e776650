/**
 * Real registries for tests: Debian's docker-registry (distribution 2.8.2) on loopback, anonymous, htpasswd or
 * token auth (with a small token server in this process), filled with skopeo/umoci or over the registry API.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, createSign, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const USER = 'testuser';
export const PASSWORD = 'testpass';
export const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export type RegistryKind = 'anonymous' | 'htpasswd' | 'token';

export interface RegistryRequest {
  method: string;
  uri: string;
  status: number;
}

export interface TokenServer {
  url: string;
  /** Token requests so far (to check caching). */
  requests: Array<{ scopes: string[]; authenticated: boolean }>;
  stop(): Promise<void>;
}

export interface Registry {
  kind: RegistryKind;
  host: string;
  url: string;
  tokenServer?: TokenServer;
  /** Requests the registry logged (its own access log), in order. */
  requests(): RegistryRequest[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A token server as distribution's token auth expects (RS256 JWT with the signing cert in `x5c`). */
async function startTokenServer(dir: string, expiresIn = 300): Promise<TokenServer & { certFile: string }> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=test-issuer',
      '-days',
      '2',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  const key = readFileSync(keyFile, 'utf8');
  const der = Buffer.from(
    readFileSync(certFile, 'utf8').replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''),
    'base64',
  );
  const requests: TokenServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const header = req.headers.authorization ?? '';
    let user = '';
    if (header.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(header.slice(6), 'base64').toString().split(':');
      if (u !== USER || p.join(':') !== PASSWORD) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = u;
    }
    requests.push({ scopes, authenticated: !!user });
    const access = scopes
      .map((s) => {
        const [type, ...rest] = s.split(':');
        const actions = (rest.pop() ?? '').split(',');
        const name = rest.join(':');
        const granted = user
          ? actions
          : name.startsWith('public/')
            ? actions.filter((a) => a === 'pull')
            : [];
        return { type, name, actions: granted };
      })
      .filter((a) => a.type === 'repository');
    const now = Math.floor(Date.now() / 1000);
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] }));
    const claims = b64url(
      JSON.stringify({
        iss: 'test-issuer',
        sub: user,
        aud: url.searchParams.get('service') ?? '',
        exp: now + expiresIn,
        nbf: now - 5,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const signature = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(key);
    const token = `${head}.${claims}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/token`,
    requests,
    certFile,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}

export async function startRegistry(kind: RegistryKind): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), `registry-${kind}-`));
  const port = await freePort();
  const logFile = join(dir, 'registry.log');
  let auth = '';
  let tokenServer: (TokenServer & { certFile: string }) | undefined;
  if (kind === 'htpasswd') {
    execFileSync('htpasswd', ['-Bbc', join(dir, 'htpasswd'), USER, PASSWORD], { stdio: 'ignore' });
    auth = `auth:\n  htpasswd: {realm: test-realm, path: ${join(dir, 'htpasswd')}}\n`;
  } else if (kind === 'token') {
    tokenServer = await startTokenServer(dir);
    auth = `auth:\n  token: {realm: "${tokenServer.url}", service: test-registry, issuer: test-issuer, rootcertbundle: ${tokenServer.certFile}}\n`;
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: info, formatter: json, accesslog: {disabled: true}}\nstorage:\n  filesystem: {rootdirectory: ${join(dir, 'storage')}}\n  delete: {enabled: true}\nhttp: {addr: 127.0.0.1:${port}, secret: test-only}\n${auth}`,
  );
  const out = openSync(logFile, 'a');
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', out, out] });
  children.add(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(
        `docker-registry (${kind}) did not start: ${readFileSync(logFile, 'utf8').slice(-2000)}`,
      );
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    kind,
    host: `127.0.0.1:${port}`,
    url,
    ...(tokenServer ? { tokenServer } : {}),
    requests() {
      const lines = readFileSync(logFile, 'utf8').split('\n');
      const out: RegistryRequest[] = [];
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          if (typeof e.msg === 'string' && e.msg.startsWith('response completed'))
            out.push({
              method: e['http.request.method'] as string,
              uri: e['http.request.uri'] as string,
              status: Number(e['http.response.status']),
            });
        } catch {
          // partial line
        }
      }
      return out;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      children.delete(child);
      await tokenServer?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Credentials for skopeo and for direct pushes. */
function creds(reg: Registry): string[] {
  return reg.kind === 'anonymous' ? [] : ['--dest-creds', `${USER}:${PASSWORD}`];
}

let layout: Promise<string> | undefined;

/** An OCI layout with two single-platform images (amd64, arm64) and an index `multi` of both; built once. */
export function testLayout(): Promise<string> {
  layout ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'layout-'));
    const oci = join(dir, 'oci');
    execFileSync('umoci', ['init', '--layout', oci]);
    const descriptors: Array<Record<string, unknown>> = [];
    for (const arch of ['amd64', 'arm64']) {
      const img = `${oci}:${arch}`;
      execFileSync('umoci', ['new', '--image', img]);
      execFileSync('umoci', [
        'config',
        '--image',
        img,
        '--architecture',
        arch,
        '--os',
        'linux',
        '--config.label',
        `org.opencontainers.image.title=tiny-${arch}`,
        '--config.cmd',
        '/hello',
        '--config.env',
        `ARCH=${arch}`,
        '--config.entrypoint',
        '/bin/sh',
      ]);
      const root = join(dir, `rootfs-${arch}`);
      mkdirSync(root);
      writeFileSync(join(root, 'hello.txt'), `hello from ${arch}\n`);
      execFileSync('umoci', ['insert', '--image', img, join(root, 'hello.txt'), '/hello.txt']);
      const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8')) as {
        manifests: Array<Record<string, unknown> & { annotations?: Record<string, string> }>;
      };
      const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === arch)!;
      descriptors.push({
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        platform: { architecture: arch, os: 'linux' },
      });
    }
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: descriptors,
      }),
    );
    const hex = createHash('sha256').update(list).digest('hex');
    writeFileSync(join(oci, 'blobs', 'sha256', hex), list);
    const indexFile = join(oci, 'index.json');
    const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { manifests: unknown[] };
    index.manifests.push({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: `sha256:${hex}`,
      size: list.length,
      annotations: { 'org.opencontainers.image.ref.name': 'multi' },
    });
    writeFileSync(indexFile, JSON.stringify(index));
    return oci;
  })();
  return layout;
}

export interface PushedContent {
  repo: string;
  /** tag → manifest digest as the registry serves it. */
  digests: Record<string, string>;
  /** tag → media type. */
  mediaTypes: Record<string, string>;
  /** For the two list tags: platform → child digest. */
  children: Record<string, Record<string, string>>;
}

/**
 * Pushes all four media types with skopeo: `oci`/`latest` (OCI manifest, amd64), `arm64` (OCI), `v2s2` (Docker
 * schema2), `multi` (OCI index of both), `multi-v2s2` (Docker manifest list, converted by skopeo).
 */
export async function pushStandardContent(reg: Registry, repo = 'tiny/app'): Promise<PushedContent> {
  const oci = await testLayout();
  const dest = (tag: string) => `docker://${reg.host}/${repo}:${tag}`;
  // Asynchronous: the token server answers from this process, so blocking on skopeo would deadlock.
  const copy = (args: string[]) =>
    run('skopeo', ['copy', '-q', '--dest-tls-verify=false', ...creds(reg), ...args], { timeout: 60_000 });
  await copy([`oci:${oci}:amd64`, dest('oci')]);
  await copy([`oci:${oci}:amd64`, dest('latest')]);
  await copy([`oci:${oci}:arm64`, dest('arm64')]);
  await copy(['--format', 'v2s2', `oci:${oci}:amd64`, dest('v2s2')]);
  await copy(['--all', `oci:${oci}:multi`, dest('multi')]);
  await copy(['--all', '--format', 'v2s2', `oci:${oci}:multi`, dest('multi-v2s2')]);
  const content: PushedContent = { repo, digests: {}, mediaTypes: {}, children: {} };
  for (const tag of ['oci', 'latest', 'arm64', 'v2s2', 'multi', 'multi-v2s2']) {
    const m = await getManifest(reg, repo, tag);
    content.digests[tag] = m.digest;
    content.mediaTypes[tag] = m.mediaType;
    if (Array.isArray(m.json.manifests))
      content.children[tag] = Object.fromEntries(
        (m.json.manifests as Array<{ digest: string; platform: { architecture: string } }>).map((c) => [
          c.platform.architecture,
          c.digest,
        ]),
      );
  }
  return content;
}

/** Bearer or Basic credentials for direct API calls as the test user. */
async function authHeader(reg: Registry, repo: string, actions: string): Promise<Record<string, string>> {
  if (reg.kind === 'anonymous') return {};
  if (reg.kind === 'htpasswd')
    return { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
  const url = `${reg.tokenServer!.url}?service=test-registry&scope=repository:${repo}:${actions}`;
  const res = await fetch(url, {
    headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
  });
  return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
}

export async function getManifest(reg: Registry, repo: string, ref: string) {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    headers: { accept: ACCEPT, ...(await authHeader(reg, repo, 'pull')) },
  });
  if (res.status !== 200) throw new Error(`GET manifest ${repo}:${ref}: ${res.status}`);
  const raw = Buffer.from(await res.arrayBuffer());
  const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  if (res.headers.get('docker-content-digest') !== digest) throw new Error('registry digest header mismatch');
  return {
    digest,
    mediaType: res.headers.get('content-type') ?? '',
    json: JSON.parse(raw.toString()) as Record<string, unknown>,
  };
}

async function pushBlob(
  reg: Registry,
  repo: string,
  auth: Record<string, string>,
  blob: Buffer,
): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const head = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', headers: auth });
  if (head.status === 200) return digest;
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth });
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status}`);
  const location = new URL(start.headers.get('location')!, reg.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body: blob,
  });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status}`);
  return digest;
}

/** Pushes one OCI image (distinct by its config) to `repo:tag` over the API; returns its manifest digest. */
export async function pushImage(
  reg: Registry,
  repo: string,
  tag: string,
  opts: { label?: string; architecture?: string; auth?: Record<string, string> } = {},
): Promise<string> {
  const auth = opts.auth ?? (await authHeader(reg, repo, 'pull,push'));
  const layer = Buffer.from('H4sIAAAAAAAAA+3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIA3A5reHScAKAAA', 'base64');
  const layerDigest = await pushBlob(reg, repo, auth, layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.architecture ?? 'amd64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Labels: { 'test.label': opts.label ?? tag }, Cmd: ['/hello'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update('x').digest('hex')}`] },
    }),
  );
  const configDigest = await pushBlob(reg, repo, auth, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length },
      ],
    }),
  );
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`manifest push ${repo}:${tag}: ${res.status} ${await res.text()}`);
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}

/** `count` tags, each a distinct image; tag names from `name(i)`. Returns tag → digest. */
export async function pushDistinctTags(
  reg: Registry,
  repo: string,
  count: number,
  name: (i: number) => string = (i) => `t${String(i).padStart(3, '0')}`,
): Promise<Record<string, string>> {
  const auth = await authHeader(reg, repo, 'pull,push');
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) out[name(i)] = await pushImage(reg, repo, name(i), { auth });
  return out;
}
