import { describe, expect, it } from 'vitest';
import { createImageStreamImport } from '../../../functions/app/imports/imagestreamimports';
import { writeImportOutcomes } from '../../../functions/app/imports/import-writes';
import { runImportJob } from '../../../functions/app/jobs/import-jobs';
import { forCaller } from '../../../functions/app/shared/context';
import { createImageStreamMapping } from '../../../functions/app/streams/imagestreammappings';
import {
  createImageStream,
  patchImageStream,
  updateImageStream,
} from '../../../functions/app/streams/imagestreams';
import {
  createImageStreamTag,
  deleteImageStreamTag,
  getImageStreamTag,
  updateImageStreamTag,
} from '../../../functions/app/streams/imagestreamtags';
import type { Image, ImageStream } from '../../../functions/core/api-types';
import { StatusError } from '../../../functions/core/errors';
import { fakeContext, fakeProject } from '../../support/fakes';

/**
 * The stream use cases over the in-memory ports (test/support/fakes.ts): every write goes through the one
 * guaranteed update (functions/app/streams/guaranteed-update.ts), so these cover its read, precondition,
 * strategy, resolution, commit, conflict and retry paths, and its dry run, without DynamoDB.
 */
const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const image = (n: number, more: Partial<Image> = {}): Image => ({
  metadata: { name: D(n) },
  dockerImageReference: `quay.io/x/y@${D(n)}`,
  ...more,
});
const mapping = (stream: string, tag: string, n: number) => ({
  metadata: { name: stream },
  tag,
  image: image(n),
});
const tagRef = (from: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  tag: { name: 'x', from, ...more },
});

async function setup() {
  const ctx = fakeContext();
  await fakeProject(ctx, 'ns');
  return ctx;
}

/** What the fakes hold: every record a write could have changed, to compare before and after a dry run. */
function snapshotOf(ctx: ReturnType<typeof fakeContext>) {
  const { streams, images } = ctx.fakes;
  return JSON.stringify({
    heads: [...streams.heads],
    tags: [...streams.tags].map(([k, m]) => [k, [...m]]),
    history: [...streams.entries],
    refs: [...streams.refs],
    images: [...images.projects].map(([k, m]) => [k, [...m]]),
    shared: [...images.shared],
  });
}

async function rejection(p: Promise<unknown>): Promise<StatusError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof StatusError)) throw new Error(`expected a StatusError, got ${String(e)}`);
  return e;
}

describe('image streams', () => {
  it('create stores the stream with generation 1 and resolves its tags; a second create is 409', async () => {
    const ctx = await setup();
    const created = await createImageStream(ctx, 'ns', {
      metadata: { name: 's', labels: { team: 'a' } },
      spec: {
        tags: [{ name: 'ext', from: { kind: 'DockerImage', name: 'quay.io/x/y:1' }, reference: true }],
      },
    });
    expect(created.metadata).toMatchObject({
      name: 's',
      resourceVersion: '1',
      generation: 1,
      labels: { team: 'a' },
    });
    expect(created.status?.tags?.[0]?.items?.[0]?.dockerImageReference).toBe('quay.io/x/y:1');
    expect(ctx.fakes.streams.commits.map((c) => c.mode)).toEqual(['create']);
    const again = await rejection(createImageStream(ctx, 'ns', { metadata: { name: 's' } }));
    expect([again.code, again.reason]).toEqual([409, 'AlreadyExists']);
  });

  it('update needs the stored resourceVersion and uid; the spec change moves the generation', async () => {
    const ctx = await setup();
    const s = await createImageStream(ctx, 'ns', { metadata: { name: 's' } });
    const stale = await rejection(
      updateImageStream(ctx, 'ns', 's', { metadata: { name: 's', resourceVersion: '7' } }),
    );
    expect([stale.code, stale.message]).toEqual([
      409,
      'Operation cannot be fulfilled on imagestreams.image.openshift.io "s": the object has been modified; please apply your changes to the latest version and try again',
    ]);
    const otherUid = await rejection(
      updateImageStream(ctx, 'ns', 's', { metadata: { name: 's', resourceVersion: '1', uid: 'forged' } }),
    );
    expect(otherUid.message).toBe(
      `Precondition failed: UID in precondition: forged, UID in object meta: ${s.metadata.uid}`,
    );
    const updated = await updateImageStream(ctx, 'ns', 's', {
      metadata: { name: 's', resourceVersion: '1' },
      spec: { lookupPolicy: { local: true } },
    });
    expect(updated.metadata).toMatchObject({ resourceVersion: '2', generation: 2 });
    expect(updated.spec.lookupPolicy?.local).toBe(true);
  });

  it('a patch without a resourceVersion is applied again to whatever another writer committed first', async () => {
    const ctx = await setup();
    await createImageStream(ctx, 'ns', { metadata: { name: 's' } });
    let raced = false;
    ctx.fakes.streams.beforeCommit = async (plan) => {
      if (raced || plan.mode !== 'stream') return;
      raced = true;
      // Another writer's change lands between this patch's read and its commit.
      ctx.fakes.streams.beforeCommit = undefined;
      await updateImageStream(ctx, 'ns', 's', {
        metadata: { name: 's', resourceVersion: '1', annotations: { other: 'writer' } },
      });
    };
    const patched = await patchImageStream(ctx, 'ns', 's', 'application/merge-patch+json', {
      metadata: { labels: { patched: 'yes' } },
    });
    expect(raced).toBe(true);
    expect(patched.metadata).toMatchObject({
      resourceVersion: '3',
      labels: { patched: 'yes' },
      annotations: { other: 'writer' },
    });
  });

  it('a patch with a stale resourceVersion is 409 and is not retried', async () => {
    const ctx = await setup();
    await createImageStream(ctx, 'ns', { metadata: { name: 's' } });
    const e = await rejection(
      patchImageStream(ctx, 'ns', 's', 'application/merge-patch+json', {
        metadata: { resourceVersion: '5', labels: { a: 'b' } },
      }),
    );
    expect(e.code).toBe(409);
    expect(ctx.fakes.streams.commits).toHaveLength(1);
  });
});

describe('image stream tags and mappings', () => {
  it('a tag write creates the stream, and an alias follows its source on every later push', async () => {
    const ctx = await setup();
    const alias = await updateImageStreamTag(
      ctx,
      'ns',
      'app:live',
      tagRef({ kind: 'ImageStreamTag', name: 'prod' }),
    );
    expect(alias.created).toBe(true);
    expect(ctx.fakes.streams.commits.map((c) => c.mode)).toEqual(['create']);
    await createImageStreamMapping(ctx, 'ns', mapping('app', 'prod', 1));
    expect((await getImageStreamTag(ctx, 'ns', 'app:live')).image.metadata.name).toBe(D(1));
    await createImageStreamMapping(ctx, 'ns', mapping('app', 'prod', 2));
    expect((await getImageStreamTag(ctx, 'ns', 'app:live')).image.metadata.name).toBe(D(2));
    // The mapping's image is this project's own record.
    expect(ctx.fakes.images.projects.get('ns')?.get(D(2))?.source).toBe('mapping');
    // Who wrote the alias's record last: the pusher, through alias tracking.
    expect(ctx.fakes.streams.writerOf('ns', 'app', 'live')).toBe('admin');
  });

  it('the same image mapped twice writes once', async () => {
    const ctx = await setup();
    await createImageStream(ctx, 'ns', { metadata: { name: 'app' } });
    await createImageStreamMapping(ctx, 'ns', mapping('app', 'latest', 1));
    await createImageStreamMapping(ctx, 'ns', mapping('app', 'latest', 1));
    expect(ctx.fakes.streams.commits.map((c) => c.mode)).toEqual(['create', 'tags']);
  });

  it('POST of an existing spec tag is 409; a conditional PUT that lost its race is 409 naming the winner', async () => {
    const ctx = await setup();
    await createImageStreamTag(ctx, 'ns', 'app:a', tagRef({ kind: 'DockerImage', name: 'quay.io/x/y:1' }));
    const exists = await rejection(
      createImageStreamTag(ctx, 'ns', 'app:a', tagRef({ kind: 'DockerImage', name: 'quay.io/x/y:2' })),
    );
    expect([exists.code, exists.reason]).toEqual([409, 'AlreadyExists']);
    ctx.fakes.streams.beforeCommit = () => {
      // A writer in another process moved the tag between this write's read and its commit.
      ctx.fakes.streams.beforeCommit = undefined;
      ctx.fakes.streams.tags.get('ns/app')!.get('a')!.record.version++;
      ctx.fakes.streams.heads.get('ns/app')!.resourceVersion++;
    };
    const lost = await rejection(
      updateImageStreamTag(ctx, 'ns', 'app:a', {
        metadata: { resourceVersion: '1' },
        ...tagRef({ kind: 'DockerImage', name: 'quay.io/x/y:4' }),
      }),
    );
    expect([lost.code, lost.message]).toEqual([
      409,
      'Operation cannot be fulfilled on imagestreamtags.image.openshift.io "app:a": another caller has updated the resource version to 2',
    ]);
  });

  it('delete removes the spec tag and its history; deleting again is 404', async () => {
    const ctx = await setup();
    await createImageStream(ctx, 'ns', { metadata: { name: 'app' } });
    await createImageStreamMapping(ctx, 'ns', mapping('app', 'latest', 1));
    await deleteImageStreamTag(ctx, 'ns', 'app:latest');
    expect((await rejection(getImageStreamTag(ctx, 'ns', 'app:latest'))).code).toBe(404);
    expect((await rejection(deleteImageStreamTag(ctx, 'ns', 'app:latest'))).code).toBe(404);
  });
});

describe('imports and import jobs', () => {
  it('an import writes the tag and the project’s verified image; an unchanged re-import writes nothing', async () => {
    const ctx = await setup();
    ctx.fakes.registry.push('quay.io/x/y', '1', image(1));
    const body = {
      metadata: { name: 'app' },
      spec: {
        import: true,
        images: [{ from: { kind: 'DockerImage', name: 'quay.io/x/y:1' }, to: { name: 'one' } }],
      },
    };
    const first = await createImageStreamImport(ctx, 'ns', body);
    expect(first.status.images?.[0]?.status.status).toBe('Success');
    expect(first.status.import?.status?.tags?.[0]?.items?.[0]?.image).toBe(D(1));
    expect(ctx.fakes.images.projects.get('ns')?.get(D(1))?.source).toBe('import');
    const commits = ctx.fakes.streams.commits.length;
    await createImageStreamImport(ctx, 'ns', body);
    expect(ctx.fakes.streams.commits).toHaveLength(commits);
    expect(ctx.fakes.registry.requests.at(-1)).toBe(`HEAD quay.io/x/y 1`);
  });

  it('an import job imports the tags whose spec asks for it, as the importer', async () => {
    const ctx = await setup();
    ctx.fakes.registry.push('quay.io/x/y', '2', image(2));
    await createImageStreamTag(ctx, 'ns', 'app:two', tagRef({ kind: 'DockerImage', name: 'quay.io/x/y:2' }));
    const head = await ctx.streams.getHead('ns', 'app');
    const job = { namespace: 'ns', name: 'app', uid: head!.uid, tags: ['two'] };
    const system = { ...ctx, caller: undefined, systemActor: 'system:imagestreams:importer' };
    expect(await runImportJob(system, job)).toEqual({ imported: ['two'], wrote: true });
    expect((await getImageStreamTag(ctx, 'ns', 'app:two')).image.metadata.name).toBe(D(2));
    expect(ctx.fakes.streams.writerOf('ns', 'app', 'two')).toBe('system:imagestreams:importer');
    // Up to date now: the same job finds nothing to do.
    expect(await runImportJob(system, job)).toEqual({ imported: [], wrote: false });
  });
});

describe('dry run: everything but the commit', () => {
  it('writes nothing on any stream write path, and answers with what would have been written', async () => {
    const ctx = await setup();
    await createImageStream(ctx, 'ns', { metadata: { name: 'app' } });
    await createImageStreamMapping(ctx, 'ns', mapping('app', 'prod', 1));
    const before = snapshotOf(ctx);
    const commits = ctx.fakes.streams.commits.length;
    const dryRun = { dryRun: true };

    const created: ImageStream = await createImageStream(
      ctx,
      'ns',
      {
        metadata: { name: 'new' },
        spec: { tags: [{ name: 'a', from: { kind: 'ImageStreamTag', name: 'app:prod' } }] },
      },
      dryRun,
    );
    expect(created.status?.tags?.[0]?.items?.[0]?.image).toBe(D(1));
    const put = await updateImageStream(
      ctx,
      'ns',
      'app',
      { metadata: { name: 'app', resourceVersion: '2', labels: { l: 'v' } }, spec: { tags: [] } },
      dryRun,
    );
    expect(put.metadata).toMatchObject({ resourceVersion: '2', labels: { l: 'v' } });
    const patched = await patchImageStream(
      ctx,
      'ns',
      'app',
      'application/merge-patch+json',
      { metadata: { annotations: { a: 'b' } } },
      dryRun,
    );
    expect(patched.metadata.annotations).toEqual({ a: 'b' });
    const alias = await updateImageStreamTag(
      ctx,
      'ns',
      'app:live',
      tagRef({ kind: 'ImageStreamTag', name: 'prod' }),
      dryRun,
    );
    expect([alias.created, alias.result.image.metadata.name]).toEqual([true, D(1)]);
    const newStream = await createImageStreamTag(
      ctx,
      'ns',
      'other:t',
      tagRef({ kind: 'DockerImage', name: 'quay.io/x/y:9' }),
      dryRun,
    );
    expect(newStream.metadata.name).toBe('other:t');
    await deleteImageStreamTag(ctx, 'ns', 'app:prod', dryRun);
    await createImageStreamMapping(ctx, 'ns', mapping('app', 'prod', 3), dryRun);
    const head = await ctx.streams.getHead('ns', 'app');
    const imported = await writeImportOutcomes(
      ctx,
      'ns',
      'app',
      [
        {
          tag: 'imported',
          from: 'quay.io/x/y:4',
          importPolicy: {},
          referencePolicy: { type: 'Source' },
          ok: true,
          dockerImageReference: `quay.io/x/y@${D(4)}`,
          image: D(4),
        },
      ],
      { create: false, expectedUid: head!.uid, dryRun: true },
    );
    expect(imported.wrote).toBe(false);
    ctx.fakes.registry.push('quay.io/x/y', '5', image(5));
    const isi = await createImageStreamImport(
      ctx,
      'ns',
      {
        metadata: { name: 'app' },
        spec: { import: true, images: [{ from: { kind: 'DockerImage', name: 'quay.io/x/y:5' } }] },
      },
      dryRun,
    );
    expect(isi.status.images?.[0]?.status.status).toBe('Success');

    expect(ctx.fakes.streams.commits).toHaveLength(commits);
    expect(snapshotOf(ctx)).toBe(before);
    expect(await ctx.streams.getHead('ns', 'new')).toBeUndefined();
    expect(await ctx.streams.getHead('ns', 'other')).toBeUndefined();
  });

  it('still refuses what the write would refuse: validation, preconditions, a source the caller may not pull', async () => {
    const ctx = await setup();
    await fakeProject(ctx, 'private');
    await fakeProject(ctx, 'mine', { edit: ['dev'] });
    await createImageStream(ctx, 'private', { metadata: { name: 'secret' } });
    await createImageStreamMapping(ctx, 'private', mapping('secret', 'v1', 1));
    const dev = forCaller(ctx, { user: 'dev', groups: [] });
    const commits = ctx.fakes.streams.commits.length;
    const forbidden = await rejection(
      updateImageStreamTag(
        dev,
        'mine',
        'app:stolen',
        tagRef({ kind: 'ImageStreamTag', namespace: 'private', name: 'secret:v1' }),
        { dryRun: true },
      ),
    );
    expect([forbidden.code, forbidden.toStatus().details?.causes?.[0]?.field]).toEqual([
      422,
      'spec.tags[stolen].from',
    ]);
    const stale = await rejection(
      updateImageStream(
        ctx,
        'private',
        'secret',
        { metadata: { name: 'secret', resourceVersion: '1' } },
        { dryRun: true },
      ),
    );
    expect(stale.code).toBe(409);
    expect(ctx.fakes.streams.commits).toHaveLength(commits);
  });
});
