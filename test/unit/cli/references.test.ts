import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../cli/errors';
import {
  buildTagReference,
  chooseRollback,
  exactRef,
  followTagReference,
  importFailed,
  inferSource,
  parseDestination,
  parseImportTarget,
  parseSourceKind,
  parseSteps,
  planImport,
  resolvedPullSpec,
  snapshotSource,
  tagMessage,
  validateTagFlags,
} from '../../../cli/references';
import type { ImageStream, TagEvent } from '../../../functions/core/api-types';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const D2b = `sha256:${'2'.repeat(10)}${'a'.repeat(54)}`;

function usage(fn: () => unknown, message: string) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).toBe(message);
}

describe('tag SOURCE inference (docs/semantics.md#oc-tag)', () => {
  it('infers DockerImage from a registry host, ImageStreamImage from @digest, ImageStreamTag from :tag', () => {
    expect(inferSource('quay.io/x/y:1', undefined, 'p').kind).toBe('DockerImage');
    expect(inferSource('127.0.0.1:5000/app:1', undefined, 'p').kind).toBe('DockerImage');
    expect(inferSource('localhost/app', undefined, 'p').kind).toBe('DockerImage');
    expect(inferSource(`app@${D1}`, undefined, 'p').kind).toBe('ImageStreamImage');
    expect(inferSource('app:1', undefined, 'p').kind).toBe('ImageStreamTag');
    expect(inferSource('other/app:1', undefined, 'p')).toEqual({
      kind: 'ImageStreamTag',
      ref: { registry: '', namespace: 'other', name: 'app', tag: '1', id: '' },
    });
    expect(inferSource('busybox', undefined, 'p').kind).toBe('DockerImage');
  });

  it('replaces the library namespace by the current project for stream sources only', () => {
    expect(inferSource('library/app:1', undefined, 'p').ref.namespace).toBe('p');
    expect(inferSource('library/app:1', 'DockerImage', 'p').ref.namespace).toBe('library');
  });

  it('checks --source against the source', () => {
    expect(parseSourceKind('istag')).toBe('ImageStreamTag');
    expect(parseSourceKind('ImageStreamImage')).toBe('ImageStreamImage');
    expect(parseSourceKind('docker')).toBe('DockerImage');
    usage(
      () => parseSourceKind('git'),
      'invalid source "git"; valid values are docker, dockerimage, imagestreamimage, imagestreamtag, isimage, istag',
    );
    usage(
      () => inferSource('quay.io/x/y:1', 'ImageStreamTag', 'p'),
      'server in SOURCE is only allowed when providing a container image',
    );
    usage(
      () => inferSource('app', 'ImageStreamTag', 'p'),
      '--source=ImageStreamTag requires a valid <name>:<tag> in SOURCE',
    );
    usage(
      () => inferSource('app:1', 'ImageStreamImage', 'p'),
      '--source=ImageStreamImage requires a valid <name>@<id> in SOURCE',
    );
    usage(() => inferSource('App:1', undefined, 'p'), 'invalid SOURCE: repository name must be lowercase');
  });

  it('prints references exactly as oc does (a digest wins over a tag)', () => {
    expect(exactRef(inferSource(`quay.io/x/y:1@${D1}`, undefined, 'p').ref)).toBe(`quay.io/x/y@${D1}`);
    expect(exactRef(inferSource('quay.io/x/y:1', undefined, 'p').ref)).toBe('quay.io/x/y:1');
  });
});

describe('tag DEST and flags', () => {
  it('parses [ns/]stream:tag and refuses anything else with oc wording', () => {
    expect(parseDestination('app:1', 'p')).toMatchObject({
      namespace: 'p',
      name: 'app:1',
      crossNamespace: false,
    });
    expect(parseDestination('q/app:1', 'p')).toMatchObject({
      namespace: 'q',
      stream: 'app',
      tag: '1',
      crossNamespace: true,
    });
    usage(() => parseDestination('app', 'p'), '"app" must be of the form <stream_name>:<tag>');
    usage(() => parseDestination('a/b/c:1', 'p'), 'invalid image stream "a/b/c:1"');
    usage(() => parseDestination('/c:1', 'p'), 'invalid namespace "" for image stream "/c:1"');
    usage(
      () => parseDestination('app:-x', 'p'),
      `invalid tag "-x" format, tags must start with an alphanumeric character followed by alphanumeric, '.' or '-' characters, and have a maximum of 128 characters`,
    );
    expect(parseDestination('app:-x', 'p', false).tag).toBe('-x');
  });

  it('refuses flag combinations as oc does', () => {
    const dest = [parseDestination('app:b', 'p')];
    const ist = inferSource('app:a', undefined, 'p');
    const isi = inferSource(`app@${D1}`, undefined, 'p');
    usage(
      () => validateTagFlags({ delete: true, alias: true }, undefined, dest),
      '--alias and --delete may not be both specified',
    );
    usage(
      () => validateTagFlags({ referencePolicy: 'Local' }, ist, dest),
      "reference policy must be set to 'source' or 'local'",
    );
    usage(
      () => validateTagFlags({ delete: true, scheduled: true }, undefined, dest),
      'cannot set flags for importing images when deleting a tag',
    );
    usage(
      () => validateTagFlags({ delete: true, importMode: 'Legacy' }, undefined, dest),
      'cannot specify an import mode when deleting',
    );
    usage(() => validateTagFlags({}, ist, []), 'at least a destination is required');
    usage(
      () => validateTagFlags({ insecure: true }, isi, dest),
      'only container images can have importing flags set',
    );
    // a non-alias imagestreamtag is checked once resolved (it may resolve to a container image)
    expect(() => validateTagFlags({ scheduled: true }, ist, dest)).not.toThrow();
    usage(
      () => validateTagFlags({ alias: true, scheduled: true }, ist, dest),
      'only container images can have importing flags set',
    );
    usage(
      () =>
        validateTagFlags(
          { alias: true, scheduled: true },
          inferSource('quay.io/x/app:a', undefined, 'p'),
          dest,
        ),
      'cannot set a container image tag as an alias and also set import flags',
    );
    usage(
      () => validateTagFlags({ alias: true }, ist, [parseDestination('other:b', 'p')]),
      'cannot set alias across different Image Streams',
    );
    usage(
      () => validateTagFlags({ alias: true }, ist, [parseDestination('q/app:b', 'p')]),
      'cannot set alias across different Image Streams',
    );
    usage(
      () => validateTagFlags({ alias: true }, inferSource('q/app:a', undefined, 'p'), dest),
      'cannot set alias across different Image Streams',
    );
    usage(
      () => validateTagFlags({ importMode: 'legacy' }, ist, dest),
      'valid ImportMode values are Legacy or PreserveOriginal',
    );
    expect(() => validateTagFlags({ alias: true }, ist, dest)).not.toThrow();
  });
});

function stream(
  tags: Record<string, { spec?: object; items?: Partial<TagEvent>[] }>,
  extra: object = {},
): ImageStream {
  return {
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: 'app', namespace: 'p', resourceVersion: '7' },
    spec: {
      tags: Object.entries(tags)
        .filter(([, t]) => t.spec)
        .map(([name, t]) => ({ name, ...t.spec })),
    },
    status: {
      dockerImageRepository: 'registry.svc:5000/p/app',
      tags: Object.entries(tags)
        .filter(([, t]) => t.items)
        .map(([tag, t]) => ({ tag, items: t.items as TagEvent[] })),
    },
    ...extra,
  } as ImageStream;
}

describe('snapshots and the spec tag written', () => {
  it('turns an imagestreamtag into the image it points to now, or into its pull spec without image', () => {
    const s = stream({
      a: { items: [{ image: D1, dockerImageReference: `quay.io/x/y@${D1}` }] },
      r: { items: [{ image: '', dockerImageReference: 'quay.io/x/y:ref' }] },
    });
    const snap = snapshotSource(inferSource('q/app:a', undefined, 'p'), s, 'q/app:a')!;
    expect(snap).toEqual({
      kind: 'ImageStreamImage',
      ref: { registry: '', namespace: 'q', name: 'app', tag: '', id: D1 },
    });
    expect(buildTagReference(snap, parseDestination('app:b', 'p'), {}, 'p')).toEqual({
      name: 'b',
      reference: false,
      importPolicy: { insecure: false, scheduled: false, importMode: 'Legacy' },
      referencePolicy: { type: 'Source' },
      from: { kind: 'ImageStreamImage', name: `app@${D1}`, namespace: 'q' },
    });
    expect(snapshotSource(inferSource('app:r', undefined, 'p'), s, 'app:r')!.kind).toBe('DockerImage');
    expect(snapshotSource(inferSource('app:none', undefined, 'p'), s, 'app:none')).toBeUndefined();
  });

  it('sends DockerImage sources as written with generation 0, stream sources with the current namespace across projects', () => {
    const docker = inferSource('quay.io/x/y:1', undefined, 'p');
    const t = buildTagReference(
      docker,
      parseDestination('app:1', 'p'),
      { scheduled: true, importMode: 'PreserveOriginal', referencePolicy: 'local' },
      'p',
    );
    expect(t).toMatchObject({
      from: { kind: 'DockerImage', name: 'quay.io/x/y:1' },
      generation: 0,
      importPolicy: { scheduled: true, importMode: 'PreserveOriginal' },
      referencePolicy: { type: 'Local' },
    });
    const alias = inferSource('app:a', undefined, 'p');
    expect(buildTagReference(alias, parseDestination('q/app:b', 'p'), {}, 'p').from).toEqual({
      kind: 'ImageStreamTag',
      name: 'app:a',
      namespace: 'p',
    });
    expect(buildTagReference(alias, parseDestination('app:b', 'p'), {}, 'p').from).toEqual({
      kind: 'ImageStreamTag',
      name: 'app:a',
    });
    expect(tagMessage(alias, parseDestination('app:b', 'p'), { alias: true }, 'p')).toBe(
      'Tag app:b set up to track app:a.',
    );
    expect(tagMessage(docker, parseDestination('q/app:b', 'p'), {}, 'p')).toBe(
      'Tag q/app:b set to quay.io/x/y:1.',
    );
    expect(tagMessage(docker, parseDestination('app:b', 'p'), { scheduled: true }, 'p')).toBe(
      'Tag app:b set to import quay.io/x/y:1 periodically.',
    );
  });
});

describe('rollback choice', () => {
  const ev = (image: string): TagEvent => ({
    image,
    dockerImageReference: `r@${image}`,
    created: '',
    generation: 1,
  });
  const history = [ev(D1), ev(D2), ev(D1), ev(D2b), ev(D3)];

  it('goes back by distinct images, skipping the current one', () => {
    expect(chooseRollback('app:t', history, {}).to.image).toBe(D2);
    expect(chooseRollback('app:t', history, { steps: 2 }).to.image).toBe(D2b);
    expect(chooseRollback('app:t', history, { steps: 3 }).to.image).toBe(D3);
    expect(() => chooseRollback('app:t', history, { steps: 4 })).toThrow(
      '"app:t" has only 3 earlier images in its history, cannot go back 4',
    );
    expect(() => chooseRollback('app:t', [ev(D1), ev(D1)], {})).toThrow(
      '"app:t" has no earlier image to roll back to',
    );
  });

  it('finds --to by digest or unique prefix, and lists candidates otherwise', () => {
    expect(chooseRollback('app:t', history, { to: '333' })).toMatchObject({ to: { image: D3 }, steps: 3 });
    expect(chooseRollback('app:t', history, { to: D2 }).to.image).toBe(D2);
    expect(chooseRollback('app:t', history, { to: 'sha256:2222222222a' }).to.image).toBe(D2b);
    expect(() => chooseRollback('app:t', history, { to: '22' })).toThrow(
      `"22" matches 2 images in the history of "app:t":\n  ${D2}  r@${D2}\n  ${D2b}  r@${D2b}\nGive more digits.`,
    );
    expect(() => chooseRollback('app:t', history, { to: 'abc' })).toThrow(
      /no image in the history of "app:t" matches "abc"/,
    );
    expect(() => chooseRollback('app:t', history, { to: '111' })).toThrow(`"app:t" already points to ${D1}`);
    usage(
      () => chooseRollback('app:t', history, { to: 'xyz!' }),
      '--to must be an image digest or a prefix of one (hex digits), not "xyz!"',
    );
    usage(() => parseSteps('0'), '--steps must be a positive whole number, not "0"');
  });
});

describe('import-image planning (docs/semantics.md#oc-import-image)', () => {
  it('parses the target', () => {
    expect(parseImportTarget('app', false)).toEqual({ name: 'app', tag: 'latest' });
    expect(parseImportTarget('quay.io/x/app:1', false)).toEqual({ name: 'app', tag: '1' });
    usage(() => parseImportTarget(`app@${D1}`, false), "to import images by ID, use the 'isctl tag' command");
    usage(() => parseImportTarget('app:1', true), 'cannot specify a tag "app:1" as well as --all');
    usage(() => parseImportTarget(undefined, false), 'you must specify the name of an image stream');
  });

  it('needs --confirm for a missing stream, then imports the target or --from', () => {
    expect(() => planImport({ name: 'app', tag: 'latest' }, 'app', {}, undefined, 'p')).toThrow(
      'no image stream named "app" exists, pass --confirm to create and import',
    );
    const plan = planImport(
      { name: 'app', tag: '1' },
      'quay.io/x/app:1',
      { confirm: true, insecure: true },
      undefined,
      'p',
    );
    expect(plan.isi.spec).toEqual({
      import: true,
      images: [
        {
          from: { kind: 'DockerImage', name: 'quay.io/x/app:1' },
          to: { name: '1' },
          importPolicy: { insecure: true, scheduled: false, importMode: 'Legacy' },
        },
      ],
    });
    const all = planImport(
      { name: 'app', tag: '' },
      'app',
      { confirm: true, all: true, from: 'quay.io/x/app', dryRun: true },
      undefined,
      'p',
    );
    expect(all.isi.spec).toEqual({
      import: false,
      repository: {
        from: { kind: 'DockerImage', name: 'quay.io/x/app' },
        importPolicy: { insecure: false, scheduled: false, importMode: 'Legacy' },
      },
    });
  });

  it('follows aliases of the stream to the tag that imports, and refuses what cannot be re-imported', () => {
    const s = stream({
      latest: { spec: { from: { kind: 'ImageStreamTag', name: 'app:1' } } },
      1: {
        spec: { from: { kind: 'DockerImage', name: 'quay.io/x/app:1' }, importPolicy: { scheduled: true } },
      },
      loop: { spec: { from: { kind: 'ImageStreamTag', name: 'loop2' } } },
      loop2: { spec: { from: { kind: 'ImageStreamTag', name: 'loop' } } },
      cross: { spec: { from: { kind: 'ImageStreamTag', name: 'other:1' } } },
      pinned: { spec: { from: { kind: 'ImageStreamImage', name: `app@${D1}` } } },
    });
    expect(followTagReference(s, 'latest')).toMatchObject({ tag: '1', multiple: true });
    const plan = planImport({ name: 'app', tag: 'latest' }, 'app', {}, s, 'p');
    expect(plan.isi.metadata.resourceVersion).toBe('7');
    expect(plan.isi.spec.images).toEqual([
      {
        from: { kind: 'DockerImage', name: 'quay.io/x/app:1' },
        to: { name: '1' },
        importPolicy: { insecure: false, scheduled: true, importMode: 'Legacy' },
      },
    ]);
    expect(() => planImport({ name: 'app', tag: 'loop' }, 'app', {}, s, 'p')).toThrow(
      'tag "loop" on the image stream is a reference to same tag',
    );
    expect(() => planImport({ name: 'app', tag: 'cross' }, 'app', {}, s, 'p')).toThrow(
      'tag "cross" points to an imagestreamtag from another ImageStream',
    );
    expect(() => planImport({ name: 'app', tag: 'pinned' }, 'app', {}, s, 'p')).toThrow(
      `tag "pinned" points to existing ImageStreamImage "app@${D1}", it cannot be re-imported`,
    );
    expect(() => planImport({ name: 'app', tag: '1' }, 'app', { from: 'quay.io/x/app:2' }, s, 'p')).toThrow(
      `the tag "1" points to "quay.io/x/app:1" - use the 'isctl tag' command if you want to change the source to "quay.io/x/app:2"`,
    );
    expect(() => planImport({ name: 'app', tag: 'nope' }, 'app', {}, s, 'p')).toThrow(
      `the tag "nope" does not exist on the image stream - choose an existing tag to import or use the 'isctl tag' command to create a new tag`,
    );
    expect(() =>
      planImport({ name: 'app', tag: '' }, 'app', { all: true, from: 'quay.io/x/app' }, s, 'p'),
    ).toThrow(
      'the image stream does not currently import an entire Docker repository, pass --confirm to update',
    );
  });

  it("takes insecure from the flag, else from the stream's annotation or the old tag", () => {
    const s = stream({ 1: { spec: { from: { kind: 'DockerImage', name: 'quay.io/x/app:1' } } } }, {});
    s.metadata.annotations = { 'openshift.io/image.insecureRepository': 'true' };
    const policy = (flags: object) =>
      planImport({ name: 'app', tag: '1' }, 'app:1', flags, s, 'p').isi.spec.images![0]!.importPolicy;
    expect(policy({})).toEqual({ insecure: true, scheduled: false, importMode: 'Legacy' });
    expect(policy({ insecure: false, importMode: 'PreserveOriginal' })).toEqual({
      insecure: false,
      scheduled: false,
      importMode: 'PreserveOriginal',
    });
    s.metadata.annotations = {};
    s.spec.tags![0]!.importPolicy = { insecure: true };
    expect(policy({ insecure: false })?.insecure).toBe(true);
    expect(
      planImport({ name: 'app', tag: '1' }, 'app:1', { referencePolicy: 'LOCAL' }, s, 'p').isi.spec
        .images![0],
    ).toMatchObject({
      referencePolicy: { type: 'Local' },
    });
  });

  it('tells failures and resolves pull specs by reference policy', () => {
    const ok = { status: { status: 'Success' } };
    const bad = { status: { status: 'Failure' } };
    const isi = (images: object[], repo?: object) =>
      ({ status: { images, ...(repo ? { repository: repo } : {}) } }) as never;
    expect(importFailed(isi([ok]))).toBe(false);
    expect(importFailed(isi([ok, bad]))).toBe(true);
    expect(importFailed(isi([], { status: { status: 'Failure' } }))).toBe(true);
    const s = stream({
      l: {
        spec: { referencePolicy: { type: 'Local' } },
        items: [{ image: D1, dockerImageReference: `quay.io/x/y@${D1}` }],
      },
      s: { spec: {}, items: [{ image: D1, dockerImageReference: `quay.io/x/y@${D1}` }] },
    });
    expect(resolvedPullSpec(s, 'l').pullSpec).toBe(`registry.svc:5000/p/app@${D1}`);
    expect(resolvedPullSpec(s, 's').pullSpec).toBe(`quay.io/x/y@${D1}`);
  });
});
