import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { keys } from '../../functions/store/keys';
import { readEvents } from '../support/events';
import { eventually } from '../support/eventually';
import { type Api, startStack } from '../support/local-stack';
import {
  copyTag,
  PASSWORD,
  type PushedContent,
  pushImage,
  pushStandardContent,
  type Registry,
  startRegistry,
  USER,
} from '../support/registries';

/**
 * Pulling through a stream (docs/registry.md) with real clients: skopeo against the local service, whose streams
 * were imported from a private (htpasswd) docker-registry with the project's pull secret. The puller holds only
 * system:image-puller in the project and has no credentials for the upstream registry.
 */
const run = promisify(execFile);
const NS = 'pulls';
const PULLER = { user: 'pat', token: 'puller-token-0123456789' };
const STRANGER = { user: 'sam', token: 'stranger-token-0123456789' };

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
let upstream: Registry;
let content: PushedContent;
let host: string;
const work = mkdtempSync(join(tmpdir(), 'pull-through-'));

async function skopeo(args: string[], creds: string | null = `${PULLER.user}:${PULLER.token}`) {
  const auth = creds === null ? ['--no-creds'] : ['--creds', creds];
  const [verb, ...rest] = args;
  const flags =
    verb === 'copy'
      ? ['--src-tls-verify=false', ...(creds === null ? ['--src-no-creds'] : ['--src-creds', creds!])]
      : ['--tls-verify=false', ...auth];
  return run('skopeo', [verb!, ...flags, ...rest], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
}

async function skopeoFails(args: string[], creds: string | null): Promise<string> {
  try {
    await skopeo(args, creds);
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
  throw new Error(`skopeo ${args.join(' ')} succeeded with ${creds}`);
}

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${api.url}${path}`, { headers, redirect: 'manual' });
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

beforeAll(async () => {
  upstream = await startRegistry('htpasswd');
  content = await pushStandardContent(upstream);
  stack = await startStack({
    LOCAL_TOKENS: JSON.stringify({
      [PULLER.token]: { user: PULLER.user },
      [STRANGER.token]: { user: STRANGER.user },
    }),
  });
  api = stack.api;
  host = new URL(api.url).host;
  expect((await api.newProject(NS)).status).toBe(201);
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  const secret = await api.post(`/api/v1/namespaces/${NS}/secrets`, {
    metadata: { name: 'upstream' },
    type: 'kubernetes.io/dockerconfigjson',
    stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [upstream.host]: { auth } } }) },
  });
  expect(secret.status, JSON.stringify(secret.body)).toBe(201);
  const binding = await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
    metadata: { name: 'pullers' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:image-puller' },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: PULLER.user }],
  });
  expect(binding.status, JSON.stringify(binding.body)).toBe(201);
  const image = (tag: string, to: string, importMode = 'Legacy') => ({
    from: { kind: 'DockerImage', name: `${upstream.host}/tiny/app:${tag}` },
    to: { name: to },
    importPolicy: { insecure: true, importMode },
    referencePolicy: { type: 'Local' },
  });
  const imported = await api.post(`/apis/image.openshift.io/v1/namespaces/${NS}/imagestreamimports`, {
    kind: 'ImageStreamImport',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: 'app' },
    spec: { import: true, images: [image('latest', 'latest'), image('multi', 'multi', 'PreserveOriginal')] },
  });
  expect(imported.status, JSON.stringify(imported.body)).toBe(201);
  for (const i of imported.body.status.images)
    expect(i.status.status, JSON.stringify(i.status)).toBe('Success');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await upstream?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the registry protocol', () => {
  it('GET /v2/ challenges an anonymous client with the token realm, and accepts the API token', async () => {
    const anonymous = await get('/v2/');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(anonymous.headers.get('www-authenticate')).toBe(
      `Bearer realm="${api.url}/v2/token",service="${host}"`,
    );
    expect(await anonymous.json()).toMatchObject({ errors: [{ code: 'UNAUTHORIZED' }] });
    expect((await get('/v2/', { authorization: `Bearer ${PULLER.token}` })).status).toBe(200);
    expect((await get('/v2/', { authorization: basic('x', PULLER.token) })).status).toBe(200);
    expect((await get('/v2/', { authorization: basic('x', 'wrong') })).status).toBe(401);
  });

  it('the token endpoint grants pull only where the caller may pull', async () => {
    const scope = `repository:${NS}/app:pull`;
    const ok = await get(`/v2/token?service=${host}&scope=${encodeURIComponent(scope)}`, {
      authorization: basic('anything', PULLER.token),
    });
    expect(ok.status).toBe(200);
    const { token, expires_in } = (await ok.json()) as { token: string; expires_in: number };
    expect(expires_in).toBe(300);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: PULLER.user, scope: [scope] });
    const tags = await get(`/v2/${NS}/app/tags/list`, { authorization: `Bearer ${token}` });
    expect(tags.status).toBe(200);
    // The stranger gets a token without the scope, and the pull is DENIED.
    const other = await get(`/v2/token?service=${host}&scope=${encodeURIComponent(scope)}`, {
      authorization: `Bearer ${STRANGER.token}`,
    });
    const strangerToken = ((await other.json()) as { token: string }).token;
    expect(JSON.parse(Buffer.from(strangerToken.split('.')[1]!, 'base64url').toString()).scope).toEqual([]);
    const denied = await get(`/v2/${NS}/app/tags/list`, { authorization: `Bearer ${strangerToken}` });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ errors: [{ code: 'DENIED' }] });
    // A token signed by anyone else is no token.
    const forged = `${token.split('.').slice(0, 2).join('.')}.${Buffer.alloc(32).toString('base64url')}`;
    expect((await get(`/v2/${NS}/app/tags/list`, { authorization: `Bearer ${forged}` })).status).toBe(401);
  });

  it('push is UNSUPPORTED', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await fetch(`${api.url}/v2/${NS}/app/blobs/uploads/`, {
        method,
        headers: { authorization: `Bearer ${PULLER.token}` },
      });
      expect(res.status, method).toBe(405);
      expect(await res.json()).toMatchObject({ errors: [{ code: 'UNSUPPORTED' }] });
    }
  });

  it('tags/list pages with n and last, and a Link to the next page', async () => {
    const auth = { authorization: `Bearer ${PULLER.token}` };
    const first = await get(`/v2/${NS}/app/tags/list?n=1`, auth);
    expect(await first.json()).toEqual({ name: `${NS}/app`, tags: ['latest'] });
    expect(first.headers.get('link')).toBe(`</v2/${NS}/app/tags/list?n=1&last=latest>; rel="next"`);
    const second = await get(`/v2/${NS}/app/tags/list?n=1&last=latest`, auth);
    expect(await second.json()).toEqual({ name: `${NS}/app`, tags: ['multi'] });
    expect(second.headers.get('link')).toBeNull();
    const unknown = await get(`/v2/${NS}/nothing/tags/list`, auth);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ errors: [{ code: 'NAME_UNKNOWN' }] });
  });

  it('serves an index only to a client that accepts one, by tag; HEAD answers headers only', async () => {
    const auth = { authorization: `Bearer ${PULLER.token}` };
    const index = 'application/vnd.oci.image.index.v1+json';
    const refused = await get(`/v2/${NS}/app/manifests/multi`, {
      ...auth,
      accept: 'application/vnd.docker.distribution.manifest.v2+json',
    });
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    const served = await get(`/v2/${NS}/app/manifests/multi`, { ...auth, accept: index });
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe(index);
    expect(served.headers.get('docker-content-digest')).toBe(content.digests.multi);
    const raw = Buffer.from(await served.arrayBuffer());
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(content.digests.multi);
    const head = await fetch(`${api.url}/v2/${NS}/app/manifests/multi`, {
      method: 'HEAD',
      headers: { ...auth, accept: index },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(raw.length));
    expect(head.headers.get('docker-content-digest')).toBe(content.digests.multi);
    // HEAD of a blob is answered from the manifest that lists it: its declared size, nothing asked upstream.
    const layer = content.manifests.latest!.layers![0]!;
    const mark = upstream.mark();
    const blobHead = await fetch(`${api.url}/v2/${NS}/app/blobs/${layer.digest}`, {
      method: 'HEAD',
      headers: auth,
    });
    expect(blobHead.status).toBe(200);
    expect(blobHead.headers.get('content-length')).toBe(String(layer.size));
    expect(upstream.since(mark).filter((r) => r.uri.includes('/blobs/'))).toEqual([]);
  });

  it('a digest the stream never referenced is MANIFEST_UNKNOWN, even though upstream has it', async () => {
    const res = await get(`/v2/${NS}/app/manifests/${content.digests.v2s2}`, {
      authorization: `Bearer ${PULLER.token}`,
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ errors: [{ code: 'MANIFEST_UNKNOWN' }] });
  });
});

describe('skopeo through the stream', () => {
  it('inspects the tag and the Local pull spec the API hands out, with upstream digests', async () => {
    const { stdout } = await skopeo(['inspect', `docker://${host}/${NS}/app:latest`]);
    expect(JSON.parse(stdout).Digest).toBe(content.digests.latest);
    const istag = await api.get(`/apis/image.openshift.io/v1/namespaces/${NS}/imagestreamtags/app:latest`);
    const pullSpec = istag.body.image.dockerImageReference as string;
    const tagSpec = istag.body.tag;
    expect(tagSpec.referencePolicy.type).toBe('Local');
    const stream = await api.get(`/apis/image.openshift.io/v1/namespaces/${NS}/imagestreams/app`);
    const local = stream.body.status.tags.find((t: { tag: string }) => t.tag === 'latest').items[0];
    expect(stream.body.status.dockerImageRepository).toBe(`${host}/${NS}/app`);
    expect(pullSpec).toBe(`${host}/${NS}/app@${content.digests.latest}`);
    expect(JSON.parse((await skopeo(['inspect', `docker://${pullSpec}`])).stdout).Digest).toBe(
      content.digests.latest,
    );
    const byDigest = await skopeo(['inspect', `docker://${host}/${NS}/app@${local.image}`]);
    expect(JSON.parse(byDigest.stdout).Digest).toBe(content.digests.latest);
  });

  it('keeps the manifest: a second pull of it asks upstream for nothing', async () => {
    await skopeo(['inspect', `docker://${host}/${NS}/app:latest`]);
    const mark = upstream.mark();
    const { stdout } = await skopeo(['inspect', `docker://${host}/${NS}/app:latest`]);
    expect(JSON.parse(stdout).Digest).toBe(content.digests.latest);
    // The config blob streams through again (blobs are never stored); no manifest request reaches upstream.
    expect(upstream.since(mark).filter((r) => r.uri.includes('/manifests/'))).toEqual([]);
    // Kept in the table, in the project's own partition (so another process, or a restart, needs no fetch either),
    // with the blobs it lists.
    const db = createDocumentClient({ endpoint: inject('dynamodbEndpoint') });
    const items = async (prefix: string) =>
      (
        await db.send(
          new QueryCommand({
            TableName: stack.table,
            KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
            ExpressionAttributeValues: { ':pk': keys.projectImagePk(NS), ':p': prefix },
          }),
        )
      ).Items ?? [];
    const [chunk] = await items(keys.projectManifestPrefix(content.digests.latest!));
    expect(chunk).toMatchObject({ mediaType: content.mediaTypes.latest, chunks: 1 });
    expect(createHash('sha256').update(Buffer.from(chunk!.bytes)).digest('hex')).toBe(
      content.digests.latest!.split(':')[1],
    );
    const layer = content.manifests.latest!.layers![0]!.digest;
    expect((await items(keys.projectBlobPrefix(layer))).map((i) => i.manifest)).toContain(
      content.digests.latest,
    );
    db.destroy();
  });

  it('events carry the Local pull spec, which pulls as it is', async () => {
    const event = await eventually(
      async () =>
        readEvents(stack.service.eventsFile).find(
          (e) => e.detail.stream === 'app' && e.detail.tag === 'latest' && e.detail.current,
        ),
      'the created event of app:latest',
    );
    expect(event.detail.current.pullSpec).toBe(`${host}/${NS}/app@${content.digests.latest}`);
    const { stdout } = await skopeo(['inspect', `docker://${event.detail.current.pullSpec}`]);
    expect(JSON.parse(stdout).Digest).toBe(content.digests.latest);
  });

  it('a binding removed takes effect at once, even for a token issued before', async () => {
    const scope = encodeURIComponent(`repository:${NS}/app:pull`);
    const bindingPath = `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/late`;
    const binding = await api.put(bindingPath, {
      metadata: { name: 'late' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: STRANGER.user }],
    });
    expect(binding.status, JSON.stringify(binding.body)).toBe(201);
    const issued = await get(`/v2/token?service=${host}&scope=${scope}`, {
      authorization: basic('x', STRANGER.token),
    });
    const { token } = (await issued.json()) as { token: string };
    const auth = { authorization: `Bearer ${token}` };
    expect((await get(`/v2/${NS}/app/manifests/latest`, auth)).status).toBe(200);
    expect((await api.delete(bindingPath)).status).toBe(200);
    const after = await get(`/v2/${NS}/app/manifests/latest`, auth);
    expect(after.status).toBe(403);
    expect(await after.json()).toMatchObject({ errors: [{ code: 'DENIED' }] });
  });

  it('skopeo login with the API token as password, then pulls with the stored login', async () => {
    const authfile = join(work, 'auth.json');
    await run(
      'skopeo',
      ['login', '--tls-verify=false', '--authfile', authfile, '-u', 'anything', '-p', PULLER.token, host],
      { timeout: 60_000 },
    );
    const { stdout } = await run(
      'skopeo',
      ['inspect', '--tls-verify=false', '--authfile', authfile, `docker://${host}/${NS}/app:latest`],
      { timeout: 60_000 },
    );
    expect(JSON.parse(stdout).Digest).toBe(content.digests.latest);
    await expect(
      run('skopeo', ['login', '--tls-verify=false', '--authfile', authfile, '-u', 'x', '-p', 'wrong', host], {
        timeout: 60_000,
      }),
    ).rejects.toThrow();
  });

  it('lists the stream tags', async () => {
    const { stdout } = await skopeo(['list-tags', `docker://${host}/${NS}/app`]);
    expect(JSON.parse(stdout).Tags.sort()).toEqual(['latest', 'multi']);
  });

  it('copies the image: every blob verified, layers equal upstream', async () => {
    const dir = join(work, 'copy');
    await skopeo(['copy', `docker://${host}/${NS}/app:latest`, `oci:${dir}:latest`]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(content.digests.latest);
    const manifest = JSON.parse(
      readFileSync(join(dir, 'blobs', ...String(index.manifests[0].digest).split(':')), 'utf8'),
    );
    expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(
      content.manifests.latest!.layers!.map((l) => l.digest),
    );
  });

  it('copies a multi-arch tag for both platforms', async () => {
    const dir = join(work, 'multi');
    await skopeo(['copy', '--all', `docker://${host}/${NS}/app:multi`, `oci:${dir}:multi`]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(content.digests.multi);
    for (const arch of ['amd64', 'arm64']) {
      const one = join(work, `multi-${arch}`);
      await skopeo(['copy', '--override-arch', arch, `docker://${host}/${NS}/app:multi`, `oci:${one}:x`]);
      const idx = JSON.parse(readFileSync(join(one, 'index.json'), 'utf8'));
      expect(idx.manifests[0].digest).toBe(content.children.multi![arch]);
    }
  });

  it('refuses a user without a role, a wrong token and an anonymous client', async () => {
    const ref = `docker://${host}/${NS}/app:latest`;
    expect(await skopeoFails(['inspect', ref], `${STRANGER.user}:${STRANGER.token}`)).toMatch(
      /denied|DENIED|403/i,
    );
    expect(await skopeoFails(['inspect', ref], `${PULLER.user}:not-a-token`)).toMatch(
      /unauthorized|401|authentication/i,
    );
    expect(await skopeoFails(['inspect', ref], null)).toMatch(/unauthorized|401|authentication/i);
  });

  it('after upstream moves the tag, the stream still serves the imported digest', async () => {
    await copyTag(upstream, 'tiny/app', 'arm64', 'latest');
    const { stdout } = await skopeo(['inspect', `docker://${host}/${NS}/app:latest`]);
    expect(JSON.parse(stdout).Digest).toBe(content.digests.latest);
  });
});

/** An HTTP proxy on loopback in front of the service that counts the bytes of blob response bodies it passes. */
async function countingProxy(target: string) {
  let blobBytes = 0;
  const blobStatuses: number[] = [];
  const server = createServer((req, res) => {
    const upstreamReq = httpRequest(
      `${target}${req.url}`,
      { method: req.method, headers: req.headers, agent: false },
      (up) => {
        const isBlob = /\/blobs\/sha256:/.test(req.url ?? '');
        if (isBlob) blobStatuses.push(up.statusCode ?? 0);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (chunk: Buffer) => {
          if (isBlob) blobBytes += chunk.length;
        });
        up.pipe(res);
      },
    );
    upstreamReq.on('error', () => res.destroy());
    req.pipe(upstreamReq);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    blobBytes: () => blobBytes,
    blobStatuses: () => blobStatuses,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('an upstream that redirects blob downloads', () => {
  it('is passed on as a redirect: the service sends no blob bytes, the client fetches them from storage', async () => {
    let storageDir = '';
    let storageBytes = 0;
    const storage = createServer((req, res) => {
      const file = join(storageDir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      if (!file.startsWith(storageDir) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const bytes = readFileSync(file);
      storageBytes += bytes.length;
      res.writeHead(200, { 'content-length': String(bytes.length) }).end(bytes);
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    const storageOrigin = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
    const redirecting = await startRegistry('anonymous', { redirectBlobsTo: storageOrigin });
    storageDir = join(redirecting.dir, 'storage');
    const proxy = await countingProxy(api.url);
    try {
      const digest = await pushImage(redirecting, 'cdn/app', 'v1');
      const imported = await api.post(`/apis/image.openshift.io/v1/namespaces/${NS}/imagestreamimports`, {
        kind: 'ImageStreamImport',
        apiVersion: 'image.openshift.io/v1',
        metadata: { name: 'cdn' },
        spec: {
          import: true,
          images: [
            {
              from: { kind: 'DockerImage', name: `${redirecting.host}/cdn/app:v1` },
              to: { name: 'v1' },
              importPolicy: { insecure: true },
            },
          ],
        },
      });
      expect(imported.body.status.images[0].status.status, JSON.stringify(imported.body)).toBe('Success');
      const before = storageBytes;
      const dir = join(work, 'cdn');
      await run(
        'skopeo',
        [
          'copy',
          '--src-tls-verify=false',
          '--src-creds',
          `${PULLER.user}:${PULLER.token}`,
          `docker://${proxy.host}/${NS}/cdn:v1`,
          `oci:${dir}:v1`,
        ],
        { timeout: 120_000 },
      );
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      expect(index.manifests[0].digest).toBe(digest);
      // Config and layer: each a 307 from the service, the bytes from storage.
      expect(proxy.blobStatuses().length).toBeGreaterThanOrEqual(2);
      expect(new Set(proxy.blobStatuses())).toEqual(new Set([307]));
      expect(proxy.blobBytes()).toBe(0);
      expect(storageBytes).toBeGreaterThan(before);
    } finally {
      await proxy.stop();
      await redirecting.stop();
      await new Promise<void>((r) => storage.close(() => r()));
    }
  });
});

describe('an upstream blob that does not match its digest', () => {
  it('cuts the connection before the end, so the client never holds a complete wrong blob', async () => {
    const plain = await startRegistry('anonymous');
    try {
      await pushImage(plain, 'bad/app', 'v1');
      const imported = await api.post(`/apis/image.openshift.io/v1/namespaces/${NS}/imagestreamimports`, {
        kind: 'ImageStreamImport',
        apiVersion: 'image.openshift.io/v1',
        metadata: { name: 'tampered' },
        spec: {
          import: true,
          images: [
            {
              from: { kind: 'DockerImage', name: `${plain.host}/bad/app:v1` },
              to: { name: 'v1' },
              importPolicy: { insecure: true },
            },
          ],
        },
      });
      expect(imported.body.status.images[0].status.status, JSON.stringify(imported.body)).toBe('Success');
      const auth = { authorization: `Bearer ${PULLER.token}` };
      const manifest = await (await get(`/v2/${NS}/tampered/manifests/v1`, auth)).json();
      const layer = (manifest as { layers: Array<{ digest: string; size: number }> }).layers[0]!;
      const hex = layer.digest.split(':')[1]!;
      const data = join(plain.dir, 'storage/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      // Same size, other bytes: the registry serves them as they are, with the original digest header.
      writeFileSync(data, Buffer.alloc(layer.size, 0x5a));
      // Cut before the body is complete (before the headers even, for a blob of one chunk).
      const outcome = await get(`/v2/${NS}/tampered/blobs/${layer.digest}`, auth)
        .then((res) => res.arrayBuffer())
        .then(
          () => 'complete',
          () => 'cut',
        );
      expect(outcome).toBe('cut');
    } finally {
      await plain.stop();
    }
  });
});

describe('docker-registry as a pull-through cache of the service', () => {
  it('serves a stream tag, logging in with a user token through the token flow', async () => {
    const cache = await startRegistry('anonymous', {
      proxy: { remoteurl: api.url, username: PULLER.user, password: PULLER.token },
    });
    try {
      const dir = join(work, 'cache');
      await run(
        'skopeo',
        ['copy', '--src-tls-verify=false', `docker://${cache.host}/${NS}/app:latest`, `oci:${dir}:latest`],
        { timeout: 120_000 },
      );
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      expect(index.manifests[0].digest).toBe(content.digests.latest);
      // And a user the service refuses gets nothing through the cache either.
      const refused = await startRegistry('anonymous', {
        proxy: { remoteurl: api.url, username: STRANGER.user, password: STRANGER.token },
      });
      try {
        await expect(
          run('skopeo', ['inspect', '--tls-verify=false', `docker://${refused.host}/${NS}/app:latest`], {
            timeout: 60_000,
          }),
        ).rejects.toThrow();
      } finally {
        await refused.stop();
      }
    } finally {
      await cache.stop();
    }
  });
});

describe('a blob larger than the registry streams (MAX_STREAMED_BLOB_BYTES, as in AWS)', () => {
  it('is refused before any byte with a clear error, while smaller blobs stream', async () => {
    const limited = await startStack({
      LOCAL_TOKENS: JSON.stringify({ [PULLER.token]: { user: PULLER.user } }),
      MAX_STREAMED_BLOB_BYTES: '200',
    });
    const plain = await startRegistry('anonymous');
    try {
      await pushImage(plain, 'lim/app', 'v1');
      const a = limited.api;
      expect((await a.newProject('lim')).status).toBe(201);
      const imported = await a.post('/apis/image.openshift.io/v1/namespaces/lim/imagestreamimports', {
        kind: 'ImageStreamImport',
        apiVersion: 'image.openshift.io/v1',
        metadata: { name: 'app' },
        spec: {
          import: true,
          images: [
            {
              from: { kind: 'DockerImage', name: `${plain.host}/lim/app:v1` },
              to: { name: 'v1' },
              importPolicy: { insecure: true },
            },
          ],
        },
      });
      expect(imported.body.status.images[0].status.status, JSON.stringify(imported.body)).toBe('Success');
      const auth = { authorization: 'Bearer test-admin-token-0123456789' };
      const fetchAs = (path: string) => fetch(`${a.url}${path}`, { headers: auth });
      const manifest = (await (await fetchAs('/v2/lim/app/manifests/v1')).json()) as {
        config: { digest: string; size: number };
        layers: Array<{ digest: string; size: number }>;
      };
      const big = [manifest.config, ...manifest.layers].find((d) => d.size > 200);
      const small = [manifest.config, ...manifest.layers].find((d) => d.size <= 200);
      expect(big && small, JSON.stringify(manifest)).toBeTruthy();
      const refused = await fetchAs(`/v2/lim/app/blobs/${big!.digest}`);
      expect(refused.status).toBe(413);
      const body = (await refused.json()) as { errors: Array<{ code: string; message: string }> };
      expect(body.errors[0]!.code).toBe('UNSUPPORTED');
      expect(body.errors[0]!.message).toContain(`at most 200 bytes`);
      const served = await fetchAs(`/v2/lim/app/blobs/${small!.digest}`);
      expect(served.status).toBe(200);
      const bytes = Buffer.from(await served.arrayBuffer());
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(small!.digest);
    } finally {
      await plain.stop();
      await limited.stop();
    }
  });
});
