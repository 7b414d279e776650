/**
 * The registry fixtures themselves: real docker-registry processes (anonymous, htpasswd, token) filled with the
 * standard content, checked with plain fetch so a fixture bug cannot hide behind the client under test.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCEPT,
  copyTag,
  MEDIA_TYPES,
  PASSWORD,
  type PushedContent,
  parseRegistryLog,
  processGroupAlive,
  pushDistinctTags,
  pushImage,
  pushStandardContent,
  type Registry,
  STANDARD_TAGS,
  startRegistry,
  USER,
} from '../support/registries';

const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let anon: Registry;
let basic: Registry;
let token: Registry;
let anonContent: PushedContent;
let basicContent: PushedContent;
let tokenContent: PushedContent;
let publicContent: PushedContent;
let setupMs = 0;

beforeAll(async () => {
  const t0 = performance.now();
  [anon, basic, token] = await Promise.all([
    startRegistry('anonymous'),
    startRegistry('htpasswd'),
    startRegistry('token'),
  ]);
  [anonContent, basicContent, tokenContent, publicContent] = await Promise.all([
    pushStandardContent(anon),
    pushStandardContent(basic),
    pushStandardContent(token),
    pushStandardContent(token, 'public/app'),
  ]);
  setupMs = performance.now() - t0;
});

afterAll(async () => {
  await Promise.all([anon?.stop(), basic?.stop(), token?.stop()]);
});

async function tokenFor(scope: string, authorization?: string): Promise<string> {
  const url = new URL(token.tokenServer!.url);
  url.searchParams.set('service', 'test-registry');
  url.searchParams.set('scope', scope);
  const res = await fetch(url, { headers: authorization ? { authorization } : {} });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

const head = (reg: Registry, path: string, headers: Record<string, string> = {}) =>
  fetch(`${reg.url}${path}`, { method: 'HEAD', headers: { accept: ACCEPT, ...headers } });

/** The set of processes whose command line mentions `needle` (Linux /proc; bounded by the process count). */
async function processesMentioning(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) found.push(Number(entry));
  }
  return found;
}

describe('standard content', () => {
  it('starts three registries and pushes all four media types in a few seconds', () => {
    console.log(`start 3 registries + push standard content 4×: ${Math.round(setupMs)} ms`);
    expect(setupMs).toBeLessThan(15_000);
    for (const reg of [anon, basic, token]) {
      expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(reg.host).not.toBe('127.0.0.1:5000');
      expect(reg.url).toBe(`http://${reg.host}`);
    }
    expect(basic).toMatchObject({ username: USER, password: PASSWORD });
    expect(anon.username).toBeUndefined();
  });

  it('serves every tag as its media type and digest to an anonymous HEAD with the four-type Accept', async () => {
    for (const [tag, mediaType] of Object.entries(STANDARD_TAGS)) {
      const res = await head(anon, `/v2/tiny/app/manifests/${tag}`);
      expect(res.status, tag).toBe(200);
      expect(res.headers.get('content-type'), tag).toBe(mediaType);
      expect(res.headers.get('docker-content-digest'), tag).toBe(anonContent.digests[tag]);
      expect(Number(res.headers.get('content-length')), tag).toBe(anonContent.manifests[tag]!.size);
    }
    // A GET body hashes to the digest the registry claims.
    const get = await fetch(`${anon.url}/v2/tiny/app/manifests/multi-v2s2`, { headers: { accept: ACCEPT } });
    expect(sha256(Buffer.from(await get.arrayBuffer()))).toBe(anonContent.digests['multi-v2s2']);
  });

  it('describes the content: aliases, list children with platforms, configs and layers', () => {
    const c = anonContent;
    expect(c.digests.latest).toBe(c.digests.oci);
    expect(new Set(Object.values(c.digests)).size).toBe(5);
    // The OCI index holds exactly the two OCI images; the Docker list holds their schema2 conversions.
    expect(c.children.multi).toEqual({ amd64: c.digests.oci, arm64: c.digests.arm64 });
    expect(c.children['multi-v2s2']!.amd64).toBe(c.digests.v2s2);
    expect(c.manifests.multi!.children!.map((ch) => ch.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux' },
    ]);
    expect(c.manifests['multi-v2s2']!.children!.map((ch) => ch.mediaType)).toEqual([
      MEDIA_TYPES.dockerManifest,
      MEDIA_TYPES.dockerManifest,
    ]);
    const amd = c.manifests.oci!;
    const arm = c.manifests.arm64!;
    expect(amd.config!.digest).not.toBe(arm.config!.digest);
    expect(amd.layers![0]!.digest).not.toBe(arm.layers![0]!.digest);
    expect(amd.layers![0]!.size).toBeGreaterThan(0);
    // Every child is described too.
    for (const list of ['multi', 'multi-v2s2'])
      for (const ch of c.manifests[list]!.children!) expect(c.byDigest[ch.digest]?.config).toBeDefined();
    // The build is reproducible: the same digests whatever the registry (and from run to run).
    expect(basicContent.digests).toEqual(c.digests);
    expect(tokenContent.digests).toEqual(c.digests);
    expect(publicContent.digests).toEqual(c.digests);
  });

  it('builds configs with the labels, platform and command asked for', async () => {
    const blob = await fetch(`${anon.url}/v2/tiny/app/blobs/${anonContent.manifests.arm64!.config!.digest}`);
    const config = (await blob.json()) as {
      architecture: string;
      os: string;
      config: { Labels: Record<string, string>; Cmd: string[]; Env: string[] };
    };
    expect(config).toMatchObject({ architecture: 'arm64', os: 'linux' });
    expect(config.config.Labels['org.opencontainers.image.title']).toBe('tiny-arm64');
    expect(config.config.Cmd).toEqual(['/hello']);
    expect(config.config.Env).toContain('ARCH=arm64');
  });
});

describe('requests()', () => {
  it('records each request with method, uri and status, 4xx included, as soon as the response is read', async () => {
    const mark = anon.mark();
    await (await head(anon, '/v2/tiny/app/manifests/oci')).arrayBuffer();
    await (await fetch(`${anon.url}/v2/tiny/app/manifests/nope`)).arrayBuffer();
    await (await fetch(`${anon.url}/v2/tiny/app/tags/list?n=1`)).arrayBuffer();
    expect(anon.since(mark)).toEqual([
      { method: 'HEAD', uri: '/v2/tiny/app/manifests/oci', status: 200 },
      { method: 'GET', uri: '/v2/tiny/app/manifests/nope', status: 404 },
      { method: 'GET', uri: '/v2/tiny/app/tags/list?n=1', status: 200 },
    ]);
    // No settling needed: each line is in the file before the response is complete (checked 60 times).
    for (let i = 0; i < 60; i++) {
      const before = anon.mark();
      const res = await fetch(`${anon.url}/v2/tiny/app/manifests/${i % 2 ? 'oci' : 'multi'}`, {
        method: i % 3 ? 'GET' : 'HEAD',
        headers: { accept: ACCEPT },
      });
      await res.arrayBuffer();
      expect(anon.since(before)).toHaveLength(1);
    }
  });

  it('resetLog() starts counting afresh, and the log survives reads', () => {
    expect(anon.requests().length).toBeGreaterThan(0);
    anon.resetLog();
    expect(anon.requests()).toEqual([]);
    expect(anon.mark()).toBe(0);
  });

  it('parses only access-log lines, never JSON entries or a torn last line', () => {
    const log = [
      '{"level":"info","msg":"listening on 127.0.0.1:1","time":"2026-11-23T07:02:52Z"}',
      '{"http.request.method":"GET","http.request.uri":"/v2/","level":"warning","msg":"error authorizing context"}',
      '127.0.0.1 - - [23/Nov/2026:07:02:52 +0000] "GET /v2/ HTTP/1.1" 401 87 "" "curl/7.88.1"',
      '{"http.request.method":"GET","http.request.uri":"/v2/","http.response.status":200,"msg":"response completed"}',
      '127.0.0.1 - - [23/Nov/2026:07:02:52 +0000] "GET /v2/x/tags/list?n=1&last=a%20b HTTP/1.1" 404 111 "" "ua"',
      '127.0.0.1 - - [23/Nov/2026:07:02:52 +0000] "HEAD /v2/x/manifests/1 HTTP/1.1" 200 0 "" "Go-http-client/1.1"',
      'panic: something unrelated',
      '127.0.0.1 - - [23/Nov/2026:07:02:52 +0000] "GET /v2/x/manif',
    ].join('\n');
    expect(parseRegistryLog(log)).toEqual([
      { method: 'GET', uri: '/v2/', status: 401 },
      { method: 'GET', uri: '/v2/x/tags/list?n=1&last=a%20b', status: 404 },
      { method: 'HEAD', uri: '/v2/x/manifests/1', status: 200 },
    ]);
  });
});

describe('htpasswd registry', () => {
  it('challenges with Basic, refuses wrong passwords and serves the test user', async () => {
    const mark = basic.mark();
    const ping = await fetch(`${basic.url}/v2/`);
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe('Basic realm="test-realm"');
    expect((await head(basic, '/v2/tiny/app/manifests/oci')).status).toBe(401);
    const wrong = `Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}`;
    expect((await head(basic, '/v2/tiny/app/manifests/oci', { authorization: wrong })).status).toBe(401);
    const ok = await head(basic, '/v2/tiny/app/manifests/multi', { authorization: BASIC });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('docker-content-digest')).toBe(basicContent.digests.multi);
    expect(basic.since(mark).map((r) => `${r.method} ${r.status}`)).toEqual([
      'GET 401',
      'HEAD 401',
      'HEAD 401',
      'HEAD 200',
    ]);
  });
});

describe('token registry', () => {
  it('challenges with Bearer naming the token server, service and scope', async () => {
    const ping = await fetch(`${token.url}/v2/`);
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe(
      `Bearer realm="${token.tokenServer!.url}",service="test-registry"`,
    );
    const res = await head(token, '/v2/tiny/app/manifests/oci');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('scope="repository:tiny/app:pull"');
  });

  it('an anonymous token is insufficient for tiny/app, the test user’s works, public/app is anonymous', async () => {
    const ts = token.tokenServer!;
    const before = ts.tokenRequests;
    const anonymous = await tokenFor('repository:tiny/app:pull');
    const denied = await head(token, '/v2/tiny/app/manifests/oci', { authorization: `Bearer ${anonymous}` });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('error="insufficient_scope"');

    const user = await tokenFor('repository:tiny/app:pull', BASIC);
    const ok = await head(token, '/v2/tiny/app/manifests/multi-v2s2', { authorization: `Bearer ${user}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('docker-content-digest')).toBe(tokenContent.digests['multi-v2s2']);

    const pub = await tokenFor('repository:public/app:pull');
    const pubRes = await head(token, '/v2/public/app/manifests/oci', { authorization: `Bearer ${pub}` });
    expect(pubRes.status).toBe(200);
    expect(pubRes.headers.get('docker-content-digest')).toBe(publicContent.digests.oci);

    expect(ts.tokenRequests - before).toBe(3);
    expect(ts.requests.slice(before).map((r) => [r.credentialsSent, r.access[0]!.actions])).toEqual([
      [false, []],
      [true, ['pull']],
      [false, ['pull']],
    ]);
  });

  it('issues RS256 JWTs as distribution expects, and 401s a wrong password', async () => {
    const jwt = await tokenFor('repository:a/b:pull,push,delete', BASIC);
    const [h, c] = jwt
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(h).toMatchObject({ typ: 'JWT', alg: 'RS256' });
    expect(h.x5c).toHaveLength(1);
    expect(c).toMatchObject({
      iss: 'test-issuer',
      sub: USER,
      aud: 'test-registry',
      access: [{ type: 'repository', name: 'a/b', actions: ['pull', 'push'] }],
    });
    expect(c.exp - c.iat).toBe(300);
    expect(typeof c.jti).toBe('string');

    const before = token.tokenServer!.tokenRequests;
    const url = `${token.tokenServer!.url}?service=test-registry&scope=repository:tiny/app:pull`;
    const bad = await fetch(url, {
      headers: { authorization: `Basic ${Buffer.from(`${USER}:nope`).toString('base64')}` },
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ details: 'incorrect username or password' });
    expect(token.tokenServer!.requests[before]).toMatchObject({ credentialsSent: true, status: 401 });
  });
});

describe('API pushes', () => {
  it('pushes 200 distinct tags in seconds, aliases one and moves another', async () => {
    const t0 = performance.now();
    const tags = await pushDistinctTags(anon, 'bulk/app', 200);
    const ms = performance.now() - t0;
    console.log(`pushDistinctTags 200 tags (anonymous): ${Math.round(ms)} ms`);
    expect(ms).toBeLessThan(10_000);
    expect(Object.keys(tags).slice(0, 2)).toEqual(['t000', 't001']);
    expect(new Set(Object.values(tags)).size).toBe(200);
    const list = await fetch(`${anon.url}/v2/bulk/app/tags/list`);
    expect(((await list.json()) as { tags: string[] }).tags).toHaveLength(200);

    // Alias: the label of t007 makes the same image, so the same digest.
    expect(await pushImage(anon, 'bulk/app', 'alias', { label: 't007' })).toBe(tags.t007);
    // Moves: t001 now points at t002's manifest; t003 at a new image.
    expect(await copyTag(anon, 'bulk/app', 't002', 't001')).toBe(tags.t002);
    const moved = await pushImage(anon, 'bulk/app', 't003', { label: 'something else' });
    expect(moved).not.toBe(tags.t003);
    for (const [tag, digest] of [
      ['alias', tags.t007],
      ['t001', tags.t002],
      ['t003', moved],
    ] as const)
      expect((await head(anon, `/v2/bulk/app/manifests/${tag}`)).headers.get('docker-content-digest')).toBe(
        digest,
      );
  });

  it('pushes with Basic auth and with bearer tokens, names and labels from options', async () => {
    const named = await pushDistinctTags(basic, 'named/app', 3, { name: (i) => `v${i}`, concurrency: 2 });
    expect(Object.keys(named)).toEqual(['v0', 'v1', 'v2']);
    const before = token.tokenServer!.tokenRequests;
    const viaToken = await pushDistinctTags(token, 'bulk/app', 5, {
      name: (i) => `r${i}`,
      label: (i) => `same-${i % 2}`,
    });
    // Labels decide identity: r0, r2, r4 are one image.
    expect(viaToken.r0).toBe(viaToken.r2);
    expect(viaToken.r0).toBe(viaToken.r4);
    expect(viaToken.r0).not.toBe(viaToken.r1);
    // One token for the whole batch.
    expect(token.tokenServer!.tokenRequests - before).toBe(1);
    // A list tag can be copied as well (its children are already in the repository).
    expect(await copyTag(token, 'tiny/app', 'multi', 'multi-copy')).toBe(tokenContent.digests.multi);
  });
});

describe('lifecycle', () => {
  it('a start that times out says so and leaves nothing behind', async () => {
    await expect(startRegistry('anonymous', { startTimeoutMs: 0 })).rejects.toThrow(
      /docker-registry \(anonymous\) on http:\/\/127\.0\.0\.1:\d+ did not answer GET \/v2\/ within 0 ms/,
    );
  });

  it('stop() leaves no process, no port and no temp dir; requests() still answers', async () => {
    const reg = await startRegistry('token');
    await pushDistinctTags(reg, 'x/y', 1);
    const tokenUrl = reg.tokenServer!.url;
    expect(processGroupAlive(reg.pid)).toBe(true);
    expect(await processesMentioning(reg.dir)).not.toEqual([]);
    await reg.stop();
    await reg.stop();
    expect(processGroupAlive(reg.pid)).toBe(false);
    expect(await processesMentioning(reg.dir)).toEqual([]);
    expect(existsSync(reg.dir)).toBe(false);
    await expect(fetch(`${reg.url}/v2/`)).rejects.toThrow();
    await expect(fetch(tokenUrl)).rejects.toThrow();
    expect(reg.requests().some((r) => r.method === 'PUT' && r.status === 201)).toBe(true);
  });

  it('a registry dies with the test process, even one killed by SIGKILL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'registry-orphan-'));
    try {
      const script = join(dir, 'child.mts');
      const registries = resolve(import.meta.dirname, '../support/registries.ts');
      await writeFile(
        script,
        `import { startRegistry } from ${JSON.stringify(registries)};\n` +
          `const reg = await startRegistry('anonymous');\n` +
          `process.stdout.write(JSON.stringify({ pid: reg.pid, dir: reg.dir }) + '\\n');\n` +
          `setInterval(() => {}, 1000);\n`,
      );
      // `node --import tsx` (not the tsx CLI) so the process killed is the one that started the registry.
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: resolve(import.meta.dirname, '../..'),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = await new Promise<string>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error('child did not start a registry in 15 s')), 15_000);
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) {
            clearTimeout(timer);
            ok(buf.split('\n')[0]!);
          }
        });
        child.once('exit', () => fail(new Error('child exited before starting a registry')));
      });
      const orphan = JSON.parse(line) as { pid: number; dir: string };
      expect(processGroupAlive(orphan.pid)).toBe(true);
      child.kill('SIGKILL');
      // Bounded: the watchdog reacts within milliseconds.
      for (let i = 0; i < 150 && (processGroupAlive(orphan.pid) || existsSync(orphan.dir)); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(processGroupAlive(orphan.pid)).toBe(false);
      expect(await processesMentioning(orphan.dir)).toEqual([]);
      expect(existsSync(orphan.dir)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
