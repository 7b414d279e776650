import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  RegistryClient,
  type RegistryClientOptions,
  type RepositoryClient,
} from '../../functions/registry/client';
import { isRegistryError, type RegistryError } from '../../functions/registry/errors';
import { fetchImage } from '../../functions/registry/image-fetcher';
import type { HostLookup } from '../../functions/registry/network-policy';
import { eventually, sleep } from '../support/eventually';
import { FAULT_CREDENTIALS, type FaultRegistry, startFaultRegistry } from '../support/fault-registry';
import { type Api, IS, startStack } from '../support/local-stack';

/**
 * The registry client's network and time bounds, against registries that misbehave on purpose
 * (test/support/fault-registry.ts): host names that resolve to link-local addresses (through a resolver the test
 * controls: no name here ever reaches DNS), registries that trickle a byte at a time, and challenges naming a
 * realm imports may not reach.
 *
 * Every TCP connection attempt this test process makes is recorded (Node's `net.client.socket` diagnostics
 * channel and the socket's `connectionAttempt` event): a refused destination must never show up there, and
 * nothing but loopback ever may.
 */

/** `slow/trickle` sends a byte every 200 ms: a manifest would take minutes. */
const TRICKLE_MS = 200;

let reg: FaultRegistry;
/** Another registry (another host:port), always well-behaved. */
let healthy: FaultRegistry;

const attempts: string[] = [];
const observe = (message: unknown) => {
  const { socket } = message as { socket: Socket };
  socket.on('connectionAttempt', (ip: string, port: number) => attempts.push(`${ip}:${port}`));
};
const isLoopback = (attempt: string) =>
  /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+):\d+$/.test(attempt);

beforeAll(async () => {
  subscribe('net.client.socket', observe);
  [reg, healthy] = await Promise.all([
    startFaultRegistry({ trickleIntervalMs: TRICKLE_MS }),
    startFaultRegistry(),
  ]);
});
afterAll(async () => {
  await Promise.all([reg?.stop(), healthy?.stop()]);
  unsubscribe('net.client.socket', observe);
});
beforeEach(() => {
  reg.reset();
  healthy.reset();
});

const local = { allowPrivateNetworks: true, allowedPrivateHosts: [], insecureRegistries: [] };

/** A resolver the test controls: names outside `table` do not resolve (nothing goes to DNS). */
function resolver(table: Record<string, string[] | (() => string[])>) {
  const calls: string[] = [];
  const lookup: HostLookup = async (host) => {
    calls.push(host);
    const answer = table[host];
    if (!answer) throw Object.assign(new Error(`${host} is not in this test's table`), { code: 'ENOTFOUND' });
    return typeof answer === 'function' ? answer() : answer;
  };
  return { lookup, calls };
}

function client(opts: Partial<RegistryClientOptions> = {}) {
  return new RegistryClient({
    network: local,
    headersTimeoutMs: 1_000,
    bodyIdleTimeoutMs: 1_000,
    backoffBaseMs: 20,
    ...opts,
  });
}

/** An import's registry part: the tag by GET, then the config blob (a first import). */
function importImage(repo: RepositoryClient, deadline: number = Date.now() + 10_000) {
  return fetchImage({
    repo,
    repositoryAsWritten: repo.name,
    reference: 'latest',
    importMode: 'Legacy',
    prefer: { os: 'linux', architecture: 'amd64' },
    includeManifest: false,
    deadline,
    now: new Date().toISOString(),
    known: async () => undefined,
    recheck: false,
  });
}

async function failure(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (e) {
    if (isRegistryError(e)) return e;
    throw e;
  }
  throw new Error('expected a registry error');
}

/** What `p` settles to (a registry error counts as a value), or a failure when it is still running after `ms`. */
async function settleWithin<T>(p: Promise<T>, ms: number): Promise<T | RegistryError> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([
      p.catch((e) => {
        if (isRegistryError(e)) return e;
        throw e;
      }),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const portOf = (r: FaultRegistry) => new URL(r.url).port;
const allSent = () => [...reg.requests, ...reg.other.requests];

describe('link-local through DNS: refused before any connection, in every mode', () => {
  it('a registry whose name resolves to link-local (any spelling, or among other addresses) is never connected to', async () => {
    const host = `registry.fault.test:${portOf(reg)}`;
    for (const ips of [
      ['169.254.169.254'],
      ['fe80::1'],
      ['::ffff:169.254.1.1'],
      ['52.94.1.1', '169.254.169.254'],
    ]) {
      const { lookup, calls } = resolver({ 'registry.fault.test': ips });
      const mark = attempts.length;
      for (const network of [local, { ...local, allowPrivateNetworks: false, allowedPrivateHosts: [host] }]) {
        const repo = client({ network, lookup }).repository({
          host,
          path: 'ok/app',
          insecure: true,
          credential: { ...FAULT_CREDENTIALS },
        });
        const e = await failure(importImage(repo));
        expect(e.kind, `${ips}`).toBe('forbidden');
        expect(e.message).toContain('link-local');
      }
      expect(calls).toEqual(['registry.fault.test', 'registry.fault.test']);
      expect(attempts.slice(mark)).toEqual([]);
    }
    expect(allSent()).toHaveLength(0);
  });

  it('connects to the address it checked: a name answering 127.0.0.1, then link-local, never reaches the latter', async () => {
    let answered = 0;
    const { lookup, calls } = resolver({
      'rebind.fault.test': () => (answered++ === 0 ? ['127.0.0.1'] : ['169.254.1.1']),
    });
    const host = `rebind.fault.test:${portOf(reg)}`;
    const c = client({ lookup });
    c.rememberOrigin(`http://${host}`); // plain HTTP already known: the first check is the one for this request
    const repo = c.repository({ host, path: 'ok/app', insecure: true });
    const mark = attempts.length;
    const head = await repo.headManifest('latest', Date.now() + 5_000);
    expect(head.digest).toBe(reg.content.manifest.digest);
    // One resolution, and the socket went to its answer: the connection did not look the name up again.
    expect(calls).toEqual(['rebind.fault.test']);
    expect(attempts.slice(mark)).toEqual([`127.0.0.1:${portOf(reg)}`]);
    // The next request checks again and sees the link-local answer: refused, nothing sent.
    const e = await failure(repo.headManifest('v1', Date.now() + 5_000));
    expect(e.kind).toBe('forbidden');
    expect(calls).toHaveLength(2);
    expect(attempts.slice(mark)).toEqual([`127.0.0.1:${portOf(reg)}`]);
    expect(reg.requests).toHaveLength(1);
  });

  it('a redirect to a name resolving to link-local is refused; Authorization went to the registry only', async () => {
    const { lookup, calls } = resolver({ [reg.namedHost]: ['169.254.169.254'] });
    const repo = client({ lookup }).repository({
      host: reg.host,
      path: 'redirect/named-host',
      insecure: true,
      credential: { ...FAULT_CREDENTIALS },
    });
    const mark = attempts.length;
    const e = await failure(importImage(repo));
    expect(e.kind).toBe('forbidden');
    expect(e.message).toContain(reg.namedHost);
    expect(e.message).toContain('link-local');
    expect(calls).toEqual([reg.namedHost]);
    expect(reg.requests.filter((r) => r.kind === 'blob').map((r) => r.status)).toEqual([307]);
    expect(reg.other.requests).toHaveLength(0);
    expect(attempts.slice(mark).every((a) => a.endsWith(`:${portOf(reg)}`) && isLoopback(a))).toBe(true);

    // The same redirect to a name that resolves to the blob store's loopback address is followed (to that
    // address), without the registry's credentials.
    const toStore = resolver({ [reg.namedHost]: [new URL(reg.other.url).hostname] });
    const got = await importImage(
      client({ lookup: toStore.lookup }).repository({
        host: reg.host,
        path: 'redirect/named-host',
        insecure: true,
        credential: { ...FAULT_CREDENTIALS },
      }),
    );
    expect(got.image.metadata.name).toBe(reg.content.manifest.digest);
    expect(reg.other.requests.length).toBeGreaterThan(0);
    expect(reg.other.requests.every((r) => !r.hasAuthorization)).toBe(true);
  });

  it('a token realm whose name resolves to link-local is refused: no token request, no credential sent', async () => {
    const { lookup, calls } = resolver({ [reg.namedHost]: ['fe80::1'] });
    const repo = client({ lookup }).repository({
      host: reg.host,
      path: 'realm/named-host',
      insecure: true,
      credential: { ...FAULT_CREDENTIALS },
    });
    const mark = attempts.length;
    const e = await failure(importImage(repo));
    expect(e.kind).toBe('forbidden');
    expect(e.message).toContain('link-local');
    expect(calls).toEqual([reg.namedHost]);
    expect(reg.hits('realm/named-host', 'token')).toBe(0);
    expect(allSent().filter((r) => r.hasAuthorization)).toEqual([]);
    expect(attempts.slice(mark).every((a) => a.endsWith(`:${portOf(reg)}`) && isLoopback(a))).toBe(true);

    // Control: the realm's name resolving to loopback (this server) yields a token and the import works.
    const fixed = resolver({ [reg.namedHost]: ['127.0.0.1'] });
    const got = await importImage(
      client({ lookup: fixed.lookup }).repository({
        host: reg.host,
        path: 'realm/named-host',
        insecure: true,
        credential: { ...FAULT_CREDENTIALS },
      }),
    );
    expect(got.image.metadata.name).toBe(reg.content.manifest.digest);
    expect(reg.hits('realm/named-host', 'token')).toBe(1);
  });
});

describe('total deadlines', () => {
  it('a registry trickling a byte at a time is cut off at the deadline, or at the exchange limit', async () => {
    const repo = client().repository({ host: reg.host, path: 'slow/trickle', insecure: true });
    const t0 = Date.now();
    const e = await settleWithin(repo.getManifest('latest', Date.now() + 1_500), 6_000);
    const took = Date.now() - t0;
    console.log(`[bounds] trickling manifest, 1.5 s deadline: failed after ${took} ms`);
    expect(e).toMatchObject({ kind: 'transport' });
    expect((e as RegistryError).message).toContain(
      'timed out reading the response body: the deadline passed',
    );
    expect(took).toBeGreaterThanOrEqual(1_400);
    expect(took).toBeLessThan(2_500);
    await eventually(
      async () => reg.trickling() === 0 || undefined,
      'the registry to see the connection close',
    );

    // A far deadline: the exchange's own limit ends it, however often a byte arrives.
    const limited = client({ exchangeTimeoutMs: 800 }).repository({
      host: reg.host,
      path: 'slow/trickle',
      insecure: true,
    });
    const t1 = Date.now();
    const cut = await settleWithin(limited.getManifest('latest', Date.now() + 30_000), 6_000);
    expect(cut).toMatchObject({ kind: 'transport', message: expect.stringContaining('timed out reading') });
    expect(Date.now() - t1).toBeLessThan(1_800);
  });

  it('waiting for a connection slot ends by the deadline, every slot comes back, other registries never wait', async () => {
    const c = client({ maxConcurrentPerHost: 2 });
    c.rememberOrigin(reg.url);
    c.rememberOrigin(healthy.url);
    const repoOn = (r: FaultRegistry, path: string) => c.repository({ host: r.host, path, insecure: true });
    const trickle = (deadline: number) =>
      settleWithin(repoOn(reg, 'slow/trickle').getManifest('latest', deadline), 6_000);
    const t0 = Date.now();
    // Two requests hold both slots of the trickling registry until their 2.5 s deadline; two more wait for a
    // slot with a 1 s deadline of their own.
    const holders = [trickle(t0 + 2_500), trickle(t0 + 2_500)];
    await eventually(
      async () => c.transport.slots.usage(reg.host).active === 2 || undefined,
      'two slots taken',
    );
    const waiters = [trickle(t0 + 1_000), trickle(t0 + 1_000)];
    await eventually(async () => c.transport.slots.usage(reg.host).waiting === 2 || undefined, 'two waiting');
    const t1 = Date.now();
    const fine = await repoOn(healthy, 'ok/app').getManifest('latest', Date.now() + 5_000);
    const healthyMs = Date.now() - t1;
    expect(fine.digest).toBe(healthy.content.manifest.digest);
    const waited = await Promise.all(waiters);
    const waitersMs = Date.now() - t0;
    for (const w of waited)
      expect(w).toMatchObject({ kind: 'transport', message: expect.stringContaining('connection slot') });
    const held = await Promise.all(holders);
    const holdersMs = Date.now() - t0;
    console.log(
      `[bounds] 2 slots held by trickling requests (2.5 s deadline), 2 waiting (1 s deadline): waiters gave up after ${waitersMs} ms, holders cut after ${holdersMs} ms; healthy registry meanwhile ${healthyMs} ms`,
    );
    expect(healthyMs).toBeLessThan(500);
    expect(waitersMs).toBeLessThan(1_700);
    expect(holdersMs).toBeLessThan(3_300);
    for (const h of held)
      expect(h).toMatchObject({ kind: 'transport', message: expect.stringContaining('the deadline passed') });
    expect(reg.requests.filter((r) => r.repo === 'slow/trickle')).toHaveLength(2);
    expect(c.transport.slots.usage(reg.host)).toEqual({ active: 0, waiting: 0 });
    // The slots came back: the same registry answers at once.
    const t2 = Date.now();
    expect((await repoOn(reg, 'ok/app').getManifest('latest', Date.now() + 5_000)).digest).toBe(
      reg.content.manifest.digest,
    );
    expect(Date.now() - t2).toBeLessThan(500);
  });

  it("a shared token fetch is waited for no longer than the waiting caller's own deadline", async () => {
    // Two imports of one identity need the same token. The first (3 s deadline) fetches it from a realm that
    // never answers; the second joins that fetch and must give up at its own, shorter deadline.
    reg.setRealm(`${reg.url}/v2/slow/headers/manifests/token`);
    const c = client({ headersTimeoutMs: 30_000, bodyIdleTimeoutMs: 30_000 });
    c.rememberOrigin(reg.url);
    const repo = () => c.repository({ host: reg.host, path: 'realm/switchable', insecure: true });
    const first = settleWithin(repo().headManifest('latest', Date.now() + 3_000), 10_000);
    await eventually(
      async () => reg.requests.some((r) => r.repo === 'slow/headers') || undefined,
      'the token fetch',
    );
    const t0 = Date.now();
    const second = await settleWithin(repo().headManifest('latest', Date.now() + 800), 5_000);
    const secondMs = Date.now() - t0;
    expect(second).toMatchObject({ kind: 'transport', message: expect.stringContaining('deadline') });
    expect(secondMs).toBeLessThan(1_500);
    expect(await first).toMatchObject({ kind: 'transport', message: expect.stringContaining('deadline') });
    expect(reg.requests.filter((r) => r.repo === 'slow/headers')).toHaveLength(1);
  });
});

describe('what challenges teach is not cached too broadly', () => {
  it('a challenge naming a forbidden realm decides nothing for other identities or later imports', async () => {
    const c = client();
    c.rememberOrigin(reg.url);
    const as = (credential?: typeof FAULT_CREDENTIALS) =>
      c.repository({ host: reg.host, path: 'realm/switchable', insecure: true, credential });
    const manifests = () => reg.hits('realm/switchable', 'manifest');

    const a = await failure(importImage(as({ ...FAULT_CREDENTIALS })));
    expect(a.kind).toBe('forbidden');
    expect(manifests()).toBe(1);
    // Another identity (anonymous) asks the registry itself, and so does the first one when it tries again.
    const b = await failure(importImage(as()));
    expect(b.kind).toBe('forbidden');
    expect(manifests()).toBe(2);
    expect((await failure(importImage(as({ ...FAULT_CREDENTIALS })))).kind).toBe('forbidden');
    expect(manifests()).toBe(3);

    // The registry is fixed: both import at once, with tokens from the new realm.
    reg.setRealm(`${reg.url}/token`);
    expect((await importImage(as())).image.metadata.name).toBe(reg.content.manifest.digest);
    expect((await importImage(as({ ...FAULT_CREDENTIALS }))).image.metadata.name).toBe(
      reg.content.manifest.digest,
    );
    expect(reg.hits('realm/switchable', 'token')).toBe(2);
  });
});

describe('through the API', () => {
  let api: Api;
  let stop: () => Promise<void>;
  const names: Record<string, string[]> = {};
  const ISI = (ns: string) => `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimports`;
  const img = (from: string, to: string) => ({
    from: { kind: 'DockerImage', name: from },
    to: { name: to },
    importPolicy: { insecure: true },
  });
  const isi = (ns: string, name: string, images: unknown[]) =>
    api.post(ISI(ns), {
      kind: 'ImageStreamImport',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name },
      spec: { import: true, images },
    });
  const secret = (ns: string, host: string) =>
    api.post(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pull' },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: {
        '.dockerconfigjson': JSON.stringify({
          auths: { [host]: { username: FAULT_CREDENTIALS.username, password: FAULT_CREDENTIALS.password } },
        }),
      },
    });
  const statusTag = async (ns: string, stream: string, tag: string) =>
    (await api.get(IS(ns, stream))).body.status?.tags?.find((t: any) => t.tag === tag);

  const IMPORT_DEADLINE_MS = 2_000;
  /** Creates the namespace's project (the admin client does it on its first write), so timings leave it out. */
  const provision = async (ns: string) =>
    expect((await api.post(IS(ns), { metadata: { name: 'first-write' } })).status).toBe(201);

  beforeAll(async () => {
    const { lookup } = resolver(names);
    ({ api, stop } = await startStack(
      {
        IMPORT_TIMEOUT_SECONDS: String(IMPORT_DEADLINE_MS / 1000),
        IMPORT_JOB_TIMEOUT_SECONDS: String(IMPORT_DEADLINE_MS / 1000),
        REGISTRY_TIMEOUT_SECONDS: '10',
        REGISTRY_MAX_CONCURRENCY: '2',
        JOB_CONCURRENCY: '2',
      },
      { registryLookup: lookup },
    ));
    // A first import warms the stack (DynamoDB Local, the service's code paths): timings below are the steady state.
    const warm = await isi('warm-up', 'app', [img(`${healthy.host}/ok/app:latest`, 't')]);
    expect(warm.body.status.images[0].status.status).toBe('Success');
  }, 60_000);
  afterAll(async () => {
    await Promise.all([reg?.stop(), healthy?.stop()]);
    await stop?.();
  });

  it('names resolving to link-local answer 403 Forbidden per image, with a condition on each tag', async () => {
    names['registry.fault.test'] = ['169.254.169.254'];
    names[reg.namedHost] = ['::ffff:169.254.169.254'];
    expect((await secret('names', reg.host)).status).toBe(201);
    const mark = attempts.length;
    const res = await isi('names', 'app', [
      img(`registry.fault.test:${portOf(reg)}/ok/app:latest`, 'registry'),
      img(`${reg.host}/redirect/named-host:latest`, 'redirect'),
      img(`${reg.host}/realm/named-host:latest`, 'realm'),
    ]);
    expect(res.status).toBe(201);
    for (const s of res.body.status.images) {
      expect(s.status).toMatchObject({ status: 'Failure', reason: 'Forbidden', code: 403 });
      expect(s.status.message).toMatch(/^forbidden: .*link-local/);
    }
    for (const t of res.body.status.import.status.tags)
      expect(t.conditions[0]).toMatchObject({ type: 'ImportSuccess', status: 'False', reason: 'Forbidden' });
    // Credentials reached the registry itself (the redirecting repository) and nothing else.
    expect(reg.other.requests).toHaveLength(0);
    expect(reg.hits('realm/named-host', 'token')).toBe(0);
    expect(
      reg.requests.filter((r) => r.hasAuthorization).every((r) => r.repo === 'redirect/named-host'),
    ).toBe(true);
    expect(attempts.slice(mark).every(isLoopback)).toBe(true);
  });

  it('an import from a trickling registry answers by IMPORT_TIMEOUT_SECONDS with a failure on that tag only', async () => {
    await provision('deadline');
    const t0 = Date.now();
    const res = (await settleWithin(
      isi('deadline', 'app', [
        img(`${reg.host}/slow/trickle:latest`, 'slow'),
        img(`${healthy.host}/ok/app:latest`, 'ok'),
      ]),
      10_000,
    )) as Awaited<ReturnType<typeof isi>>;
    const took = Date.now() - t0;
    console.log(`[bounds] imagestreamimports, trickling registry, 2 s deadline: answered in ${took} ms`);
    expect(res.status).toBe(201);
    expect(took).toBeLessThan(IMPORT_DEADLINE_MS + 1_500);
    const [slow, ok] = res.body.status.images;
    expect(slow.status).toMatchObject({ status: 'Failure', reason: 'InternalError', code: 500 });
    expect(slow.status.message).toContain('deadline passed');
    expect(ok.status.status).toBe('Success');
    const tags = res.body.status.import.status.tags;
    expect(tags.find((t: any) => t.tag === 'slow').conditions[0]).toMatchObject({
      type: 'ImportSuccess',
      status: 'False',
      reason: 'InternalError',
    });
    expect(tags.find((t: any) => t.tag === 'ok').items[0].image).toBe(healthy.content.manifest.digest);
  });

  it('trickling imports in flight hold up neither a healthy registry nor, after their deadline, their own', async () => {
    await provision('slots');
    const t0 = Date.now();
    const slow = ['a', 'b', 'c'].map((name) =>
      settleWithin(isi('slots', name, [img(`${reg.host}/slow/trickle:latest`, 't')]), 10_000),
    );
    await sleep(300);
    const t1 = Date.now();
    const fine = await isi('slots', 'healthy', [img(`${healthy.host}/ok/app:latest`, 't')]);
    const healthyMs = Date.now() - t1;
    expect(fine.body.status.images[0].status.status).toBe('Success');
    const answers = (await Promise.all(slow)) as Array<Awaited<ReturnType<typeof isi>>>;
    const slowMs = Date.now() - t0;
    for (const a of answers) {
      expect(a.status).toBe(201);
      expect(a.body.status.images[0].status.message).toContain('deadline passed');
    }
    // Three imports on a registry with two slots: the third waited for a slot, and whether it gave up waiting
    // or got one late, it too answered by its deadline (each import's deadline starts with that import).
    const t2 = Date.now();
    const same = await isi('slots', 'same', [img(`${reg.host}/ok/app:latest`, 't')]);
    const sameMs = Date.now() - t2;
    console.log(
      `[bounds] 3 trickling imports (2 slots): answered after ${slowMs} ms; healthy registry meanwhile ${healthyMs} ms; same registry afterwards ${sameMs} ms`,
    );
    expect(healthyMs).toBeLessThan(1_500);
    expect(slowMs).toBeLessThan(IMPORT_DEADLINE_MS + 2_000);
    expect(same.body.status.images[0].status.status).toBe('Success');
    expect(sameMs).toBeLessThan(1_500);
  });

  it('background import jobs end by IMPORT_JOB_TIMEOUT_SECONDS with a failure condition and free their runner', async () => {
    const tag = (from: string) => ({
      name: 't',
      from: { kind: 'DockerImage', name: from },
      importPolicy: { insecure: true },
    });
    await provision('jobs');
    const t0 = Date.now();
    for (const name of ['slow-1', 'slow-2', 'slow-3'])
      expect(
        (
          await api.post(IS('jobs'), {
            metadata: { name },
            spec: { tags: [tag(`${reg.host}/slow/trickle:latest`)] },
          })
        ).status,
      ).toBe(201);
    expect(
      (
        await api.post(IS('jobs'), {
          metadata: { name: 'healthy' },
          spec: { tags: [tag(`${healthy.host}/ok/app:latest`)] },
        })
      ).status,
    ).toBe(201);
    // Two runners, three trickling jobs of 2 s each ahead of it at most: the healthy job runs within two rounds.
    const imported = await eventually(
      async () => (await statusTag('jobs', 'healthy', 't'))?.items?.[0],
      'the healthy import',
      3 * IMPORT_DEADLINE_MS + 3_000,
    );
    const healthyMs = Date.now() - t0;
    expect(imported.image).toBe(healthy.content.manifest.digest);
    const conditions = await eventually(
      async () => {
        const all = await Promise.all(['slow-1', 'slow-2', 'slow-3'].map((s) => statusTag('jobs', s, 't')));
        return all.every((t) => t?.conditions?.[0]) ? all.map((t) => t.conditions[0]) : undefined;
      },
      'the failure conditions',
      3 * IMPORT_DEADLINE_MS + 3_000,
    );
    const slowMs = Date.now() - t0;
    console.log(
      `[bounds] 3 trickling jobs + 1 healthy (2 runners, 2 s job deadline): healthy imported after ${healthyMs} ms, all failures recorded after ${slowMs} ms`,
    );
    for (const c of conditions) {
      expect(c).toMatchObject({ type: 'ImportSuccess', status: 'False', reason: 'InternalError' });
      expect(c.message).toContain('deadline passed');
    }
  });

  it("one project's forbidden realm decides nothing for another project's import", async () => {
    expect((await secret('realm-a', reg.host)).status).toBe(201);
    const from = `${reg.host}/realm/switchable:latest`;
    const manifests = () => reg.hits('realm/switchable', 'manifest');
    const a = await isi('realm-a', 'app', [img(from, 't')]);
    expect(a.body.status.images[0].status).toMatchObject({ reason: 'Forbidden', code: 403 });
    const seenByA = manifests();
    expect(seenByA).toBeGreaterThan(0);
    // Project B (no credentials) asks the registry itself rather than inheriting A's answer.
    const b = await isi('realm-b', 'app', [img(from, 't')]);
    expect(b.body.status.images[0].status).toMatchObject({ reason: 'Forbidden', code: 403 });
    expect(manifests()).toBeGreaterThan(seenByA);
    // Once the registry is fixed, both import right away.
    reg.setRealm(`${reg.url}/token`);
    const b2 = await isi('realm-b', 'app', [img(from, 't')]);
    expect(b2.body.status.images[0].status.status).toBe('Success');
    const a2 = await isi('realm-a', 'app', [img(from, 't')]);
    expect(a2.body.status.images[0].status.status).toBe('Success');
    expect(reg.hits('realm/switchable', 'token')).toBe(2);
  });

  it('no connection attempt in this file went anywhere but loopback', () => {
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.filter((a) => !isLoopback(a))).toEqual([]);
  });
});
