import type { Image } from '../../core/api-types';
import { FieldError, invalid, notFound, resources, type Status, successStatus } from '../../core/errors';
import { addTagEvent } from '../../core/imagestream/history';
import { emptyTagRecord } from '../../core/imagestream/model';
import { TAG_NAME, validateImageReference, validateStreamName } from '../../core/imagestream/validation';
import { statusRepository } from '../../core/imagestream/views';
import { type AppContext, actorOf } from '../shared/context';
import { decodeImageStreamMapping, decodeNamespaced } from '../shared/decode';
import { guaranteedUpdate, UNCHANGED, type WriteOptions } from './guaranteed-update';

/** `<algorithm>:<hex>`, at most a sha512's 128 digits (the digest is a table key). */
const DIGEST = /^[A-Za-z][A-Za-z0-9]{0,31}(?:[-_+.][A-Za-z][A-Za-z0-9]*){0,3}:[0-9a-fA-F]{32,128}$/;
const MAX_IMAGE_BYTES = 300 * 1024;
const MANAGED = 'openshift.io/image.managed';

/**
 * POST imagestreammappings: register an Image with the project (unless the project already has one for that
 * digest, which is reused) and push it onto a tag's history, propagating to aliases. How a push, or a test, puts
 * an image into a stream without a registry. Concurrent mappings to one tag all land, in commit order. What the
 * caller sends is never verified, so it stays in the caller's project (docs/access.md, "Images and projects").
 */
export async function createImageStreamMapping(
  ctx: AppContext,
  ns: string,
  rawBody: unknown,
  opts: WriteOptions = {},
): Promise<Status> {
  const body = decodeNamespaced(ns, rawBody, decodeImageStreamMapping, 'ImageStreamMapping');
  const name = body.metadata.name ?? '';
  const tag = body.tag || 'latest';
  const errors: FieldError[] = [...validateStreamName(ns, name)];
  if (!TAG_NAME.test(tag))
    errors.push(FieldError.invalid('tag', tag, `a tag name must match ${TAG_NAME.source}`));
  const raw = body.image;
  if (!raw) errors.push(FieldError.required('image'));
  const digest = raw?.metadata.name ?? '';
  if (raw) {
    if (!digest) errors.push(FieldError.required('image.metadata.name'));
    else if (!DIGEST.test(digest))
      errors.push(
        FieldError.invalid('image.metadata.name', digest, 'must be a digest of the form <algorithm>:<hex>'),
      );
    const ref =
      raw.dockerImageReference ||
      (ctx.rules.internalRegistryHostname && digest
        ? `${ctx.rules.internalRegistryHostname}/${ns}/${name}@${digest}`
        : '');
    raw.dockerImageReference = ref;
    errors.push(...validateImageReference(ref, 'image.dockerImageReference'));
    if (raw.dockerImageManifests?.length && raw.dockerImageLayers?.length)
      errors.push(
        FieldError.forbidden(
          'image.dockerImageLayers',
          'dockerImageLayers should not be set when dockerImageManifests is set',
        ),
      );
  }
  if (errors.length) throw invalid('ImageStreamMapping', 'image.openshift.io', name, errors);

  // Raw manifests and signatures are not kept: images are metadata, and a record must stay far below 400 KB.
  const {
    dockerImageManifest: _m,
    dockerImageConfig: _c,
    signatures: _s,
    dockerImageSignatures: _d,
    ...kept
  } = raw as Image;
  const image: Image = {
    ...kept,
    kind: 'Image',
    apiVersion: 'image.openshift.io/v1',
    metadata: {
      ...kept.metadata,
      name: digest,
      creationTimestamp: kept.metadata.creationTimestamp ?? ctx.clock(),
    },
  };
  if (Buffer.byteLength(JSON.stringify(image)) > MAX_IMAGE_BYTES)
    throw invalid('ImageStreamMapping', 'image.openshift.io', name, [
      FieldError.tooLong('image', MAX_IMAGE_BYTES),
    ]);

  const head0 = await ctx.streams.getHead(ns, name);
  if (!head0) throw notFound(resources.imagestreams, name);
  // The project's own record of the digest wins (an import's verified metadata, or whatever was first); a digest
  // the project has never seen gets this mapping's metadata, whatever other projects know about it. A dry run
  // only reads which of the two it would be.
  const { record: own, existed } = opts.dryRun
    ? await ctx.images
        .current(ns, digest)
        .then((r) => ({ record: r ?? { image, source: 'mapping' as const }, existed: !!r }))
    : await ctx.images.recordMapping(ns, image, actorOf(ctx));
  const stored = own.image;

  await guaranteedUpdate(ctx, {
    ns,
    name,
    read: { kind: 'tags', tags: [tag] },
    missing: 'not-found',
    strategy: (state, { now }) => {
      const record = state.tags.get(tag) ?? emptyTagRecord(tag, ctx.newTid());
      state.tags.set(tag, record);
      const managed = existed && stored.metadata.annotations?.[MANAGED] === 'true';
      const repo = statusRepository(state.head, ctx.rules).internal;
      const ref =
        managed && repo ? `${repo}@${digest}` : stored.dockerImageReference || image.dockerImageReference;
      const pushed = addTagEvent(record, {
        created: now,
        dockerImageReference: ref,
        image: digest,
        generation: state.head.generation,
      });
      return pushed === 'unchanged' ? UNCHANGED : { changedTags: [], specChanged: false };
    },
    mode: 'tags',
    queueKey: `${ns}/${name}`,
    dryRun: !!opts.dryRun,
  });
  return successStatus();
}
