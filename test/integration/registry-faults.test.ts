import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from '../../functions/registry/client';
import { isRegistryError, type RegistryError } from '../../functions/registry/errors';
import { fetchImage } from '../../functions/registry/image-fetcher';
import { FAULT_CREDENTIALS, type FaultRegistry, startFaultRegistry } from '../support/fault-registry';
import { type Api, IS, startStack } from '../support/local-stack';

/** The registry client against a registry that misbehaves on purpose (test/support/fault-registry.ts). */

let reg: FaultRegistry;
beforeAll(async () => {
  reg = await startFaultRegistry();
});
afterAll(() => reg?.stop());
beforeEach(() => reg.reset());

const local = { allowPrivateNetworks: true, allowedPrivateHosts: [], insecureRegistries: [] };

/** A fresh client per test: clients remember challenges per origin, and each scenario is its own registry. */
function repo(path: string, opts: Partial<RegistryClientOptions> & { credential?: boolean } = {}) {
  const client = new RegistryClient({
    network: local,
    headersTimeoutMs: 1_000,
    bodyIdleTimeoutMs: 1_000,
    backoffBaseMs: 20,
    ...opts,
  });
  return client.repository({
    host: reg.host,
    path,
    insecure: true,
    ...(opts.credential ? { credential: { ...FAULT_CREDENTIALS } } : {}),
  });
}

const soon = (ms = 10_000) => Date.now() + ms;

async function failure(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (e) {
    if (isRegistryError(e)) return e;
    throw e;
  }
  throw new Error('expected a registry error');
}

function image(path: string, reference = 'latest', opts: Parameters<typeof repo>[1] = {}) {
  return fetchImage({
    repo: repo(path, opts),
    repositoryAsWritten: `${reg.host}/${path}`,
    reference,
    importMode: 'Legacy',
    prefer: { os: 'linux', architecture: 'amd64' },
    includeManifest: false,
    deadline: soon(),
    now: new Date().toISOString(),
    known: async () => undefined,
    recheck: true,
  });
}

describe('rate limits and server errors', () => {
  it('waits out Retry-After and then succeeds', async () => {
    const t0 = Date.now();
    const head = await repo('rate/retry-after').headManifest('latest', soon());
    expect(head.digest).toBe(reg.content.manifest.digest);
    expect(reg.hits('rate/retry-after', 'manifest')).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_900);
  });

  it('a Retry-After longer than the time left is a rate-limited error at once, not a wait', async () => {
    const t0 = Date.now();
    const e = await failure(repo('rate/retry-after').headManifest('latest', soon(1_500)));
    expect(e.kind).toBe('rate-limited');
    expect(e.details.retryAfterMs).toBe(1_000);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(reg.hits('rate/retry-after', 'manifest')).toBe(1);
  });

  it('backs off with jitter when there is no Retry-After', async () => {
    await repo('rate/no-retry-after').headManifest('latest', soon());
    expect(reg.hits('rate/no-retry-after', 'manifest')).toBe(3);
  });

  it('never retries a Docker Hub pull-quota 429 in process', async () => {
    const e = await failure(repo('rate/hub-quota').headManifest('latest', soon()));
    expect(e.kind).toBe('rate-limited');
    expect(e.details.retryAfterMs).toBeGreaterThan(60_000);
    expect(reg.hits('rate/hub-quota', 'manifest')).toBe(1);
  });

  it('retries 503 then 502 (HTML body) and succeeds; gives up on a registry that is always 503', async () => {
    await repo('flaky/5xx').headManifest('latest', soon());
    expect(reg.hits('flaky/5xx', 'manifest')).toBe(3);
    const e = await failure(repo('flaky/always-503').headManifest('latest', soon()));
    expect(e.kind).toBe('transport');
    expect(e.message).toContain('503');
    expect(reg.hits('flaky/always-503', 'manifest')).toBe(4);
  });
});

describe('integrity and size', () => {
  it('rejects a digest header that does not match the body', async () => {
    const e = await failure(repo('lying/header').getManifest('latest', soon()));
    expect(e.kind).toBe('integrity');
    expect(e.message).toContain('does not match the digest calculated from the content');
  });

  it('rejects a body that does not hash to the digest asked for', async () => {
    const e = await failure(repo('lying/body').getManifest(reg.content.manifest.digest, soon()));
    expect(e.kind).toBe('integrity');
  });

  it('rejects a config blob that does not match its descriptor', async () => {
    const e = await failure(image('lying/config'));
    expect(e.kind).toBe('integrity');
    expect(e.message).toContain(reg.content.config.digest);
  });

  it('times out a body that never ends and a server that never answers', async () => {
    const t0 = Date.now();
    const body = await failure(repo('slow/body').getManifest('latest', soon()));
    expect(body.kind).toBe('transport');
    expect(body.message).toContain('timed out reading the response body');
    const headers = await failure(repo('slow/headers').headManifest('latest', soon()));
    expect(headers.message).toContain('timed out waiting for a response');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('refuses oversized manifests, declared or chunked', async () => {
    for (const path of ['big/manifest', 'big/chunked']) {
      const e = await failure(repo(path).getManifest('latest', soon()));
      expect(e.kind).toBe('transport');
      expect(e.message).toMatch(/limit/);
    }
  });
});

describe('redirects, paging and auth', () => {
  it('follows a blob redirect to another origin without sending Authorization there', async () => {
    const got = await image('redirect/blob', 'latest', { credential: true });
    expect(got.image.metadata.name).toBe(reg.content.manifest.digest);
    expect(got.image.dockerImageMetadata?.Architecture).toBe('amd64');
    const foreign = reg.other.requests;
    expect(foreign.length).toBeGreaterThan(0);
    expect(foreign.every((r) => !r.hasAuthorization)).toBe(true);
    const same = await image('redirect/same-origin', 'latest', { credential: true });
    expect(same.image.metadata.name).toBe(reg.content.manifest.digest);
  });

  it('follows opaque Link pagination and stops on a page that adds nothing', async () => {
    expect(await repo('paged/repo').listTags(soon())).toHaveLength(250);
    expect(reg.hits('paged/repo', 'tags')).toBe(3);
    expect((await repo('paged/loop').listTags(soon())).length).toBe(3);
    expect(reg.hits('paged/loop', 'tags')).toBeLessThanOrEqual(2);
  });

  it('caches bearer tokens and re-authenticates once when one expires', async () => {
    const r = repo('bearer/short');
    await r.headManifest('latest', soon());
    await r.headManifest('v1', soon());
    expect(reg.hits('bearer/short', 'token')).toBe(1);
    reg.expireTokens();
    await r.headManifest('latest', soon());
    expect(reg.hits('bearer/short', 'token')).toBe(2);
  });

  it('does not loop on a registry that always answers 401', async () => {
    const e = await failure(repo('bearer/always-401').headManifest('latest', soon()));
    expect(e.kind).toBe('unauthorized');
    expect(reg.hits('bearer/always-401', 'manifest')).toBeLessThanOrEqual(2);
    expect(reg.hits('bearer/always-401', 'token')).toBeLessThanOrEqual(2);
  });

  it('refuses a token realm on a link-local address, even in local mode', async () => {
    const e = await failure(repo('redirect/realm-private').headManifest('latest', soon()));
    expect(e.kind).toBe('forbidden');
    const strict = new RegistryClient({
      network: { allowPrivateNetworks: false, allowedPrivateHosts: [reg.host], insecureRegistries: [] },
    }).repository({ host: reg.host, path: 'redirect/realm-private', insecure: true });
    expect((await failure(strict.headManifest('latest', soon()))).kind).toBe('forbidden');
  });

  it('outside local mode refuses loopback registries that are not allow-listed', async () => {
    const strict = new RegistryClient({
      network: { allowPrivateNetworks: false, allowedPrivateHosts: [], insecureRegistries: [] },
    }).repository({ host: reg.host, path: 'ok/app', insecure: true });
    const e = await failure(strict.headManifest('latest', soon()));
    expect(e.kind).toBe('forbidden');
    expect(reg.requests).toHaveLength(0);
  });
});

describe('through the API: a failed import writes nothing partial', () => {
  let api: Api;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ api, stop } = await startStack({ REGISTRY_TIMEOUT_SECONDS: '1' }));
  }, 60_000);
  afterAll(() => stop?.());

  it('records one failure condition per tag, stores no image, and keeps serving nothing for the tag', async () => {
    const from = (p: string, ref = ':latest') => ({
      from: { kind: 'DockerImage', name: `${reg.host}/${p}${ref}` },
      importPolicy: { insecure: true },
    });
    const isi = (images: unknown[]) =>
      api.post('/apis/image.openshift.io/v1/namespaces/faults/imagestreamimports', {
        kind: 'ImageStreamImport',
        metadata: { name: 'app' },
        spec: { import: true, images },
      });
    const res = await isi([
      { ...from('lying/body', `@${reg.content.manifest.digest}`), to: { name: 'lying' } },
      { ...from('slow/body'), to: { name: 'slow' } },
      { ...from('big/manifest'), to: { name: 'big' } },
      { ...from('lying/config'), to: { name: 'config' } },
    ]);
    expect(res.status).toBe(201);
    expect(res.body.status.images.map((s: any) => s.status.reason)).toEqual([
      'InternalError',
      'InternalError',
      'InternalError',
      'InternalError',
    ]);
    expect(res.body.status.images[0].status.message).toContain('content integrity error');
    const stream = (await api.get(IS('faults', 'app'))).body;
    for (const t of stream.status.tags) {
      expect(t.items).toBeNull();
      expect(t.conditions).toHaveLength(1);
    }
    const image = `/apis/image.openshift.io/v1/images/${reg.content.manifest.digest}`;
    expect((await api.get(image)).status).toBe(404);
    // The same image from a well-behaved repository imports, and the condition on that tag clears.
    const ok = await isi([{ ...from('ok/app'), to: { name: 'config' } }]);
    expect(ok.body.status.images[0].status.status).toBe('Success');
    const tag = ok.body.status.import.status.tags.find((t: any) => t.tag === 'config');
    expect(tag.conditions).toBeUndefined();
    expect((await api.get(image)).status).toBe(200);
  });
});
