import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, digest, HISTORY, IS, ISIMAGE, ISTAG, mapImage, startStack } from '../support/local-stack';

/** The write and read rules of docs/semantics.md (generations to pull-spec resolution), driven through the HTTP API of the local stack on DynamoDB Local. */
let api: Api;
let stop: () => Promise<void>;
let n = 0;
const ns = () => `beh-${process.pid}-${n++}`;

beforeAll(async () => {
  // These tests pin OpenShift's spec rules in isolation; imports of their (unreachable) sources would add events.
  ({ api, stop } = await startStack({ IMPORT_CONTROLLER: 'off' }));
});
afterAll(async () => stop?.());

const stream = (name: string, tags: unknown[] = [], extra: Record<string, unknown> = {}) => ({
  kind: 'ImageStream',
  apiVersion: 'image.openshift.io/v1',
  metadata: { name, ...extra },
  spec: { tags },
});
const dockerTag = (name: string, from: string, more: Record<string, unknown> = {}) => ({
  name,
  from: { kind: 'DockerImage', name: from },
  ...more,
});
const specTag = (is: any, name: string) => is.spec.tags?.find((t: any) => t.name === name);
const statusTag = (is: any, name: string) => is.status.tags?.find((t: any) => t.tag === name);

async function create(namespace: string, body: unknown) {
  const res = await api.post(IS(namespace), body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
async function get(namespace: string, name: string) {
  const res = await api.get(IS(namespace, name));
  expect(res.status).toBe(200);
  return res.body;
}
async function put(namespace: string, body: any) {
  const res = await api.put(IS(namespace, body.metadata.name), body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}
async function putTag(namespace: string, name: string, tag: unknown, annotations?: Record<string, string>) {
  const res = await api.put(ISTAG(namespace, name), {
    kind: 'ImageStreamTag',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    tag,
  });
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  return res;
}

describe('create sets generations', () => {
  it('sets stream and tag generations to 1, ignores sent values and leaves DockerImage tags unresolved', async () => {
    const n1 = ns();
    const is = await create(
      n1,
      stream('s', [dockerTag('a', 'quay.io/x/y:1', { generation: 7 }), { name: 'b', generation: 7 }]),
    );
    expect(is.metadata.generation).toBe(1);
    expect(specTag(is, 'a').generation).toBe(1);
    expect(specTag(is, 'b').generation).toBe(1);
    expect(is.status.tags).toBeUndefined();
    expect(specTag(is, 'a').importPolicy).toEqual({ importMode: 'Legacy' });
    expect(specTag(is, 'a').referencePolicy).toEqual({ type: 'Source' });
    expect(is.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(await get(n1, 's')).toEqual(is);
  });
});

describe('spec changes bump the stream generation; users cannot forge tag generations', () => {
  it('follows OpenShift generation rules step by step', async () => {
    const n2 = ns();
    let is = await create(n2, stream('s', [dockerTag('a', 'quay.io/x/y:1')]));
    is.spec.tags[0].from.name = 'quay.io/x/y:2';
    is = await put(n2, is);
    expect([is.metadata.generation, specTag(is, 'a').generation]).toEqual([2, 2]);
    is.spec.tags.push(dockerTag('z', 'quay.io/x/z:1'));
    is = await put(n2, is);
    expect([is.metadata.generation, specTag(is, 'a').generation, specTag(is, 'z').generation]).toEqual([
      3, 2, 3,
    ]);

    specTag(is, 'a').generation = 99;
    is.spec.tags.push(dockerTag('b', 'quay.io/x/b:1'));
    is = await put(n2, is);
    expect(is.metadata.generation).toBe(4);
    expect(specTag(is, 'a').generation).toBe(2);
    expect(specTag(is, 'b').generation).toBe(4);

    is.metadata.labels = { team: 'web' };
    const rv = is.metadata.resourceVersion;
    is = await put(n2, is);
    expect(is.metadata.generation).toBe(4);
    expect(is.metadata.labels).toEqual({ team: 'web' });
    expect(Number(is.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
  });
});

describe('generation 0 and re-pointing request a new import; policy-only changes do not', () => {
  it('applies tagRefChanged', async () => {
    const n3 = ns();
    let is = await create(n3, stream('s', [dockerTag('a', 'quay.io/x/y:1')]));
    is.spec.tags.push({ name: 'pad' });
    is = await put(n3, is); // gen 2, a stays 1
    specTag(is, 'a').generation = 0;
    is = await put(n3, is);
    expect(is.metadata.generation).toBe(3);
    expect(specTag(is, 'a').generation).toBe(3);

    specTag(is, 'a').importPolicy = { scheduled: true, importMode: 'Legacy' };
    is = await put(n3, is);
    expect(is.metadata.generation).toBe(4);
    expect(specTag(is, 'a').generation).toBe(3);
    specTag(is, 'a').referencePolicy = { type: 'Local' };
    is = await put(n3, is);
    expect(is.metadata.generation).toBe(5);
    expect(specTag(is, 'a').generation).toBe(3);

    specTag(is, 'a').from.name = 'quay.io/x/y:2';
    is = await put(n3, is);
    expect(is.metadata.generation).toBe(6);
    expect(specTag(is, 'a').generation).toBe(6);

    // A changed importMode counts as a new reference too.
    specTag(is, 'a').importPolicy = { importMode: 'PreserveOriginal' };
    is = await put(n3, is);
    expect(specTag(is, 'a').generation).toBe(7);
  });
});

describe('history push and de-duplication compare the newest entry only', () => {
  it('no-ops duplicates, collapses same image with a new generation, prepends new images', async () => {
    const n5 = ns();
    await create(n5, stream('s'));
    const d1 = await mapImage(api, n5, 's', 't');
    let is = await get(n5, 's');
    const first = statusTag(is, 't').items;
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ image: d1, dockerImageReference: `quay.io/x/y@${d1}`, generation: 1 });

    const rv = is.metadata.resourceVersion;
    await mapImage(api, n5, 's', 't', d1);
    is = await get(n5, 's');
    expect(is.metadata.resourceVersion).toBe(rv);

    is.spec.tags = [{ name: 'other' }];
    is = await put(n5, is); // generation 2
    await new Promise((r) => setTimeout(r, 1100));
    await mapImage(api, n5, 's', 't', d1);
    is = await get(n5, 's');
    expect(statusTag(is, 't').items).toHaveLength(1);
    expect(statusTag(is, 't').items[0].generation).toBe(2);
    expect(statusTag(is, 't').items[0].created).toBe(first[0].created);

    const d2 = await mapImage(api, n5, 's', 't');
    is = await get(n5, 's');
    expect(statusTag(is, 't').items.map((e: any) => e.image)).toEqual([d2, d1]);
  });
});

describe('rollback by tagging stream@digest prepends the old image', () => {
  it('resolves digests and unique prefixes from the full history; ambiguous and unknown ids are 422', async () => {
    const n6 = ns();
    await create(n6, stream('s'));
    const i1 = await mapImage(api, n6, 's', 't');
    const i2 = await mapImage(api, n6, 's', 't');
    const prefix = i1.slice('sha256:'.length, 'sha256:'.length + 12);
    const res = await putTag(n6, 's:t', {
      name: 't',
      from: { kind: 'ImageStreamImage', name: `s@${prefix}` },
    });
    expect(res.status).toBe(201); // the spec tag is new: t only had pushed images
    const is = await get(n6, 's');
    expect(statusTag(is, 't').items.map((e: any) => e.image)).toEqual([i1, i2, i1]);
    expect(statusTag(is, 't').items[0].generation).toBe(is.metadata.generation);
    const istag = await api.get(ISTAG(n6, 's:t'));
    expect(istag.body.image.metadata.name).toBe(i1);

    const history = await api.get(HISTORY(n6, 's:t'));
    expect(history.body.items.map((e: any) => e.image)).toEqual([i1, i2, i1]);

    const ambiguous = await api.put(ISTAG(n6, 's:u'), {
      metadata: { name: 's:u' },
      tag: { name: 'u', from: { kind: 'ImageStreamImage', name: 's@sha256:' } },
    });
    expect(ambiguous.status).toBe(422);
    expect(ambiguous.body.message).toContain('multiple images match the prefix');
    const unknown = await api.put(ISTAG(n6, 's:u'), {
      metadata: { name: 's:u' },
      tag: { name: 'u', from: { kind: 'ImageStreamImage', name: `s@${digest()}` } },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.message).toContain('not found');
    expect(unknown.body.details.causes[0].field).toBe('spec.tags[u].from.name');
    expect((await api.get(ISTAG(n6, 's:u'))).status).toBe(404);
  });
});

describe('alias tags track same-stream changes in the same write', () => {
  it('follows pushes and oc-tag style writes, transitively; cross-stream references do not follow', async () => {
    const n7 = ns();
    await create(n7, stream('s'));
    await create(n7, stream('other'));
    const i1 = await mapImage(api, n7, 's', 't1');
    await putTag(n7, 's:t2', { name: 't2', from: { kind: 'ImageStreamTag', name: 's:t1' } });
    await putTag(n7, 's:t3', { name: 't3', from: { kind: 'ImageStreamTag', name: 't2' } });
    await putTag(n7, 'other:copy', { name: 'copy', from: { kind: 'ImageStreamTag', name: 's:t1' } });
    let is = await get(n7, 's');
    expect(statusTag(is, 't2').items.map((e: any) => e.image)).toEqual([i1]);
    expect(statusTag(is, 't3').items.map((e: any) => e.image)).toEqual([i1]);

    const i2 = await mapImage(api, n7, 's', 't1');
    is = await get(n7, 's');
    expect(statusTag(is, 't2').items.map((e: any) => e.image)).toEqual([i2, i1]);
    expect(statusTag(is, 't3').items.map((e: any) => e.image)).toEqual([i2, i1]);

    await putTag(n7, 's:t1', { name: 't1', from: { kind: 'ImageStreamImage', name: `s@${i1}` } });
    is = await get(n7, 's');
    expect(statusTag(is, 't2').items.map((e: any) => e.image)).toEqual([i1, i2, i1]);

    const other = await get(n7, 'other');
    expect(statusTag(other, 'copy').items.map((e: any) => e.image)).toEqual([i1]);
  });

  it('propagates on a direct imagestream PUT too (superset of OpenShift, docs/semantics.md#alias-tracking)', async () => {
    const n = ns();
    await create(n, stream('s'));
    const i1 = await mapImage(api, n, 's', 'src');
    const i2 = await mapImage(api, n, 's', 'b');
    let is = await get(n, 's');
    is.spec.tags = [
      { name: 'alias', from: { kind: 'ImageStreamTag', name: 'src' } },
      { name: 'src', from: { kind: 'ImageStreamImage', name: `s@${i2}` } },
    ];
    is = await put(n, is);
    expect(statusTag(is, 'src').items.map((e: any) => e.image)).toEqual([i2, i1]);
    expect(statusTag(is, 'alias').items.map((e: any) => e.image)).toEqual([i2]);
  });
});

describe('a reference to an empty tag is not an error', () => {
  it('creates the stream without a status entry and the istag is 404', async () => {
    const n8 = ns();
    const is = await create(
      n8,
      stream('s', [{ name: 'latest', from: { kind: 'ImageStreamTag', name: 'other' } }]),
    );
    expect(is.status.tags).toBeUndefined();
    const res = await api.get(ISTAG(n8, 's:latest'));
    expect(res.status).toBe(404);
    expect(res.body.message).toBe('imagestreamtags.image.openshift.io "s:latest" not found');
    // When the source gets an image, the alias follows it.
    const d = await mapImage(api, n8, 's', 'other');
    expect((await api.get(ISTAG(n8, 's:latest'))).body.image.metadata.name).toBe(d);
  });
});

describe('reference: true DockerImage tags resolve at once, without an image', () => {
  it('records the pull spec and answers 404 for the istag', async () => {
    const n9 = ns();
    const is = await create(n9, stream('s', [dockerTag('r', 'quay.io/x/y:1', { reference: true })]));
    expect(statusTag(is, 'r').items).toEqual([
      { created: expect.any(String), dockerImageReference: 'quay.io/x/y:1', image: '', generation: 1 },
    ]);
    expect((await api.get(ISTAG(n9, 's:r'))).status).toBe(404);
  });
});

describe('removing a spec tag keeps its history; deleting the istag removes both', () => {
  it('follows docs/semantics.md#tag-deletion', async () => {
    const n10 = ns();
    await create(n10, stream('s', [{ name: 't' }, { name: 'keep' }]));
    const d = await mapImage(api, n10, 's', 't');
    let is = await get(n10, 's');
    is.spec.tags = is.spec.tags.filter((t: any) => t.name !== 't');
    is = await put(n10, is);
    expect(specTag(is, 't')).toBeUndefined();
    expect(statusTag(is, 't').items[0].image).toBe(d);
    expect((await api.get(ISTAG(n10, 's:t'))).status).toBe(200);

    const del = await api.delete(ISTAG(n10, 's:keep'));
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ kind: 'Status', status: 'Success' });
    const del2 = await api.delete(ISTAG(n10, 's:t'));
    expect(del2.status).toBe(200);
    is = await get(n10, 's');
    expect(is.spec.tags).toBeUndefined();
    expect(is.status.tags).toBeUndefined();
    const again = await api.delete(ISTAG(n10, 's:t'));
    expect(again.status).toBe(404);
    expect(again.body.message).toBe('imagestreamtags.image.openshift.io "s:t" not found');
    // A re-created tag starts with an empty history.
    const d2 = await mapImage(api, n10, 's', 't');
    const h = await api.get(HISTORY(n10, 's:t'));
    expect(h.body.items.map((e: any) => e.image)).toEqual([d2]);
    expect((await api.get(ISIMAGE(n10, `s@${d}`))).status).toBe(404);
  });
});

describe('Local reference policy', () => {
  it('resolves Local tags to the internal registry by digest and Source tags to the recorded reference', async () => {
    const local = await startStack({
      INTERNAL_REGISTRY_HOSTNAME: 'image-registry.svc:5000',
      IMPORT_CONTROLLER: 'off',
    });
    try {
      const a = local.api;
      const n24 = ns();
      const res = await a.post(
        IS(n24),
        stream('is', [{ name: 't', referencePolicy: { type: 'Local' } }, { name: 's' }]),
      );
      expect(res.status).toBe(201);
      expect(res.body.status.dockerImageRepository).toBe(`image-registry.svc:5000/${n24}/is`);
      const d = await mapImage(a, n24, 'is', 't');
      await mapImage(a, n24, 'is', 's', d);
      expect((await a.get(ISTAG(n24, 'is:t'))).body.image.dockerImageReference).toBe(
        `image-registry.svc:5000/${n24}/is@${d}`,
      );
      expect((await a.get(ISTAG(n24, 'is:s'))).body.image.dockerImageReference).toBe(`quay.io/x/y@${d}`);
      const ref = await a.put(ISTAG(n24, 'is:r'), {
        metadata: { name: 'is:r' },
        tag: {
          name: 'r',
          from: { kind: 'DockerImage', name: 'quay.io/x/y:1' },
          reference: true,
          referencePolicy: { type: 'Local' },
        },
      });
      expect(ref.body.image.dockerImageReference).toBe('quay.io/x/y:1');
    } finally {
      await local.stop();
    }
  });
});

describe('cross-namespace sources', () => {
  it('resolves ImageStreamTag and ImageStreamImage sources from another namespace, as snapshots', async () => {
    const src = ns();
    const dst = ns();
    await create(src, stream('base'));
    const d1 = await mapImage(api, src, 'base', 'v1');
    await putTag(dst, 'app:from-tag', {
      name: 'from-tag',
      from: { kind: 'ImageStreamTag', name: 'base:v1', namespace: src },
    });
    await putTag(dst, 'app:from-image', {
      name: 'from-image',
      from: { kind: 'ImageStreamImage', name: `base@${d1.slice(7, 19)}`, namespace: src },
    });
    const t = await api.get(ISTAG(dst, 'app:from-tag'));
    expect(t.body.image.metadata.name).toBe(d1);
    expect(t.body.image.dockerImageReference).toBe(`quay.io/x/y@${d1}`);
    expect((await api.get(ISTAG(dst, 'app:from-image'))).body.image.metadata.name).toBe(d1);
    expect((await api.get(ISIMAGE(dst, `app@${d1}`))).status).toBe(200);
    // A cross-stream reference is resolved once: a later push to the source does not move it (docs/semantics.md#alias-tracking).
    await mapImage(api, src, 'base', 'v1');
    expect((await api.get(ISTAG(dst, 'app:from-tag'))).body.image.metadata.name).toBe(d1);
    const missing = await api.put(ISTAG(dst, 'app:bad'), {
      metadata: { name: 'app:bad' },
      tag: { name: 'bad', from: { kind: 'ImageStreamTag', name: 'nope:v1', namespace: src } },
    });
    expect(missing.status).toBe(422);
    expect(missing.body.details.causes[0]).toMatchObject({
      field: 'spec.tags[bad].from.name',
      reason: 'FieldValueNotFound',
    });
  });
});
