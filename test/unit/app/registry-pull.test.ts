import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  authorizePull,
  type PullContext,
  pullBlob,
  pullManifest,
  statBlob,
  streamTags,
} from '../../../functions/app/registry-api/pull';
import { createImageStreamMapping } from '../../../functions/app/streams/imagestreammappings';
import { createImageStream } from '../../../functions/app/streams/imagestreams';
import { DistributionError } from '../../../functions/core/registry-api/protocol';
import { FakeManifests, FakePullThrough, fakeContext, fakeProject } from '../../support/fakes';

/**
 * Pulling through a stream over the in-memory ports: which digest a tag serves, which digests and blobs a stream
 * may serve at all, what is kept, and how a blob that does not match its digest ends.
 */
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const REPO = { namespace: 'ns', stream: 'app' };

function image(layer: Buffer) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', layer: sha(layer) }));
  const raw = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length },
      ],
    }),
  );
  return { raw, digest: sha(raw), config, layer };
}

async function setup() {
  const ctx = fakeContext();
  await fakeProject(ctx, 'ns', { 'system:image-puller': ['pat'] });
  const upstream = new FakePullThrough();
  const manifests = new FakeManifests();
  const pull: PullContext = {
    ...ctx,
    manifests,
    pullThrough: upstream,
    upstreamTimeoutMs: 5_000,
    log: () => undefined,
  };
  const one = image(Buffer.from('layer one'));
  const two = image(Buffer.from('layer two'));
  for (const i of [one, two]) {
    upstream.manifests.set(i.digest, {
      digest: i.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      raw: i.raw,
    });
    upstream.blobs.set(sha(i.config), i.config);
    upstream.blobs.set(sha(i.layer), i.layer);
  }
  const tag = async (digest: string) =>
    createImageStreamMapping(ctx, 'ns', {
      metadata: { name: 'app' },
      tag: 'latest',
      image: { metadata: { name: digest }, dockerImageReference: `quay.io/team/app@${digest}` },
    });
  await createImageStream(ctx, 'ns', { metadata: { name: 'app' } });
  await tag(one.digest);
  return { ctx, pull, upstream, manifests, one, two, tag };
}

const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof DistributionError)) throw new Error(`expected a DistributionError, got ${String(e)}`);
  return e;
};

const collect = async (body: AsyncIterable<Buffer>) => {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
};

describe('pulling through a stream', () => {
  it('a tag serves the digest it points at, fetched by digest from its recorded repository once, then kept', async () => {
    const { pull, upstream, one } = await setup();
    const m = await pullManifest(pull, REPO, 'latest', undefined);
    expect(m.digest).toBe(one.digest);
    expect(m.raw.equals(one.raw)).toBe(true);
    expect(upstream.requests).toEqual([`manifest quay.io/team/app@${one.digest}`]);
    await pullManifest(pull, REPO, 'latest', undefined);
    await pullManifest(pull, REPO, one.digest, undefined);
    expect(upstream.requests).toHaveLength(1);
  });

  it('a moved tag serves its new digest; the old one stays pullable by digest (history); others are unknown', async () => {
    const { pull, one, two, tag } = await setup();
    await tag(two.digest);
    expect((await pullManifest(pull, REPO, 'latest', undefined)).digest).toBe(two.digest);
    expect((await pullManifest(pull, REPO, one.digest, undefined)).digest).toBe(one.digest);
    const other = sha('never referenced');
    expect((await refusal(pullManifest(pull, REPO, other, undefined))).code).toBe('MANIFEST_UNKNOWN');
    expect((await refusal(pullManifest(pull, REPO, 'nope', undefined))).code).toBe('MANIFEST_UNKNOWN');
    expect(
      (await refusal(pullManifest(pull, { namespace: 'ns', stream: 'none' }, 'latest', undefined))).code,
    ).toBe('NAME_UNKNOWN');
  });

  it('serves blobs a referenced manifest lists, verified; any other blob is unknown', async () => {
    const { pull, upstream, one, two } = await setup();
    const source = await pullBlob(pull, REPO, sha(one.layer));
    if (source.kind !== 'stream') throw new Error('expected a stream');
    expect((await collect(source.body)).equals(one.layer)).toBe(true);
    expect(await statBlob(pull, REPO, sha(one.config))).toEqual({ size: one.config.length });
    // Image two exists upstream, but the stream never referenced it.
    expect((await refusal(pullBlob(pull, REPO, sha(two.layer)))).code).toBe('BLOB_UNKNOWN');
    expect(upstream.requests.filter((r) => r.startsWith('blob'))).toEqual([
      `blob quay.io/team/app@${sha(one.layer)}`,
    ]);
  });

  it('passes a redirect on, and cuts a body that does not match its digest before its last chunk', async () => {
    const { pull, upstream, one } = await setup();
    upstream.blobs.set(sha(one.layer), { redirect: 'https://storage.example/blob?sig=x' });
    expect(await pullBlob(pull, REPO, sha(one.layer))).toEqual({
      kind: 'redirect',
      location: 'https://storage.example/blob?sig=x',
    });
    upstream.blobs.set(sha(one.config), Buffer.from('tampered bytes of the config'));
    const source = await pullBlob(pull, REPO, sha(one.config));
    if (source.kind !== 'stream') throw new Error('expected a stream');
    const received: Buffer[] = [];
    await expect(
      (async () => {
        for await (const c of source.body) received.push(c);
      })(),
    ).rejects.toThrow(/does not match/);
    expect(Buffer.concat(received).length).toBeLessThan('tampered bytes of the config'.length);
  });

  it('pull needs get imagestreams/layers in the namespace; tags/list lists tags with an image', async () => {
    const { pull } = await setup();
    await authorizePull(pull, { user: 'pat', groups: ['system:authenticated'] }, REPO);
    const denied = await refusal(
      authorizePull(pull, { user: 'sam', groups: ['system:authenticated'] }, REPO),
    );
    expect([denied.code, denied.status]).toEqual(['DENIED', 403]);
    expect(await streamTags(pull, REPO)).toEqual(['latest']);
  });
});
