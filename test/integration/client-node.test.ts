import {
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';
import { startLatencyProxy } from '../support/latency-proxy';
import { ADMIN_TOKEN, digest, mapImage, startStack } from '../support/local-stack';

/**
 * `@kubernetes/client-node`, the Kubernetes client for TypeScript, against the local stack: its CustomObjectsApi
 * does CRUD on imagestreams, and its informer (list, then watch from the list's resourceVersion, reconnecting from
 * the last event's) sees every change exactly once while the server ends its watches every two seconds.
 */

const GROUP = 'image.openshift.io';
const VERSION = 'v1';
let stack: Awaited<ReturnType<typeof startStack>>;
let kc: KubeConfig;
let objects: CustomObjectsApi;

beforeAll(async () => {
  stack = await startStack({ WATCH_MAX_SECONDS: '2', WATCH_POLL_MS: '50' });
  expect((await stack.api.newProject('cn')).status).toBe(201);
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server: stack.api.url, skipTLSVerify: true }],
    users: [{ name: 'admin', token: ADMIN_TOKEN }],
    contexts: [{ name: 'local', cluster: 'local', user: 'admin', namespace: 'cn' }],
    currentContext: 'local',
  });
  objects = kc.makeApiClient(CustomObjectsApi);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('@kubernetes/client-node', () => {
  it('CustomObjectsApi: create, get, list, replace, patch, delete an imagestream', async () => {
    const at = { group: GROUP, version: VERSION, namespace: 'cn', plural: 'imagestreams' };
    const created = await objects.createNamespacedCustomObject({
      ...at,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStream', metadata: { name: 'crud' }, spec: {} },
    });
    expect(created.metadata.name).toBe('crud');
    const got = await objects.getNamespacedCustomObject({ ...at, name: 'crud' });
    expect(got.metadata.uid).toBe(created.metadata.uid);
    const list = await objects.listNamespacedCustomObject(at);
    expect(list.items.map((i: KubernetesObject) => i.metadata?.name)).toEqual(['crud']);
    expect(list.metadata.resourceVersion).toMatch(/^\d+$/);
    got.metadata.labels = { tier: 'gold' };
    const replaced = await objects.replaceNamespacedCustomObject({ ...at, name: 'crud', body: got });
    expect(replaced.metadata.labels).toEqual({ tier: 'gold' });
    const patched = await objects.patchNamespacedCustomObject(
      { ...at, name: 'crud', body: { metadata: { annotations: { note: 'hi' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.metadata.annotations).toEqual({ note: 'hi' });
    await objects.deleteNamespacedCustomObject({ ...at, name: 'crud' });
    await expect(objects.getNamespacedCustomObject({ ...at, name: 'crud' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('an informer sees 100 changes by 10 parallel writers exactly once each, across server-side reconnects', async () => {
    const api = stack.api;
    expect(
      (
        await api.post('/apis/image.openshift.io/v1/namespaces/cn/imagestreams', {
          metadata: { name: 'inf' },
          spec: {},
        })
      ).status,
    ).toBe(201);
    const at = { group: GROUP, version: VERSION, namespace: 'cn', plural: 'imagestreamtags' };
    const informer = makeInformer(kc, '/apis/image.openshift.io/v1/namespaces/cn/imagestreamtags', () =>
      objects.listNamespacedCustomObject(at),
    );
    const seen = new Map<string, string[]>();
    const note = (obj: any) => {
      const name = obj.metadata.name as string;
      seen.set(name, [...(seen.get(name) ?? []), obj.image?.metadata?.name ?? '']);
    };
    let connects = 0;
    informer.on('add', note);
    informer.on('update', note);
    informer.on('connect', () => connects++);
    const errors: unknown[] = [];
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    const started = Date.now();
    const written = new Map<string, string[]>();
    await Promise.all(
      Array.from({ length: 10 }, async (_, w) => {
        const tag = `w${w}`;
        for (let i = 0; i < 10; i++) {
          const d = digest();
          await mapImage(api, 'cn', 'inf', tag, d);
          written.set(`inf:${tag}`, [...(written.get(`inf:${tag}`) ?? []), d]);
          // Spread the writes over several of the server's two-second watches.
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
        }
      }),
    );
    await eventually(
      async () => ([...seen.values()].flat().length >= 100 ? true : undefined),
      'the informer to see 100 changes',
      30_000,
    ).catch(() => undefined);
    expect([...seen.values()].flat()).toHaveLength(100);
    // Each tag's images in the order they were written, each once: no change missed or repeated.
    for (const [name, digests] of written) expect(seen.get(name), name).toEqual(digests);
    expect(informer.list('cn')).toHaveLength(10);
    // The server ended the watch at least once on the way, and the informer carried on from where it was.
    expect(Date.now() - started).toBeGreaterThan(2_000);
    expect(connects).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    await informer.stop();
  });
});

describe('@kubernetes/client-node when its resourceVersion expires', () => {
  let short: Awaited<ReturnType<typeof startStack>>;
  beforeAll(async () => {
    // The log keeps one second: an informer that reconnects later than that from its last event gets 410 Expired.
    short = await startStack({ WATCH_MAX_SECONDS: '1', WATCH_RETENTION_SECONDS: '1', WATCH_POLL_MS: '50' });
    expect((await short.api.newProject('ex')).status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await short?.stop();
  });

  it("lists again on 410 Expired and ends with the server's state", async () => {
    const api = short.api;
    // The informer's requests arrive 1.5 s late (longer than the log keeps), so resuming from its last event fails.
    const slow = await startLatencyProxy(api.url, 1_500);
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'local', server: `http://${slow.host}`, skipTLSVerify: true }],
      users: [{ name: 'admin', token: ADMIN_TOKEN }],
      contexts: [{ name: 'local', cluster: 'local', user: 'admin', namespace: 'ex' }],
      currentContext: 'local',
    });
    const client = config.makeApiClient(CustomObjectsApi);
    expect(
      (
        await api.post('/apis/image.openshift.io/v1/namespaces/ex/imagestreams', {
          metadata: { name: 'e' },
          spec: {},
        })
      ).status,
    ).toBe(201);
    const at = { group: GROUP, version: VERSION, namespace: 'ex', plural: 'imagestreamtags' };
    let lists = 0;
    const informer = makeInformer(config, '/apis/image.openshift.io/v1/namespaces/ex/imagestreamtags', () => {
      lists++;
      return client.listNamespacedCustomObject(at);
    });
    await informer.start();
    const last = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const d = digest();
      await mapImage(api, 'ex', 'e', `t${i % 3}`, d);
      last.set(`e:t${i % 3}`, d);
      await new Promise((r) => setTimeout(r, 300));
    }
    const current = () =>
      new Map(
        informer.list('ex').map((o: any) => [o.metadata.name as string, o.image?.metadata?.name as string]),
      );
    await eventually(
      async () =>
        JSON.stringify([...current()].sort()) === JSON.stringify([...last].sort()) ? true : undefined,
      'the informer to hold the server state',
      20_000,
    ).catch(() => undefined);
    expect([...current()].sort()).toEqual([...last].sort());
    // It had to list again: its position expired while it was reconnecting.
    expect(lists).toBeGreaterThan(1);
    await informer.stop();
    await slow.stop();
  });
});
