import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Api, digest, IS, ISM, ISTAG, startStack } from '../support/local-stack';

/**
 * Client mistakes get a Kubernetes Status with the right code, reason and field path, never a 500, and a client
 * told "failed" can rely on nothing having changed; a write that succeeded says so even when its object is too
 * large to carry back.
 */
let api: Api;
let url: string;
let stop: () => Promise<void>;
const ns = 'mistakes';
const WEBHOOK_SECRET = 'client-mistakes-webhook-secret';

const RBAC = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`;
const SECRETS = `/api/v1/namespaces/${ns}/secrets`;
const IMPORTS = `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimports`;
const from = (name: string) => ({ kind: 'DockerImage', name });
const dockerConfig = JSON.stringify({
  auths: { '127.0.0.1:5000': { auth: Buffer.from('u:p').toString('base64') } },
});

beforeAll(async () => {
  const stack = await startStack({ IMPORT_CONTROLLER: 'off', SCHEDULER: 'off', WEBHOOK_SECRET });
  ({ api, stop } = stack);
  url = api.url;
  const res = await api.post(IS(ns), {
    metadata: { name: 's' },
    spec: { tags: [{ name: 'a', from: from('quay.io/x/y:1') }] },
  });
  expect(res.status).toBe(201);
});
afterAll(async () => stop?.());

const expectStatus = (res: { status: number; body: any }, code: number, reason: string) => {
  expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(code);
  expect(res.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
};
const causeFields = (res: { body: any }) =>
  (res.body.details?.causes ?? []).map((c: { field: string }) => c.field);
/** A body nested `depth` levels deep, as text (deeper than JSON.stringify of this process would go). */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const streamNames = async () =>
  ((await api.get(IS(ns))).body.items as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name);

describe('a write that succeeded says so', () => {
  it('a create whose object is too large for a response answers 201 with a Success Status naming it', async () => {
    // 100 spec tags with 60 KB of annotations each: a 6 MB object, more than a response may carry uncompressed.
    const note = 'n'.repeat(60_000);
    const tags = Array.from({ length: 100 }, (_, i) => ({
      name: `t${i}`,
      annotations: { note },
      from: from(`quay.io/x/y:${i}`),
    }));
    const res = await api.call(
      'POST',
      IS(ns),
      { metadata: { name: 'huge' }, spec: { tags } },
      {
        'accept-encoding': 'identity',
      },
    );
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(201);
    expect(res.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      code: 201,
      details: { name: 'huge', group: 'image.openshift.io', kind: 'imagestreams' },
    });
    expect(res.body.message).toMatch(
      /^imagestreams\.image\.openshift\.io "huge" created, but its answer is \d+ bytes/,
    );
    expect(res.body.message).toContain(
      `GET /apis/image.openshift.io/v1/namespaces/${ns}/imagestreams/huge?historyLimit=0`,
    );
    const stored = await api.get(`${IS(ns, 'huge')}?historyLimit=0`);
    expect(stored.status).toBe(200);
    expect(stored.body.metadata.uid).toBe(res.body.details.uid);
    expect(stored.body.spec.tags).toHaveLength(100);
  });
});

describe('a write too large for one transaction', () => {
  it('is 413 for an update and changes nothing', async () => {
    const tags = (note: string) =>
      Array.from({ length: 70 }, (_, i) => ({
        name: `t${i}`,
        annotations: { note },
        from: from(`quay.io/x/y:${i}`),
      }));
    const created = await api.post(IS(ns), { metadata: { name: 'wide' }, spec: { tags: tags('small') } });
    expect(created.status).toBe(201);
    // 70 changed tag records of 62 KB each: few enough records, more bytes than DynamoDB takes in one transaction.
    const res = await api.put(IS(ns, 'wide'), {
      metadata: { name: 'wide', resourceVersion: created.body.metadata.resourceVersion },
      spec: { tags: tags('n'.repeat(62_000)) },
    });
    expectStatus(res, 413, 'RequestEntityTooLarge');
    expect(res.body.message).toMatch(
      /^this change writes \d+ bytes and one update may write at most 4000000/,
    );
    const after = (await api.get(IS(ns, 'wide'))).body;
    expect(after.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
    expect(after.spec.tags[0].annotations).toEqual({ note: 'small' });
  });
});

describe('keys users choose are data', () => {
  it('a label or annotation named constructor is stored and read back on every kind of object', async () => {
    const meta = { labels: { constructor: 'x' }, annotations: { constructor: 'y' } };
    const stream = await api.post(IS(ns), { metadata: { name: 'ctor', ...meta } });
    expect(stream.status, JSON.stringify(stream.body)).toBe(201);
    expect((await api.get(IS(ns, 'ctor'))).body.metadata).toMatchObject(meta);

    const istag = await api.put(ISTAG(ns, 'ctor:t'), {
      metadata: { annotations: { constructor: 'y' } },
      tag: { name: 't', from: from('quay.io/x/y:1') },
    });
    expect(istag.status, JSON.stringify(istag.body)).toBe(201);
    expect((await api.get(IS(ns, 'ctor'))).body.spec.tags[0].annotations).toEqual({ constructor: 'y' });

    const patched = await api.patch(IS(ns, 's'), { metadata: { labels: { constructor: 'z' } } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect((await api.get(IS(ns, 's'))).body.metadata.labels).toEqual({ constructor: 'z' });

    const secret = await api.post(SECRETS, {
      metadata: { name: 'ctor', ...meta },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': dockerConfig },
    });
    expect(secret.status, JSON.stringify(secret.body)).toBe(201);
    expect((await api.get(`${SECRETS}/ctor`)).body.metadata).toMatchObject(meta);

    const binding = await api.post(RBAC, {
      metadata: { name: 'ctor', ...meta },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'constructor' }],
    });
    expect(binding.status, JSON.stringify(binding.body)).toBe(201);
    expect((await api.get(`${RBAC}/ctor`)).body.metadata).toMatchObject(meta);

    // An image's own labels are the registry's (or the mapper's) choice too.
    const d = digest();
    const mapped = await api.post(ISM(ns), {
      metadata: { name: 'ctor' },
      tag: 'img',
      image: {
        metadata: { name: d },
        dockerImageReference: `quay.io/x/y@${d}`,
        dockerImageMetadata: { Config: { Labels: { constructor: { name: 'Set' } } } },
      },
    });
    expect(mapped.status, JSON.stringify(mapped.body)).toBe(201);
    expect((await api.get(ISTAG(ns, 'ctor:img'))).body.image.dockerImageMetadata.Config.Labels).toEqual({
      constructor: { name: 'Set' },
    });
  });

  it('a __proto__ key is refused with 400 instead of silently dropped, wherever it is', async () => {
    const bodies = [
      '{"metadata":{"name":"proto1","labels":{"__proto__":"x"}}}',
      '{"metadata":{"name":"proto2","annotations":{"a":"b","__proto__":{"x":"y"}}}}',
      '{"__proto__":{"metadata":{"name":"proto3"}},"metadata":{"name":"proto3"}}',
    ];
    for (const body of bodies) {
      const res = await api.call('POST', IS(ns), body);
      expectStatus(res, 400, 'BadRequest');
      expect(res.body.message).toMatch(/has a key "__proto__"/);
    }
    expectStatus(
      await api.patch(IS(ns, 's'), '{"metadata":{"labels":{"__proto__":"x"}}}'),
      400,
      'BadRequest',
    );
    const names = await streamNames();
    for (const n of ['proto1', 'proto2', 'proto3']) expect(names).not.toContain(n);
  });
});

describe('everything that becomes part of a key is bounded', () => {
  it('an ImageStreamTag source longer than any stream or tag is 422 on spec.tags[].from.name', async () => {
    for (const name of [`s:${'y'.repeat(1100)}`, `${'x'.repeat(1100)}:t`, 'a:b:c']) {
      const res = await api.put(IS(ns, 's'), {
        metadata: { name: 's', resourceVersion: (await api.get(IS(ns, 's'))).body.metadata.resourceVersion },
        spec: { tags: [{ name: 'src', from: { kind: 'ImageStreamTag', name } }] },
      });
      expectStatus(res, 422, 'Invalid');
      expect(causeFields(res)).toEqual(['spec.tags[src].from.name']);
    }
    const istag = await api.put(ISTAG(ns, 's:src'), {
      tag: { name: 'src', from: { kind: 'ImageStreamImage', name: `s@${'f'.repeat(1100)}` } },
    });
    expectStatus(istag, 422, 'Invalid');
    expect(causeFields(istag)).toEqual(['tag.from.name']);
  });

  it('names in paths no object can have are 404 (400 for namespaces) before anything is read', async () => {
    const long = 'x'.repeat(3000);
    const notFound = [
      ['GET', IS(ns, long)],
      ['DELETE', IS(ns, long)],
      ['GET', ISTAG(ns, `s:${long}`)],
      ['DELETE', ISTAG(ns, `${long}:t`)],
      ['GET', `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimages/s@${long}`],
      ['GET', `/apis/image.openshift.io/v1/images/sha256:${long}`],
      ['GET', `${SECRETS}/${long}`],
      ['DELETE', `${RBAC}/${long}`],
      ['GET', `/apis/project.openshift.io/v1/projects/${long}`],
      ['GET', `/apis/imagestreams.io/v1/namespaces/${ns}/imagestreamtaghistories/s:${long}`],
    ];
    for (const [method, path] of notFound) expectStatus(await api.call(method!, path!), 404, 'NotFound');
    expectStatus(
      await api.get(`/apis/rbac.authorization.k8s.io/v1/namespaces/${long}/rolebindings`),
      400,
      'BadRequest',
    );
    // A continue token naming a stream no name can be was not handed out by the server.
    const forged = Buffer.from(JSON.stringify({ stream: long, tag: 'a' })).toString('base64url');
    expectStatus(await api.get(`${ISTAG(ns)}?continue=${forged}`), 400, 'BadRequest');
  });

  it('free text that would not fit an item is 422 with its field: subject names, import names, labels', async () => {
    const binding = await api.post(RBAC, {
      metadata: { name: 'long-subject' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'u'.repeat(1 << 20) }],
    });
    expectStatus(binding, 422, 'Invalid');
    expect(causeFields(binding)).toEqual(['subjects[0].name']);

    const imported = await api.post(IMPORTS, {
      metadata: { name: 'n'.repeat(1 << 20) },
      spec: { import: true, images: [{ from: from('127.0.0.1:1/x:1'), to: { name: 't' } }] },
    });
    expectStatus(imported, 422, 'Invalid');
    expect(causeFields(imported)).toEqual(['metadata.name']);

    // 1,500 labels of 300 bytes: every one valid, together more than an item holds.
    const labels = Object.fromEntries(
      Array.from({ length: 1500 }, (_, i) => [`${'p'.repeat(200)}.example.com/l${i}`, 'v'.repeat(63)]),
    );
    for (const [path, body] of [
      [IS(ns), { metadata: { name: 'labelled', labels } }],
      [
        SECRETS,
        {
          metadata: { name: 'labelled', labels },
          type: 'kubernetes.io/dockerconfigjson',
          stringData: { '.dockerconfigjson': dockerConfig },
        },
      ],
    ] as const) {
      const res = await api.post(path, body);
      expectStatus(res, 422, 'Invalid');
      expect(causeFields(res)).toEqual(['metadata.labels']);
    }
    expect(await streamNames()).not.toContain('labelled');
  });
});

describe('patches', () => {
  it('merge, strategic merge and JSON patches nested 10,000 deep are 400', async () => {
    const deep = nested(10_000);
    for (const [type, body] of [
      ['application/merge-patch+json', `{"spec":{"x":${deep}}}`],
      ['application/strategic-merge-patch+json', `{"spec":{"x":${deep}}}`],
      ['application/json-patch+json', `[{"op":"add","path":"/spec/x","value":${deep}}]`],
    ]) {
      const res = await api.call('PATCH', IS(ns, 's'), body, { 'content-type': type! });
      expectStatus(res, 400, 'BadRequest');
      expect(res.body.message).toMatch(/nested more than 64 levels/);
    }
  });

  it('a JSON patch through __proto__ is 422', async () => {
    for (const path of ['/__proto__/x', '/metadata/__proto__/polluted', '/constructor/prototype/x']) {
      const res = await api.patch(
        IS(ns, 's'),
        [{ op: 'add', path, value: 1 }],
        'application/json-patch+json',
      );
      expectStatus(res, 422, 'Invalid');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a merge patch that changes metadata.uid is a 409 at once, not retried until a timeout', async () => {
    const before = (await api.get(IS(ns, 's'))).body.metadata;
    const started = Date.now();
    const res = await api.patch(IS(ns, 's'), { metadata: { uid: 'forged' } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expectStatus(res, 409, 'Conflict');
    expect(res.body.message).toBe(
      `Precondition failed: UID in precondition: forged, UID in object meta: ${before.uid}`,
    );
    expect((await api.get(IS(ns, 's'))).body.metadata.resourceVersion).toBe(before.resourceVersion);
  });
});

describe('one name validation on every path that can create a stream', () => {
  it('istag writes refuse stream names POST imagestreams refuses, and create nothing', async () => {
    for (const stream of ['A', 'a\u0000b', '-a', '.', '\u{1F600}', '__proto__', 'a'.repeat(300)]) {
      const name = `${stream}:t`;
      const body = { tag: { name: 't', from: from('quay.io/x/y:1') } };
      for (const res of [
        await api.put(ISTAG(ns, name), body),
        await api.post(ISTAG(ns, name), body),
        await api.post(ISTAG(ns), { metadata: { name }, ...body }),
      ]) {
        expectStatus(res, 422, 'Invalid');
        expect(causeFields(res)).toContain('metadata.name');
      }
      expectStatus(await api.post(IS(ns), { metadata: { name: stream } }), 422, 'Invalid');
    }
    expect(await streamNames()).toEqual(expect.not.arrayContaining(['A', '-a', '.', '__proto__']));
  });

  it('role bindings: path-segment names, subject kinds, bounded names, valid service account names and namespaces', async () => {
    const ref = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' };
    const cases: Array<[string, unknown[], string[]]> = [
      ['a%2500b', [{ kind: 'User', name: 'u' }], ['metadata.name']],
      ['ok-1', [{ kind: 'ServiceAccount', name: 'Bad_SA' }], ['subjects[0].name']],
      [
        'ok-2',
        [{ kind: 'ServiceAccount', name: 'robot', namespace: 'Not_A_Namespace' }],
        ['subjects[0].namespace'],
      ],
      ['ok-3', [{ kind: 'Robot', name: 'r' }], ['subjects[0].kind']],
      ['ok-4', [{ kind: 'Group', name: '' }], ['subjects[0].name']],
    ];
    for (const [name, subjects, fields] of cases) {
      const res = await api.put(`${RBAC}/${name}`, { roleRef: ref, subjects });
      expectStatus(res, 422, 'Invalid');
      expect(causeFields(res)).toEqual(fields);
    }
    const names = ((await api.get(RBAC)).body.items as Array<{ metadata: { name: string } }>).map(
      (b) => b.metadata.name,
    );
    expect(names.filter((n) => n.startsWith('ok-') || n.includes('%'))).toEqual([]);
  });
});

describe('content types', () => {
  it('bodies in a type the endpoint does not take are 415; JSON with parameters is JSON', async () => {
    const body = JSON.stringify({ metadata: { name: 'typed' } });
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'text/html']) {
      const res = await api.call('POST', IS(ns), body, { 'content-type': type });
      expectStatus(res, 415, 'UnsupportedMediaType');
      expect(res.body.message).toContain('application/json');
    }
    expectStatus(
      await api.call('PUT', ISTAG(ns, 's:b'), '{}', { 'content-type': 'text/plain' }),
      415,
      'UnsupportedMediaType',
    );
    expectStatus(
      await api.call('PATCH', IS(ns, 's'), '{}', { 'content-type': 'application/json' }),
      415,
      'UnsupportedMediaType',
    );
    expect(await streamNames()).not.toContain('typed');
    const ok = await api.call('POST', IS(ns), body, { 'content-type': 'Application/JSON; charset=utf-8' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });
});

describe('namespaces', () => {
  it('imports and mappings naming another namespace in the body are 400 and change nothing', async () => {
    const imported = await api.post(IMPORTS, {
      metadata: { name: 'elsewhere', namespace: 'other' },
      spec: { import: true, images: [{ from: from('127.0.0.1:1/x:1'), to: { name: 't' } }] },
    });
    expectStatus(imported, 400, 'BadRequest');
    expect(imported.body.message).toBe(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
    const d = digest();
    const mapped = await api.post(ISM(ns), {
      metadata: { name: 's', namespace: 'other' },
      tag: 'elsewhere',
      image: { metadata: { name: d }, dockerImageReference: `quay.io/x/y@${d}` },
    });
    expectStatus(mapped, 400, 'BadRequest');
    expect(await streamNames()).not.toContain('elsewhere');
    expectStatus(await api.get(ISTAG(ns, 's:elsewhere')), 404, 'NotFound');
  });
});

describe('webhooks', () => {
  it('a malformed percent-encoding in the format is 400, with or without the secret', async () => {
    for (const auth of [null, `Bearer ${WEBHOOK_SECRET}`]) {
      const res = await fetch(`${url}/webhooks/%E0%A4%A`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        body: '{}',
      });
      expectStatus({ status: res.status, body: await res.json() }, 400, 'BadRequest');
    }
  });
});

describe('the local server authenticates before it reads a body', () => {
  /** Sends headers and one chunk of a `declared`-byte body, and waits for an answer without sending the rest. */
  const answerBeforeBody = (path: string, headers: Record<string, string>, declared: number) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpRequest(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(declared), ...headers },
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error('no answer before the body was sent'));
      }, 5_000);
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        });
      });
      req.on('error', () => undefined);
      req.write('{"metadata":');
    });

  it('answers 401 (and a too-large body 413) from the headers, without waiting for the body', async () => {
    expectStatus(await answerBeforeBody(IS(ns), {}, 6 * 1024 * 1024), 401, 'Unauthorized');
    expectStatus(
      await answerBeforeBody(IS(ns), { authorization: 'Bearer wrong' }, 1024),
      401,
      'Unauthorized',
    );
    expectStatus(await answerBeforeBody('/webhooks/distribution', {}, 6 * 1024 * 1024), 401, 'Unauthorized');
    expectStatus(
      await answerBeforeBody(IS(ns), { authorization: `Bearer ${ADMIN_TOKEN}` }, 7 * 1024 * 1024),
      413,
      'RequestEntityTooLarge',
    );
  });

  it("a keep-alive client's next request works after a 401 and after a 413", async () => {
    const big = JSON.stringify({ metadata: { name: 'big-body' }, pad: 'x'.repeat(7 * 1024 * 1024) });
    /** The same body without a length: it is read (chunked) until it passes the limit. */
    const chunked = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024 * 1024)));
          controller.close();
        },
      });
    const refused: Array<{
      headers: Record<string, string>;
      body: () => RequestInit['body'];
      status: number;
    }> = [
      // Too large, declared up front (not read) and chunked (read until the limit, the rest discarded).
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: () => big, status: 413 },
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: chunked, status: 413 },
      // Unauthenticated: not read at all.
      { headers: {}, body: () => big, status: 401 },
      { headers: {}, body: () => '{"metadata":{"name":"x"}}', status: 401 },
    ];
    for (const r of refused) {
      const res = await fetch(`${url}${IS(ns)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...r.headers },
        body: r.body(),
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(r.status);
      await res.text();
      // Node's fetch reuses the kept-alive connection for this one.
      const next = await fetch(`${url}${IS(ns, 's')}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(next.status).toBe(200);
      await next.text();
    }
    expect(await streamNames()).not.toContain('big-body');
  });
});
