import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BIG_MANIFEST_BYTES,
  type FaultRegistry,
  MEDIA,
  NETWORK_SCENARIO_NAMES,
  PRIVATE_REALM,
  SCENARIO_NAMES,
  sha256,
  startFaultRegistry,
} from '../support/fault-registry';

/** Self-test of the fault registry fixture, with plain fetch (no registry client involved). */

const BASIC = 'Basic ' + Buffer.from('u:p').toString('base64');

let reg: FaultRegistry;

beforeAll(async () => {
  reg = await startFaultRegistry();
});
afterAll(() => reg?.stop());
beforeEach(() => reg.reset());

async function get(path: string, init: RequestInit = {}) {
  const res = await fetch(new URL(path, reg.url), { redirect: 'manual', ...init });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body.toString()) };
}

describe('content', () => {
  it('serves a self-consistent OCI image and index', async () => {
    const { content } = reg;
    expect((await get('/v2/')).status).toBe(200);

    const head = await get('/v2/ok/app/manifests/latest', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(content.manifest.digest);
    expect(head.headers.get('content-type')).toBe(MEDIA.manifest);
    expect(Number(head.headers.get('content-length'))).toBe(content.manifest.size);

    const manifest = await get(`/v2/ok/app/manifests/${content.manifest.digest}`);
    expect(sha256(manifest.body)).toBe(content.manifest.digest);
    const m = manifest.json();
    expect(m.config.digest).toBe(content.config.digest);
    expect(m.layers).toHaveLength(1);

    const config = await get(`/v2/ok/app/blobs/${m.config.digest}`);
    expect(sha256(config.body)).toBe(m.config.digest);
    expect(config.body.length).toBe(m.config.size);
    const c = config.json();
    expect(c).toMatchObject({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } });
    expect(c.config).toMatchObject({ Entrypoint: ['/app/server'], Cmd: ['--port', '8080'] });
    expect(c.config.Env).toContain('APP_MODE=fault');
    expect(c.config.Labels['org.opencontainers.image.title']).toBe('fault-app');
    expect(c.rootfs.diff_ids).toEqual([content.diffId]);

    const layer = await get(`/v2/ok/app/blobs/${m.layers[0].digest}`);
    expect(sha256(layer.body)).toBe(m.layers[0].digest);

    const index = await get('/v2/ok/app/manifests/multi');
    expect(index.headers.get('content-type')).toBe(MEDIA.index);
    expect(index.headers.get('docker-content-digest')).toBe(sha256(index.body));
    const platforms = index.json().manifests.map((d: any) => `${d.platform.os}/${d.platform.architecture}`);
    expect(platforms).toEqual(['linux/amd64', 'linux/arm64']);
    for (const child of index.json().manifests) {
      const res = await get(`/v2/ok/app/manifests/${child.digest}`);
      expect(sha256(res.body)).toBe(child.digest);
      const childConfig = await get(`/v2/ok/app/blobs/${res.json().config.digest}`);
      expect(childConfig.json().architecture).toBe(child.platform.architecture);
    }

    expect((await get('/v2/ok/app/tags/list')).json()).toEqual({
      name: 'ok/app',
      tags: ['latest', 'multi', 'v1'],
    });
  });

  it('answers 404s in distribution format', async () => {
    const tag = await get('/v2/ok/app/manifests/nope');
    expect(tag.status).toBe(404);
    expect(tag.json().errors[0]).toMatchObject({ code: 'MANIFEST_UNKNOWN', detail: { Tag: 'nope' } });
    const repo = await get('/v2/no/such/tags/list');
    expect(repo.json().errors[0].code).toBe('NAME_UNKNOWN');
    const blob = await get(`/v2/ok/app/blobs/${reg.content.lyingDigest}`);
    expect(blob.json().errors[0].code).toBe('BLOB_UNKNOWN');
  });
});

describe('rate limits and 5xx', () => {
  it('rate/retry-after: two 429s with Retry-After, then 200; reset() starts over', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await get('/v2/rate/retry-after/manifests/latest', { method: i === 0 ? 'HEAD' : 'GET' });
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get('retry-after')).toBe('1');
    }
    expect(statuses).toEqual([429, 429, 200]);
    expect(reg.hits('rate/retry-after', 'manifest')).toBe(3);
    reg.reset();
    expect((await get('/v2/rate/retry-after/manifests/latest')).status).toBe(429);
  });

  it('rate/no-retry-after and rate/hub-quota', async () => {
    const first = await get('/v2/rate/no-retry-after/manifests/latest');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBeNull();
    expect(first.json().errors[0].code).toBe('TOOMANYREQUESTS');
    for (let i = 0; i < 3; i++) {
      const res = await get('/v2/rate/hub-quota/manifests/latest');
      expect(res.status).toBe(429);
      expect(res.headers.get('ratelimit-remaining')).toBe('0;w=21600');
      expect(res.json().errors[0].message).toMatch(/You have reached your pull rate limit/);
    }
    for (let i = 0; i < 5; i++) {
      const res = await get('/v2/rate/always/manifests/v1');
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBeNull();
    }
    const low = await get('/v2/rate/low-remaining/manifests/v1');
    expect(low.status).toBe(200);
    expect(low.headers.get('ratelimit-remaining')).toBe('2;w=60');
  });

  it('flaky/5xx: 503, 502, then 200', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await get('/v2/flaky/5xx/manifests/v1')).status);
    expect(statuses).toEqual([503, 502, 200]);
  });
});

describe('lying registries', () => {
  it('lying/header: the tag digest header does not match the body', async () => {
    const res = await get('/v2/lying/header/manifests/latest');
    expect(res.headers.get('docker-content-digest')).toBe(reg.content.lyingDigest);
    expect(sha256(res.body)).not.toBe(res.headers.get('docker-content-digest'));
  });

  it('lying/header: a tag named sha256-<hex> claims that digest, which the registry does not have', async () => {
    const claim = sha256('an image this registry never had');
    const tag = claim.replace(':', '-');
    const head = await get(`/v2/lying/header/manifests/${tag}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(claim);
    const body = await get(`/v2/lying/header/manifests/${tag}`);
    expect(sha256(body.body)).toBe(reg.content.manifest.digest);
    expect((await get(`/v2/lying/header/manifests/${claim}`)).status).toBe(404);
  });

  it('lying/body: GET by digest hashes to something else', async () => {
    const { digest, size } = reg.content.manifest;
    const res = await get(`/v2/lying/body/manifests/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.body.length).toBe(size);
    expect(sha256(res.body)).not.toBe(digest);
  });

  it('lying/config: the config blob does not match its descriptor (same size)', async () => {
    const { digest, size } = reg.content.config;
    const res = await get(`/v2/lying/config/blobs/${digest}`);
    expect(res.body.length).toBe(size);
    expect(sha256(res.body)).not.toBe(digest);
  });
});

describe('size', () => {
  it('big/manifest advertises 5 MiB; big/chunked sends 5 MiB without Content-Length', async () => {
    const big = await get('/v2/big/manifest/manifests/latest', { method: 'HEAD' });
    expect(Number(big.headers.get('content-length'))).toBe(BIG_MANIFEST_BYTES);
    const chunked = await get('/v2/big/chunked/manifests/latest');
    expect(chunked.headers.get('content-length')).toBeNull();
    expect(chunked.headers.get('transfer-encoding')).toBe('chunked');
    expect(chunked.body.length).toBe(BIG_MANIFEST_BYTES);
    expect(sha256(chunked.body)).toBe(reg.content.bigManifest.digest);
  });
});

describe('pagination', () => {
  it('paged/repo: opaque relative Link, pages of 100, 405 on last=', async () => {
    const tags: string[] = [];
    let next: string | undefined = '/v2/paged/repo/tags/list?n=500';
    let pages = 0;
    for (; next && pages < 10; pages++) {
      const res = await get(next);
      expect(res.status).toBe(200);
      tags.push(...res.json().tags);
      const link = res.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      if (next) expect(next).toMatch(/^\/v2\/paged\/repo\/tags\/list\?n=100&next_page=[\w-]+$/);
    }
    expect(pages).toBe(3);
    expect(new Set(tags).size).toBe(250);
    expect(tags).toEqual(reg.content.pagedTags);

    const last = await get('/v2/paged/repo/tags/list?n=100&last=build-099');
    expect(last.status).toBe(405);
    expect(last.json().errors[0]).toMatchObject({
      code: 'UNSUPPORTED',
      message: 'Invalid next token provided',
    });
    const forged = await get('/v2/paged/repo/tags/list?n=100&next_page=MTAw');
    expect(forged.status).toBe(405);
  });

  it('paged/loop: Link always points at the same page', async () => {
    const a = await get('/v2/paged/loop/tags/list');
    const link = /^<([^>]+)>/.exec(a.headers.get('link') ?? '')?.[1];
    const b = await get(link!);
    expect(b.json().tags).toEqual(a.json().tags);
    expect(b.headers.get('link')).toBe(a.headers.get('link'));
  });
});

describe('auth and redirects', () => {
  it('redirect/blob: 307 to another origin, which rejects Authorization and records it', async () => {
    const digest = reg.content.config.digest;
    const path = `/v2/redirect/blob/blobs/${digest}`;
    const anon = await get(path);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('Basic realm="fault"');

    const redirect = await get(path, { headers: { authorization: BASIC } });
    expect(redirect.status).toBe(307);
    const location = new URL(redirect.headers.get('location')!);
    expect(location.origin).toBe(reg.other.url);
    expect(location.pathname).toBe(path);

    const forwarded = await fetch(location, { headers: { authorization: BASIC } });
    expect(forwarded.status).toBe(400);
    expect(await forwarded.text()).toMatch(/Only one auth mechanism allowed/);

    // fetch drops Authorization on a cross-origin redirect; the blob store then serves the blob.
    const followed = await fetch(new URL(path, reg.url), { headers: { authorization: BASIC } });
    expect(followed.status).toBe(200);
    expect(sha256(Buffer.from(await followed.arrayBuffer()))).toBe(digest);

    expect(reg.other.requests.map((r) => [r.status, r.hasAuthorization])).toEqual([
      [400, true],
      [200, false],
    ]);
    expect(reg.other.requests[0]!.authorization).toEqual({ scheme: 'Basic', sha256: sha256(BASIC) });
    const recorded = JSON.stringify([...reg.requests, ...reg.other.requests]);
    expect(recorded).not.toContain(BASIC.slice(6));
    expect(reg.hits('redirect/blob')).toBe(5);
  });

  it('redirect/same-origin: relative redirect on the same server keeps Authorization', async () => {
    const res = await fetch(new URL(`/v2/redirect/same-origin/blobs/${reg.content.config.digest}`, reg.url), {
      headers: { authorization: BASIC },
    });
    expect(res.status).toBe(200);
    const storage = reg.requests.find((r) => r.kind === 'storage');
    expect(storage?.hasAuthorization).toBe(true);
  });

  it('bearer/short: token flow, expiry answers invalid_token', async () => {
    const path = '/v2/bearer/short/manifests/latest';
    const challenge = (await get(path)).headers.get('www-authenticate')!;
    expect(challenge).toContain('scope="repository:bearer/short:pull"');
    const realm = /realm="([^"]+)"/.exec(challenge)![1]!;
    const tokenRes = await fetch(`${realm}?service=fault-registry&scope=repository:bearer/short:pull`);
    const token = (await tokenRes.json()) as any;
    expect(token.expires_in).toBe(5);
    const auth = { authorization: `Bearer ${token.token}` };
    expect((await get(path, { headers: auth })).status).toBe(200);
    reg.expireTokens();
    const expired = await get(path, { headers: auth });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(reg.hits('bearer/short', 'token')).toBe(1);
  });

  it('bearer/always-401, basic/badpass and redirect/realm-private', async () => {
    const t = (await (await fetch(`${reg.url}/token?scope=repository:bearer/always-401:pull`)).json()) as any;
    const rejected = await get('/v2/bearer/always-401/manifests/latest', {
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(rejected.status).toBe(401);
    expect(rejected.headers.get('www-authenticate')).toMatch(/^Bearer /);

    const badpass = await get('/v2/basic/badpass/manifests/latest', { headers: { authorization: BASIC } });
    expect(badpass.status).toBe(401);
    expect(badpass.body.toString().trim()).toBe(
      '{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}',
    );
    expect((await get('/v2/basic/badpass/manifests/latest')).status).toBe(200);

    const priv = await get('/v2/redirect/realm-private/manifests/latest');
    expect(priv.headers.get('www-authenticate')).toContain(`realm="${PRIVATE_REALM}"`);
  });
});

describe('lifecycle', () => {
  it('every scenario answers (or deliberately hangs) on its own repository', () => {
    expect(SCENARIO_NAMES).toHaveLength(23);
  });

  it('slow/body and slow/headers hang; stop() still returns promptly', async () => {
    const own = await startFaultRegistry();
    const slowBody = await fetch(`${own.url}/v2/slow/body/manifests/latest`);
    expect(slowBody.status).toBe(200);
    expect(Number(slowBody.headers.get('content-length'))).toBe(own.content.manifest.size);
    const reader = slowBody.body!.getReader();
    const firstChunk = await reader.read();
    expect(firstChunk.value!.length).toBeLessThan(own.content.manifest.size);

    const headers = new AbortController();
    const hung = fetch(`${own.url}/v2/slow/headers/manifests/latest`, { signal: headers.signal });
    const outcome = await Promise.race([
      hung.then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('still waiting'), 300)),
    ]);
    expect(outcome).toBe('still waiting');
    expect(own.requests.find((r) => r.repo === 'slow/headers')?.status).toBeUndefined();

    const started = Date.now();
    await own.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(reader.read()).rejects.toThrow();
    await expect(hung).rejects.toThrow();
  });
});

describe('network scenarios (time and addresses)', () => {
  it('slow/trickle sends its headers at once and then one byte per interval; stop() ends it', async () => {
    const own = await startFaultRegistry({ trickleIntervalMs: 50 });
    const res = await fetch(`${own.url}/v2/slow/trickle/manifests/latest`);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBe(own.content.manifest.size);
    const reader = res.body!.getReader();
    const t0 = Date.now();
    let bytes = 0;
    while (bytes < 5) bytes += (await reader.read()).value!.length;
    expect(bytes).toBeLessThan(10);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(own.trickling()).toBe(1);
    const head = await fetch(`${own.url}/v2/slow/trickle/manifests/latest`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    await own.stop();
    expect(own.trickling()).toBe(0);
    await expect(reader.read()).rejects.toThrow();
  });

  it('redirect/named-host and realm/named-host point at the named host; realm/switchable follows setRealm', async () => {
    expect(NETWORK_SCENARIO_NAMES).toEqual([
      'slow/trickle',
      'redirect/named-host',
      'realm/named-host',
      'realm/switchable',
    ]);
    const digest = reg.content.config.digest;
    const redirect = await get(`/v2/redirect/named-host/blobs/${digest}`, {
      headers: { authorization: BASIC },
    });
    expect(redirect.status).toBe(307);
    const location = new URL(redirect.headers.get('location')!);
    expect(location.host).toBe(`${reg.namedHost}:${new URL(reg.other.url).port}`);
    expect(location.pathname).toBe(`/v2/redirect/named-host/blobs/${digest}`);

    const named = await get('/v2/realm/named-host/manifests/latest');
    expect(named.status).toBe(401);
    expect(named.headers.get('www-authenticate')).toContain(
      `realm="http://${reg.namedHost}:${new URL(reg.url).port}/token"`,
    );

    const broken = await get('/v2/realm/switchable/manifests/latest');
    expect(broken.headers.get('www-authenticate')).toContain(`realm="${PRIVATE_REALM}"`);
    reg.setRealm(`${reg.url}/token`);
    const challenge = (await get('/v2/realm/switchable/manifests/latest')).headers.get('www-authenticate')!;
    expect(challenge).toContain(`realm="${reg.url}/token"`);
    const token = (await (
      await fetch(`${reg.url}/token?service=fault-registry&scope=repository:realm/switchable:pull`)
    ).json()) as { token: string };
    const ok = await get('/v2/realm/switchable/manifests/latest', {
      headers: { authorization: `Bearer ${token.token}` },
    });
    expect(ok.status).toBe(200);
    reg.reset();
    expect((await get('/v2/realm/switchable/manifests/latest')).headers.get('www-authenticate')).toContain(
      PRIVATE_REALM,
    );
  });
});
