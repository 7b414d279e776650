import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents } from '../support/events';
import { eventually, sleep } from '../support/eventually';
import { type Api, IS, startStack } from '../support/local-stack';
import { pushImage, type Registry, startRegistry, testLayout } from '../support/registries';

/**
 * Push-driven re-import: a real docker-registry notifies the local API (`POST /webhooks/distribution`) and the
 * tracking tag follows within seconds. The scheduler is off, so nothing polls: only the notification can move it.
 */
const SECRET = 'webhook-secret-0123456789abcdef';
let api: Api;
let stop: () => Promise<void>;
let eventsFile: string;
let reg: Registry;

beforeAll(async () => {
  const stack = await startStack({ WEBHOOK_SECRET: SECRET, SCHEDULER: 'off', PUSH_COALESCE_SECONDS: '1' });
  ({ api, stop } = stack);
  eventsFile = stack.service.eventsFile;
  jobsIdle = () => stack.service.jobsIdle();
  reg = await startRegistry('anonymous', {
    notify: { url: `${api.url}/webhooks/distribution`, headers: { Authorization: [`Bearer ${SECRET}`] } },
  });
}, 120_000);
afterAll(async () => {
  await reg?.stop();
  await stop?.();
});

/** Pushes an image of the test OCI layout with skopeo, as a user would. */
let jobsIdle: () => Promise<void>;

async function skopeoCopy(layoutTag: string, dest: string, extra: string[] = []) {
  const oci = await testLayout();
  await promisify(execFile)(
    'skopeo',
    [
      '--insecure-policy',
      'copy',
      '-q',
      ...extra,
      '--dest-tls-verify=false',
      `oci:${oci}:${layoutTag}`,
      `docker://${reg.host}/${dest}`,
    ],
    { timeout: 60_000 },
  );
}

async function topImage(ns: string, stream: string, tag: string): Promise<string | undefined> {
  const s = (await api.get(IS(ns, stream))).body;
  return s.status?.tags?.find((t: any) => t.tag === tag)?.items?.[0]?.image;
}

function hook(format: string, body: unknown, auth: string | null = `Bearer ${SECRET}`, query = '') {
  return fetch(`${api.url}/webhooks/${format}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => undefined)) as any }));
}

async function trackingStream(ns: string, name: string, repo: string, tags: string[], registry = reg) {
  const res = await api.post(IS(ns), {
    metadata: { name },
    spec: {
      tags: tags.map((t) => ({
        name: t,
        from: { kind: 'DockerImage', name: `${registry.host}/${repo}:${t}` },
        importPolicy: { insecure: true, scheduled: true },
      })),
    },
  });
  expect(res.status).toBe(201);
  for (const t of tags) await eventually(() => topImage(ns, name, t), `${t} imported`, 10_000);
}

describe('push-driven re-import', () => {
  it('a skopeo push to a real registry moves the tracking tag and emits its event within seconds', {
    timeout: 60_000,
  }, async () => {
    const ns = 'push1';
    const d1 = await pushImage(reg, 'push/app', 'v1', { label: 'one' });
    await trackingStream(ns, 'app', 'push/app', ['v1']);
    await skopeoCopy('arm64', 'push/app:v1');
    const pushedAt = Date.now();
    const d2 = await eventually(
      async () => {
        const r = await fetch(`${reg.url}/v2/push/app/manifests/v1`, {
          method: 'HEAD',
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        });
        const d = r.headers.get('docker-content-digest');
        return d && d !== d1 ? d : undefined;
      },
      'the registry to serve the pushed image',
      2_000,
    );
    const moved = await eventually(
      async () =>
        readEvents(eventsFile).find((e) => e.detail.namespace === ns && e.detail.change === 'moved'),
      'the moved event',
      8_000,
    );
    const elapsed = Date.now() - pushedAt;
    expect(moved.detail).toMatchObject({ tag: 'v1', previous: { image: d1 }, current: { image: d2 } });
    expect(await topImage(ns, 'app', 'v1')).toBe(d2);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('a multi-arch push (one notification per manifest) and a burst of duplicates become one re-check', {
    timeout: 60_000,
  }, async () => {
    const ns = 'push2';
    await pushImage(reg, 'push/multi', 'v1', { label: 'first' });
    await trackingStream(ns, 'multi', 'push/multi', ['v1']);
    // The first push's own notification may still be in its coalescing window (1 s): let its re-check run
    // before counting, or it would land among this push's.
    await sleep(1_500);
    await jobsIdle();
    const rv = (await api.get(IS(ns, 'multi'))).body.metadata.resourceVersion;

    // skopeo pushes the index's children by digest, then the index by tag: three manifest notifications.
    const mark = reg.mark();
    await skopeoCopy('multi', 'push/multi:v1', ['--all']);
    const index = await eventually(
      async () => {
        const top = await topImage(ns, 'multi', 'v1');
        return top && (await api.get(IS(ns, 'multi'))).body.metadata.resourceVersion !== rv ? top : undefined;
      },
      'the tag to follow the multi-arch push',
      8_000,
    );
    expect(index).toMatch(/^sha256:/);
    await sleep(2_000);
    const rechecks = reg
      .since(mark)
      .filter((r) => r.method === 'HEAD' && r.uri === '/v2/push/multi/manifests/v1');
    expect(rechecks).toHaveLength(1);

    // The same notification ten times at once: one claim of the coalescing window, one HEAD, no write.
    const rv2 = (await api.get(IS(ns, 'multi'))).body.metadata.resourceVersion;
    const events = readEvents(eventsFile).length;
    const mark2 = reg.mark();
    const envelope = {
      events: [
        {
          id: 'dup',
          timestamp: new Date().toISOString(),
          action: 'push',
          target: {
            mediaType: 'application/vnd.oci.image.index.v1+json',
            digest: index,
            repository: 'push/multi',
            url: `http://${reg.host}/v2/push/multi/manifests/${index}`,
            tag: 'v1',
          },
          request: { host: reg.host, method: 'PUT' },
        },
      ],
    };
    const answers = await Promise.all(Array.from({ length: 10 }, () => hook('distribution', envelope)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(answers.reduce((n, a) => n + a.body.queued, 0)).toBe(1);
    await sleep(2_500);
    expect(
      reg
        .since(mark2)
        .filter((r) => r.uri === '/v2/push/multi/manifests/v1')
        .map((r) => r.method),
    ).toEqual(['HEAD']);
    expect((await api.get(IS(ns, 'multi'))).body.metadata.resourceVersion).toBe(rv2);
    expect(readEvents(eventsFile).length).toBe(events);
  });

  it('understands Harbor, Quay and Docker Hub payloads', { timeout: 60_000 }, async () => {
    // A registry that sends no notifications of its own: only the webhooks below can move these tags.
    const plain = await startRegistry('anonymous');
    try {
      await webhookFormats(plain);
    } finally {
      await plain.stop();
    }
  });

  async function webhookFormats(plain: Registry) {
    const ns = 'push3';
    await pushImage(plain, 'push/harbor', 'v1', { label: 'h1' });
    await pushImage(plain, 'push/quay', 'v1', { label: 'q1' });
    await trackingStream(ns, 'h', 'push/harbor', ['v1'], plain);
    await trackingStream(ns, 'q', 'push/quay', ['v1'], plain);
    const h2 = await pushImage(plain, 'push/harbor', 'v1', { label: 'h2' });
    const q2 = await pushImage(plain, 'push/quay', 'v1', { label: 'q2' });
    await sleep(1_500);
    expect(await topImage(ns, 'h', 'v1')).not.toBe(h2);

    const harbor = await hook(
      'harbor',
      {
        type: 'PUSH_ARTIFACT',
        occur_at: Math.floor(Date.now() / 1000),
        operator: 'admin',
        event_data: {
          resources: [{ digest: h2, tag: 'v1', resource_url: `${plain.host}/push/harbor:v1` }],
          repository: {
            name: 'harbor',
            namespace: 'push',
            repo_full_name: 'push/harbor',
            repo_type: 'private',
          },
        },
      },
      SECRET,
    ); // Harbor sends its configured auth header verbatim
    expect(harbor).toMatchObject({ status: 202, body: { hints: 1 } });
    const quay = await hook(
      'quay',
      {
        repository: 'push/quay',
        namespace: 'push',
        name: 'quay',
        docker_url: `${plain.host}/push/quay`,
        homepage: 'https://quay.example/repository/push/quay',
        updated_tags: ['v1'],
      },
      null,
      `?token=${SECRET}`, // Quay cannot send headers
    );
    expect(quay).toMatchObject({ status: 202, body: { hints: 1 } });
    const hub = await hook('dockerhub', {
      callback_url: 'https://registry.hub.docker.com/u/someone/app/hook/1/',
      push_data: { pushed_at: 1_700_000_000, pusher: 'someone', tag: 'latest' },
      repository: { repo_name: 'someone/app', namespace: 'someone', name: 'app', status: 'Active' },
    });
    expect(hub).toMatchObject({ status: 202, body: { hints: 1 } });
    await eventually(
      async () => ((await topImage(ns, 'h', 'v1')) === h2 ? true : undefined),
      'harbor tag',
      8_000,
    );
    await eventually(
      async () => ((await topImage(ns, 'q', 'v1')) === q2 ? true : undefined),
      'quay tag',
      8_000,
    );
  }

  it('refuses webhooks without the secret, unknown formats, bad bodies and other methods, changing nothing', async () => {
    const body = { events: [] };
    expect(await hook('distribution', body, null)).toMatchObject({
      status: 401,
      body: { reason: 'Unauthorized' },
    });
    expect(await hook('distribution', body, 'Bearer wrong-secret-0000000000')).toMatchObject({ status: 401 });
    expect(await hook('distribution', body, null, '?token=nope')).toMatchObject({ status: 401 });
    expect(await hook('gitlab', body)).toMatchObject({ status: 404, body: { reason: 'NotFound' } });
    expect(await hook('distribution', '{not json')).toMatchObject({
      status: 400,
      body: { reason: 'BadRequest' },
    });
    expect(await hook('distribution', { events: 'nope' })).toMatchObject({
      status: 400,
      body: { reason: 'BadRequest' },
    });
    expect(await hook('distribution', body)).toMatchObject({ status: 202, body: { hints: 0, queued: 0 } });
    const get = await fetch(`${api.url}/webhooks/distribution`, {
      headers: { authorization: `Bearer ${SECRET}` },
    });
    expect(get.status).toBe(405);
    // The user API still needs a user token: the webhook secret is not one.
    expect((await api.as(SECRET).get(IS('push1'))).status).toBe(401);
  });
});
