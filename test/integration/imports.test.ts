import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, IS, ISIMAGE, ISTAG, startStack } from '../support/local-stack';
import {
  PASSWORD,
  type PushedContent,
  pushDistinctTags,
  pushImage,
  pushStandardContent,
  type Registry,
  startRegistry,
  USER,
} from '../support/registries';

const ISI = (ns: string) => `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimports`;
const SECRETS = (ns: string) => `/api/v1/namespaces/${ns}/secrets`;
const IMAGES = (d: string) => `/apis/image.openshift.io/v1/images/${d}`;

function isi(name: string, images: unknown[], extra: Record<string, unknown> = {}, doImport = true) {
  return {
    kind: 'ImageStreamImport',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name, ...((extra.metadata as object) ?? {}) },
    spec: { import: doImport, images, ...((extra.spec as object) ?? {}) },
  };
}

const img = (from: string, to?: string, extra: Record<string, unknown> = {}) => ({
  from: { kind: 'DockerImage', name: from },
  ...(to ? { to: { name: to } } : {}),
  ...extra,
  importPolicy: { insecure: true, ...((extra.importPolicy as object) ?? {}) },
});

let api: Api;
let stop: () => Promise<void>;
let anon: Registry;
let basic: Registry;
let token: Registry;
let content: PushedContent;
let basicContent: PushedContent;
let tokenContent: PushedContent;

beforeAll(async () => {
  [anon, basic, token] = await Promise.all([
    startRegistry('anonymous'),
    startRegistry('htpasswd'),
    startRegistry('token'),
  ]);
  [content, basicContent, tokenContent] = await Promise.all([
    pushStandardContent(anon),
    pushStandardContent(basic),
    pushStandardContent(token),
  ]);
  await pushStandardContent(token, 'public/app');
  ({ api, stop } = await startStack());
}, 120_000);

afterAll(async () => {
  await stop?.();
  await Promise.all([anon?.stop(), basic?.stop(), token?.stop()]);
});

async function secret(ns: string, name: string, host: string, user: string, password: string) {
  const res = await api.post(SECRETS(ns), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    type: 'kubernetes.io/dockerconfigjson',
    stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [host]: { username: user, password } } }) },
  });
  expect(res.status).toBe(201);
}

describe('ImageStreamImport from a real registry (all four media types)', () => {
  it('imports OCI, Docker schema2, an OCI index and a Docker manifest list (Legacy picks linux/amd64)', async () => {
    const repo = `${anon.host}/tiny/app`;
    const res = await api.post(
      ISI('media'),
      isi('app', [
        img(`${repo}:oci`, 'oci'),
        img(`${repo}:v2s2`, 'v2s2'),
        img(`${repo}:multi`, 'multi'),
        img(`${repo}:multi-v2s2`, 'multi-v2s2'),
      ]),
    );
    expect(res.status).toBe(201);
    const statuses = res.body.status.images;
    expect(statuses.map((s: any) => s.status.status)).toEqual(['Success', 'Success', 'Success', 'Success']);
    expect(statuses.map((s: any) => s.tag)).toEqual(['oci', 'v2s2', 'multi', 'multi-v2s2']);
    const [oci, v2s2, multi, list] = statuses.map((s: any) => s.image);
    expect(oci.metadata.name).toBe(content.digests.oci);
    expect(oci.dockerImageReference).toBe(`${repo}@${content.digests.oci}`);
    expect(oci.dockerImageManifestMediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(v2s2.metadata.name).toBe(content.digests.v2s2);
    expect(v2s2.dockerImageManifestMediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(multi.metadata.name).toBe(content.children.multi!.amd64);
    expect(list.metadata.name).toBe(content.children['multi-v2s2']!.amd64);
    // Metadata comes from the config blob; layers base first; manifests are not returned unless asked.
    expect(oci.dockerImageMetadata).toMatchObject({
      kind: 'DockerImage',
      apiVersion: 'image.openshift.io/1.0',
      Architecture: 'amd64',
      Os: 'linux',
      Config: {
        Env: expect.arrayContaining(['ARCH=amd64']),
        Cmd: ['/hello'],
        Entrypoint: ['/bin/sh'],
        Labels: { 'org.opencontainers.image.title': 'tiny-amd64' },
      },
    });
    expect(oci.dockerImageMetadata.Id).toMatch(/^sha256:/);
    expect(oci.dockerImageMetadata.Size).toBeGreaterThan(0);
    expect(oci.dockerImageLayers.length).toBeGreaterThan(0);
    expect(oci.dockerImageManifest).toBeUndefined();
    // The stream now holds the four tags at those images.
    const stream = res.body.status.import;
    expect(stream.metadata.annotations['openshift.io/image.dockerRepositoryCheck']).toBeTruthy();
    expect(stream.metadata.generation).toBe(1);
    const items = Object.fromEntries(stream.status.tags.map((t: any) => [t.tag, t.items[0]]));
    expect(items.multi).toMatchObject({
      image: content.children.multi!.amd64,
      dockerImageReference: `${repo}@${content.children.multi!.amd64}`,
      generation: 1,
    });
    const tag = await api.get(ISTAG('media', 'app:v2s2'));
    expect(tag.status).toBe(200);
    expect(tag.body.image.dockerImageMetadata.Architecture).toBe('amd64');
  });

  it('PreserveOriginal stores the list and every child; children are imagestreamimages', async () => {
    const repo = `${anon.host}/tiny/app`;
    const res = await api.post(
      ISI('media'),
      isi('preserve', [img(`${repo}:multi`, 'all', { importPolicy: { importMode: 'PreserveOriginal' } })]),
    );
    expect(res.status).toBe(201);
    const s = res.body.status.images[0];
    expect(s.image?.metadata.name, JSON.stringify(s.status)).toBe(content.digests.multi);
    expect(s.image.dockerImageManifests).toHaveLength(2);
    expect(s.image.dockerImageLayers ?? []).toHaveLength(0);
    expect(s.manifests.map((m: any) => m.metadata.name).sort()).toEqual(
      Object.values(content.children.multi!).sort(),
    );
    const tag = res.body.status.import.status.tags[0];
    expect(tag.items[0].image).toBe(content.digests.multi);
    const child = await api.get(ISIMAGE('media', `preserve@${content.children.multi!.arm64}`));
    expect(child.status, JSON.stringify(child.body)).toBe(200);
    expect(child.body.image.dockerImageMetadata.Architecture).toBe('arm64');
  });

  it('the target tag prefer-arch annotation picks the platform in Legacy mode', async () => {
    await api.post(IS('prefer'), {
      metadata: { name: 'app' },
      spec: {
        tags: [
          {
            name: 'arm',
            annotations: { 'importer.image.openshift.io/prefer-arch': 'arm64' },
            from: { kind: 'DockerImage', name: `${anon.host}/tiny/app:multi` },
            reference: true,
          },
        ],
      },
    });
    const res = await api.post(ISI('prefer'), isi('app', [img(`${anon.host}/tiny/app:multi-v2s2`, 'arm')]));
    expect(res.status).toBe(201);
    expect(res.body.status.images[0].image.metadata.name).toBe(content.children['multi-v2s2']!.arm64);
  });

  it('imports by digest (status tag empty) and returns raw manifest and config with includeManifest', async () => {
    const d = content.digests.v2s2!;
    const res = await api.post(
      ISI('digest'),
      isi('app', [img(`${anon.host}/tiny/app@${d}`, 'pinned', { includeManifest: true })]),
    );
    expect(res.status).toBe(201);
    const s = res.body.status.images[0];
    expect(s.tag).toBe('');
    expect(s.image.metadata.name).toBe(d);
    expect(JSON.parse(s.image.dockerImageManifest).mediaType).toBe(
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    expect(JSON.parse(s.image.dockerImageConfig).architecture).toBe('amd64');
    // Stored images never keep raw manifests.
    const stored = await api.get(IMAGES(d));
    expect(stored.status).toBe(200);
    expect(stored.body.dockerImageManifest).toBeUndefined();
  });
});

describe('import semantics (docs/semantics.md#imports, #import-results, #repository-import)', () => {
  it('success, no-op re-import, failure condition once, recovery clears it', async () => {
    const repo = `${anon.host}/moving/app`;
    const d1 = await pushImage(anon, 'moving/app', 'v1', { label: 'one' });
    const first = await api.post(ISI('sem'), isi('app', [img(`${repo}:v1`, 't')]));
    expect(first.status).toBe(201);
    const is1 = first.body.status.import;
    const rv1 = is1.metadata.resourceVersion;
    expect(is1.status.tags[0].items[0]).toMatchObject({ image: d1, dockerImageReference: `${repo}@${d1}` });

    // Same digest again → no write at all, and exactly one registry request (a HEAD).
    const mark = anon.requests().length;
    const again = await api.post(ISI('sem'), isi('app', [img(`${repo}:v1`, 't')]));
    expect(again.body.status.import.metadata.resourceVersion).toBe(rv1);
    expect(anon.requests().slice(mark)).toEqual([
      { method: 'HEAD', uri: '/v2/moving/app/manifests/v1', status: 200 },
    ]);

    // A missing tag → one failure condition, the old image still served, generation moved once.
    const fail = await api.post(ISI('sem'), isi('app', [img(`${repo}:nope`, 't')]));
    expect(fail.status).toBe(201);
    expect(fail.body.status.images[0].status).toMatchObject({
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: `dockerimage.image.openshift.io "${repo}:nope" not found`,
    });
    const failed = fail.body.status.import;
    const tag = failed.status.tags[0];
    expect(tag.items[0].image).toBe(d1);
    expect(tag.conditions).toHaveLength(1);
    expect(tag.conditions[0]).toMatchObject({ type: 'ImportSuccess', status: 'False', reason: 'NotFound' });
    const gen = failed.metadata.generation;
    expect(tag.conditions[0].generation).toBe(gen);
    expect(failed.spec.tags[0].generation).toBe(gen);
    const repeat = await api.post(ISI('sem'), isi('app', [img(`${repo}:nope`, 't')]));
    expect(repeat.body.status.import.metadata.resourceVersion).toBe(failed.metadata.resourceVersion);
    expect(repeat.body.status.import.status.tags[0].conditions[0].lastTransitionTime).toBe(
      tag.conditions[0].lastTransitionTime,
    );

    // The remote tag moves; the import pushes it with the next generation and clears the condition.
    const d2 = await pushImage(anon, 'moving/app', 'v1', { label: 'two' });
    const ok = await api.post(ISI('sem'), isi('app', [img(`${repo}:v1`, 't')]));
    const is2 = ok.body.status.import;
    expect(is2.metadata.generation).toBe(gen + 1);
    expect(is2.status.tags[0].conditions).toBeUndefined();
    expect(is2.status.tags[0].items.map((i: any) => i.image)).toEqual([d2, d1]);
    expect(is2.status.tags[0].items[0].generation).toBe(gen + 1);
    expect(is2.spec.tags[0].generation).toBe(gen + 1);
  });

  it('a dry run returns metadata but creates neither the stream nor images', async () => {
    const d = await pushImage(anon, 'dry/app', 'x', { label: 'dry-run-only' });
    const res = await api.post(ISI('dry'), isi('app', [img(`${anon.host}/dry/app:x`, 'x')], {}, false));
    expect(res.status).toBe(201);
    expect(res.body.status.images[0].image.metadata.name).toBe(d);
    expect(res.body.status.import).toBeUndefined();
    expect((await api.get(IS('dry', 'app'))).status).toBe(404);
    expect((await api.get(IMAGES(d))).status).toBe(404);
  });

  it('resourceVersion and uid checks; a missing stream is created at generation 1', async () => {
    const from = `${anon.host}/tiny/app:oci`;
    const missing = await api.post(
      ISI('rv'),
      isi('app', [img(from, 'a')], { metadata: { resourceVersion: '5' } }),
    );
    expect(missing.status).toBe(404);
    const created = await api.post(ISI('rv'), isi('app', [img(from, 'a')]));
    expect(created.body.status.import.metadata.generation).toBe(1);
    const rv = created.body.status.import.metadata.resourceVersion;
    const stale = await api.post(
      ISI('rv'),
      isi('app', [img(`${anon.host}/tiny/app:arm64`, 'b')], {
        metadata: { resourceVersion: String(Number(rv) - 1) },
      }),
    );
    expect(stale.status).toBe(409);
    expect(stale.body.message).toBe(
      `Operation cannot be fulfilled on imagestream.image.openshift.io "app": the image stream was updated from "${Number(rv) - 1}" to "${rv}"`,
    );
    const wrongUid = await api.post(ISI('rv'), isi('app', [img(from, 'a')], { metadata: { uid: 'nope' } }));
    expect(wrongUid.status).toBe(404);
    const good = await api.post(
      ISI('rv'),
      isi('app', [img(`${anon.host}/tiny/app:arm64`, 'b')], { metadata: { resourceVersion: rv } }),
    );
    expect(good.status).toBe(201);
    expect((await api.get(IS('rv', 'app'))).body.spec.tags.map((t: any) => t.name)).toEqual(['a', 'b']);
  });

  it('whole-repository import takes 50 tags in priority order and lists the rest', async () => {
    const names = ['latest', '1.2', '1.10', '1.2.3', 'foo', ...Array.from({ length: 55 }, (_, i) => `z${i}`)];
    await pushDistinctTags(anon, 'bulk/app', names.length, (i) => names[i]!);
    const res = await api.post(ISI('bulk'), {
      kind: 'ImageStreamImport',
      metadata: { name: 'app' },
      spec: {
        import: true,
        repository: {
          from: { kind: 'DockerImage', name: `${anon.host}/bulk/app` },
          importPolicy: { insecure: true },
        },
      },
    });
    expect(res.status).toBe(201);
    const repo = res.body.status.repository;
    expect(repo.status.status).toBe('Success');
    expect(repo.images).toHaveLength(50);
    expect(repo.images.slice(0, 5).map((i: any) => i.tag)).toEqual(['latest', '1.10', '1.2', '1.2.3', 'foo']);
    expect(repo.additionalTags).toHaveLength(10);
    const stream = await api.get(IS('bulk', 'app'));
    expect(stream.body.spec.tags).toHaveLength(50);
    expect(stream.body.spec.tags.find((t: any) => t.name === '1.10').from.name).toBe(
      `${anon.host}/bulk/app:1.10`,
    );
  });

  it('validates the request with field paths and writes nothing', async () => {
    const bad = await api.post(ISI('val'), {
      kind: 'ImageStreamImport',
      metadata: { name: 'app' },
      spec: {
        import: true,
        images: [
          { from: { kind: 'ImageStreamTag', name: 'x:y' } },
          { from: { kind: 'DockerImage', name: 'quay.io/UPPER/case' }, to: { name: 't' } },
          { from: { kind: 'DockerImage', name: 'quay.io/a/b' }, to: { name: '' } },
        ],
        repository: { from: { kind: 'DockerImage', name: 'quay.io/a/b:tag' } },
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes.map((c: any) => c.field)).toEqual([
      'spec.images[0].from.kind',
      'spec.images[1].from.name',
      'spec.images[2].to.name',
      'spec.repository.from.name',
    ]);
    const empty = await api.post(ISI('val'), {
      kind: 'ImageStreamImport',
      metadata: { name: 'app' },
      spec: {},
    });
    expect(empty.status).toBe(422);
    expect(empty.body.details.causes[0].field).toBe('spec.images');
    expect((await api.get(IS('val', 'app'))).status).toBe(404);
  });
});

describe('registry authentication', () => {
  it('htpasswd: 401 status without credentials, success with a namespace secret', async () => {
    const from = `${basic.host}/tiny/app:oci`;
    const denied = await api.post(ISI('auth-basic'), isi('app', [img(from, 'a')], {}, false));
    expect(denied.body.status.images[0].status).toMatchObject({
      reason: 'Unauthorized',
      code: 401,
      message: `you may not have access to the container image "${from}"`,
    });
    await secret('auth-basic', 'pull', basic.host, USER, PASSWORD);
    const ok = await api.post(ISI('auth-basic'), isi('app', [img(from, 'a')]));
    expect(ok.body.status.images[0].status.status).toBe('Success');
    expect(ok.body.status.images[0].image.metadata.name).toBe(basicContent.digests.oci);
  });

  it('a wrong password is retried once anonymously, then reported as incorrect credentials', async () => {
    await secret('auth-bad', 'pull', token.host, USER, 'wrong');
    const before = token.requests().length;
    const tokensBefore = token.tokenServer!.requests.length;
    const res = await api.post(
      ISI('auth-bad'),
      isi('app', [img(`${token.host}/tiny/app:oci`, 'a')], {}, false),
    );
    expect(res.body.status.images[0].status).toMatchObject({
      reason: 'Unauthorized',
      message: `incorrect username or password for image "${token.host}/tiny/app:oci"`,
    });
    // Bounded: never a loop of 401s (Docker Hub locks accounts out for that).
    expect(token.requests().length - before).toBeLessThanOrEqual(4);
    // Token requests: the rejected password, then the anonymous token and its one refresh after the 401.
    expect(token.tokenServer!.requests.length - tokensBefore).toBeLessThanOrEqual(3);
    // Public content still imports anonymously with the same wrong secret in place.
    const pub = await api.post(
      ISI('auth-bad'),
      isi('pub', [img(`${token.host}/public/app:oci`, 'a')], {}, false),
    );
    expect(pub.body.status.images[0].status.status).toBe('Success');
  });

  it('token auth: anonymous public pulls, credentials from a secret, tokens cached', async () => {
    const pub = await api.post(ISI('auth-token'), isi('pub', [img(`${token.host}/public/app:oci`, 'a')]));
    expect(pub.body.status.images[0].status.status).toBe('Success');
    const denied = await api.post(
      ISI('auth-token'),
      isi('app', [img(`${token.host}/tiny/app:oci`, 'a')], {}, false),
    );
    expect(denied.body.status.images[0].status.reason).toBe('Unauthorized');
    await secret('auth-token', 'pull', `http://${token.host}`, USER, PASSWORD);
    const ok = await api.post(
      ISI('auth-token'),
      isi('app', [img(`${token.host}/tiny/app:oci`, 'a'), img(`${token.host}/tiny/app:multi`, 'b')]),
    );
    expect(ok.body.status.images.map((s: any) => s.status.status)).toEqual(['Success', 'Success']);
    expect(ok.body.status.images[1].image.metadata.name).toBe(tokenContent.children.multi!.amd64);
    const tokensBefore = token.tokenServer!.requests.length;
    await api.post(ISI('auth-token'), isi('app', [img(`${token.host}/tiny/app:v2s2`, 'c')]));
    expect(token.tokenServer!.requests.length).toBe(tokensBefore);
  });

  it('a plain-HTTP registry without the insecure flag is a BadRequest status', async () => {
    const res = await api.post(
      ISI('http'),
      isi(
        'app',
        [{ from: { kind: 'DockerImage', name: `${anon.host}/tiny/app:oci` }, to: { name: 'a' } }],
        {},
        false,
      ),
    );
    expect(res.body.status.images[0].status).toMatchObject({
      reason: 'BadRequest',
      code: 400,
      message: `the repository ${anon.host}/tiny/app is HTTP only and requires the insecure flag to import`,
    });
  });
});

describe('GET /images/{digest}', () => {
  it('serves shared images to administrators only', async () => {
    const d = content.digests.oci!;
    const ok = await api.get(IMAGES(d));
    expect(ok.status).toBe(200);
    expect(ok.body.metadata.name).toBe(d);
    expect((await api.get(IMAGES(`sha256:${'0'.repeat(64)}`))).status).toBe(404);
  });
});

describe('parallel imports and access', () => {
  it('parallel imports into one stream (different tags) all land', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `p${i}`);
    const digests = await pushDistinctTags(anon, 'parallel/app', names.length, (i) => names[i]!);
    const results = await Promise.all(
      names.map((n) => api.post(ISI('parallel'), isi('app', [img(`${anon.host}/parallel/app:${n}`, n)]))),
    );
    expect(results.map((r) => r.status)).toEqual(names.map(() => 201));
    const stream = (await api.get(IS('parallel', 'app'))).body;
    expect(stream.status.tags).toHaveLength(names.length);
    for (const t of stream.status.tags) expect(t.items[0].image).toBe(digests[t.tag]);
  });
});

describe('allowedRegistriesForImport and administrator-only images', () => {
  let restricted: Api;
  let stopRestricted: () => Promise<void>;
  beforeAll(async () => {
    const s = await startStack({
      ALLOWED_REGISTRIES_FOR_IMPORT: 'quay.io,*.example.com',
      LOCAL_TOKENS: JSON.stringify({ 'dev-token-0123456789': { user: 'dev', groups: ['developers'] } }),
    });
    restricted = s.api;
    stopRestricted = s.stop;
    // dev owns the project: allowed to import, but not past the allow-list.
    const dev = restricted.as('dev-token-0123456789');
    expect((await dev.newProject('allow')).status).toBe(201);
  }, 60_000);
  afterAll(() => stopRestricted?.());

  it('refuses registries outside the list for ordinary users, with the field path; administrators bypass it', async () => {
    const dev = restricted.as('dev-token-0123456789');
    const body = isi('app', [img(`${anon.host}/tiny/app:oci`, 'a')]);
    const denied = await dev.post(ISI('allow'), body);
    expect(denied.status).toBe(422);
    expect(denied.body.details.causes[0]).toMatchObject({
      field: 'spec.images[0].from.name',
      reason: 'FieldValueForbidden',
    });
    expect(denied.body.details.causes[0].message).toContain(
      `importing images from registry "${anon.host}" is forbidden`,
    );
    expect((await dev.get(IS('allow', 'app'))).status).toBe(404);
    expect((await restricted.post(ISI('allow'), body)).status).toBe(201);
    const image = await dev.get(IMAGES(content.digests.oci!));
    expect(image.status).toBe(403);
    expect(image.body.reason).toBe('Forbidden');
  });
});
