import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  type Api,
  digest,
  IS,
  ISIMAGE,
  ISM,
  ISTAG,
  mapImage,
  startStack,
} from '../support/local-stack';

/** Every client mistake gets a Kubernetes Status with the right code, reason and field, and changes nothing. */
let api: Api;
let stop: () => Promise<void>;
const ns = 'errors';

beforeAll(async () => {
  ({ api, stop } = await startStack());
  const res = await api.post(IS(ns), {
    metadata: { name: 's' },
    spec: { tags: [{ name: 'a', from: { kind: 'DockerImage', name: 'quay.io/x/y:1' } }] },
  });
  expect(res.status).toBe(201);
});
afterAll(async () => stop?.());

const expectStatus = (res: { status: number; body: any }, code: number, reason: string) => {
  expect(res.status, JSON.stringify(res.body)).toBe(code);
  expect(res.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
};

describe('authentication', () => {
  it('requires a bearer token on every call but the health check', async () => {
    expect((await api.as(null).get('/healthz')).status).toBe(200);
    expectStatus(await api.as(null).get(IS(ns)), 401, 'Unauthorized');
    expectStatus(await api.as('not-a-token').get(IS(ns)), 401, 'Unauthorized');
    expect((await api.as(ADMIN_TOKEN).get(IS(ns))).status).toBe(200);
  });
});

describe('routing and decoding', () => {
  it('answers unknown paths, wrong methods, bad JSON and bad names with Status objects', async () => {
    expectStatus(await api.get('/apis/image.openshift.io/v1/namespaces/x/nothing'), 404, 'NotFound');
    expectStatus(await api.call('PATCH', ISTAG(ns, 's:a'), {}), 405, 'MethodNotAllowed');
    expectStatus(await api.call('POST', IS(ns), '{not json'), 400, 'BadRequest');
    expectStatus(
      await api.post(IS(ns), { metadata: { name: 'x' }, spec: { tags: 'nope' } }),
      400,
      'BadRequest',
    );
    expectStatus(await api.get(IS('Bad_NS')), 400, 'BadRequest');
    const bad = await api.get(ISTAG(ns, 'no-colon'));
    expectStatus(bad, 400, 'BadRequest');
    expect(bad.body.message).toBe('ImageStreamTags must be retrieved with <name>:<tag>');
    expectStatus(await api.get(ISTAG(ns, 'a:b:c')), 400, 'BadRequest');
    const badImg = await api.get(ISIMAGE(ns, 'no-at'));
    expect(badImg.body.message).toBe('ImageStreamImages must be retrieved with <name>@<id>');
    expectStatus(await api.get(`${IS(ns, 's')}?historyLimit=99`), 400, 'BadRequest');
    expectStatus(await api.get(`${IS(ns)}?labelSelector=${encodeURIComponent('a in (')}`), 400, 'BadRequest');
    expectStatus(await api.get(`${IS(ns)}?continue=garbage`), 400, 'BadRequest');
    expectStatus(
      await api.patch(IS(ns, 's'), { metadata: {} }, 'application/xml'),
      415,
      'UnsupportedMediaType',
    );
  });
});

describe('not found', () => {
  it('uses OpenShift messages', async () => {
    const s = await api.get(IS(ns, 'missing'));
    expectStatus(s, 404, 'NotFound');
    expect(s.body.message).toBe('imagestreams.image.openshift.io "missing" not found');
    expect(s.body.details).toMatchObject({
      name: 'missing',
      group: 'image.openshift.io',
      kind: 'imagestreams',
    });
    expect((await api.get(ISTAG(ns, 'missing:t'))).body.message).toBe(
      'imagestreams.image.openshift.io "missing" not found',
    );
    expect((await api.get(ISTAG(ns, 's:nope'))).body.message).toBe(
      'imagestreamtags.image.openshift.io "s:nope" not found',
    );
    const img = await api.get(ISIMAGE(ns, `s@${digest()}`));
    expectStatus(img, 404, 'NotFound');
    expect(img.body.message).toMatch(/^imagestreamimage\.image\.openshift\.io "sha256:[0-9a-f]+" not found$/);
    expectStatus(await api.delete(IS(ns, 'missing')), 404, 'NotFound');
    expectStatus(
      await api.post(ISM(ns), {
        metadata: { name: 'missing' },
        tag: 't',
        image: { metadata: { name: digest() }, dockerImageReference: 'quay.io/x/y:1' },
      }),
      404,
      'NotFound',
    );
  });
});

describe('conflicts', () => {
  it('409 for existing streams and spec tags, stale resourceVersions; 422 without one', async () => {
    const exists = await api.post(IS(ns), { metadata: { name: 's' } });
    expectStatus(exists, 409, 'AlreadyExists');
    expect(exists.body.message).toBe('imagestreams.image.openshift.io "s" already exists');

    const tagExists = await api.post(ISTAG(ns, 's:a'), {
      metadata: { name: 's:a' },
      tag: { name: 'a', from: { kind: 'DockerImage', name: 'quay.io/x/y:2' } },
    });
    expectStatus(tagExists, 409, 'AlreadyExists');
    expect(tagExists.body.message).toBe('imagestreamtag.image.openshift.io "s:a" already exists');

    const current = (await api.get(IS(ns, 's'))).body;
    const noRv = await api.put(IS(ns, 's'), {
      ...current,
      metadata: { ...current.metadata, resourceVersion: undefined },
    });
    expectStatus(noRv, 422, 'Invalid');
    expect(noRv.body.details.causes[0]).toMatchObject({
      field: 'metadata.resourceVersion',
      reason: 'FieldValueInvalid',
    });

    await mapImage(api, ns, 's', 'bump');
    const stale = await api.put(IS(ns, 's'), { ...current, spec: { tags: [] } });
    expectStatus(stale, 409, 'Conflict');
    expect(stale.body.message).toBe(
      'Operation cannot be fulfilled on imagestreams.image.openshift.io "s": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect((await api.get(IS(ns, 's'))).body.spec.tags).toHaveLength(1);
    const staleTag = await api.put(ISTAG(ns, 's:a'), {
      metadata: { name: 's:a', resourceVersion: current.metadata.resourceVersion },
      tag: { name: 'a', from: { kind: 'DockerImage', name: 'quay.io/x/y:3' } },
    });
    expectStatus(staleTag, 409, 'Conflict');
    expect(staleTag.body.message).toMatch(/another caller has updated the resource version to \d+$/);
    const noSpec = await api.put(ISTAG(ns, 's:bump'), { metadata: { name: 's:bump' } });
    expectStatus(noSpec, 400, 'BadRequest');
    expect(noSpec.body.message).toBe(
      `imagestreamtag bump is not a spec tag in imagestream ${ns}/s, cannot be updated`,
    );
    const rvMissingStream = await api.put(ISTAG(ns, 'ghost:a'), {
      metadata: { name: 'ghost:a', resourceVersion: '5' },
      tag: { name: 'a' },
    });
    expectStatus(rvMissingStream, 404, 'NotFound');
  });
});

describe('validation', () => {
  const cases: Array<[string, unknown, string, string]> = [
    [
      'from.name required',
      { name: 't', from: { kind: 'DockerImage' } },
      'spec.tags[t].from.name',
      'FieldValueRequired',
    ],
    [
      'unknown kind',
      { name: 't', from: { kind: 'Pod', name: 'x' } },
      'spec.tags[t].from.kind',
      'FieldValueRequired',
    ],
    [
      'unparsable pull spec',
      { name: 't', from: { kind: 'DockerImage', name: 'UPPER/Case:!!' } },
      'spec.tags[t].from.name',
      'FieldValueInvalid',
    ],
    [
      'scheduled IST',
      { name: 't', from: { kind: 'ImageStreamTag', name: 'x' }, importPolicy: { scheduled: true } },
      'spec.tags[t].importPolicy.scheduled',
      'FieldValueInvalid',
    ],
    [
      'reference policy',
      { name: 't', referencePolicy: { type: 'Mirror' } },
      'spec.tags[t].referencePolicy.type',
      'FieldValueInvalid',
    ],
    [
      'import mode',
      { name: 't', importPolicy: { importMode: 'All' } },
      'spec.tags[t].importPolicy.importMode',
      'FieldValueInvalid',
    ],
    [
      'bad source name',
      { name: 't', from: { kind: 'ImageStreamTag', name: 'a:b:c' } },
      'spec.tags[t].from.name',
      'FieldValueInvalid',
    ],
    [
      'missing source stream',
      { name: 't', from: { kind: 'ImageStreamTag', name: 'nope:b' } },
      'spec.tags[t].from.name',
      'FieldValueNotFound',
    ],
  ];
  it.each(cases)('%s is 422 with its field path and writes nothing', async (_what, tag, field, reason) => {
    const name = `v${Math.random().toString(36).slice(2, 8)}`;
    const res = await api.post(IS(ns), { metadata: { name }, spec: { tags: [tag] } });
    expectStatus(res, 422, 'Invalid');
    expect(res.body.message).toContain(`ImageStream.image.openshift.io "${name}" is invalid: ${field}`);
    expect(res.body.details.causes).toContainEqual(expect.objectContaining({ field, reason }));
    expect((await api.get(IS(ns, name))).status).toBe(404);
  });

  it('rejects bad names and metadata', async () => {
    const badName = await api.post(IS(ns), { metadata: { name: 'Bad Name' } });
    expectStatus(badName, 422, 'Invalid');
    expect(badName.body.details.causes[0].field).toBe('metadata.name');
    expectStatus(
      await api.post(IS(ns), { metadata: { name: 'ok', labels: { 'bad key!': 'x' } } }),
      422,
      'Invalid',
    );
    expectStatus(
      await api.post(IS(ns), {
        metadata: { name: 'ok2' },
        spec: { dockerImageRepository: 'quay.io/x/y:tag' },
      }),
      422,
      'Invalid',
    );
    expectStatus(
      await api.post(IS('other'), { metadata: { name: 'ok3', namespace: 'errors' } }),
      400,
      'BadRequest',
    );
    const badMapping = await api.post(ISM(ns), {
      metadata: { name: 's' },
      tag: 't',
      image: { metadata: { name: 'not-a-digest' } },
    });
    expectStatus(badMapping, 422, 'Invalid');
    expect(badMapping.body.details.causes.map((c: any) => c.field)).toEqual([
      'image.metadata.name',
      'image.dockerImageReference',
    ]);
  });

  it('an update with one bad tag among good changes changes nothing', async () => {
    const before = (await api.get(IS(ns, 's'))).body;
    const res = await api.put(IS(ns, 's'), {
      ...before,
      metadata: { ...before.metadata, labels: { changed: 'yes' } },
      spec: {
        tags: [
          ...before.spec.tags,
          { name: 'good', from: { kind: 'DockerImage', name: 'quay.io/x/z:1' } },
          { name: 'bad', from: { kind: 'ImageStreamImage', name: 's@sha256:ffff' } },
        ],
      },
    });
    expectStatus(res, 422, 'Invalid');
    expect((await api.get(IS(ns, 's'))).body).toEqual(before);
  });
});
