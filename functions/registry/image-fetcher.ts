import type { FetchedImage, ImageFetch, ImportMode } from '../app/ports/registry';
import type { Image } from '../core/api-types';
import { isDigest, MAX_CONFIG_BYTES, type RepositoryClient } from './client';
import { RegistryError } from './errors';
import {
  choosePlatform,
  imageFromList,
  imageFromManifest,
  imageManifestParts,
  listEntries,
} from './image-metadata';
import { isManifestList } from './media-types';

export type { FetchedImage, ImportMode };

/** One image to fetch from `repo` (functions/app/ports/registry.ts ImageFetch says what each field means). */
export interface FetchImageRequest extends ImageFetch {
  repo: RepositoryClient;
}

/**
 * One image import (docs/semantics.md#import-by-tag-or-digest): resolve a tag with HEAD, then fetch only what is not already known by digest,
 * verifying every body against its digest.
 */
export async function fetchImage(req: FetchImageRequest): Promise<FetchedImage> {
  const { repo } = req;
  const remoteDigest = isDigest(req.reference)
    ? req.reference
    : req.recheck
      ? (await repo.headManifest(req.reference, req.deadline)).digest
      : (await repo.getManifest(req.reference, req.deadline)).digest;
  const newImages: Image[] = [];
  const ref = (digest: string) => `${req.repositoryAsWritten}@${digest}`;
  const knownImage = async (digest: string) => (req.includeManifest ? undefined : req.known(digest));

  const single = async (digest: string): Promise<Image> => {
    const known = await knownImage(digest);
    if (known) return { ...known, dockerImageReference: ref(digest) };
    const m = await repo.getManifest(digest, req.deadline);
    if (isManifestList(m.mediaType))
      throw new RegistryError(
        'unsupported',
        `${repo.name}@${digest}: a manifest list inside a manifest list`,
      );
    const where = `${repo.name}@${digest}`;
    const { config } = imageManifestParts(m.json, m.mediaType, where);
    const configBytes = await repo.getBlob(config, MAX_CONFIG_BYTES, req.deadline);
    const image = imageFromManifest({
      digest,
      mediaType: m.mediaType,
      manifest: m.json,
      config: configBytes,
      reference: ref(digest),
      where,
    });
    newImages.push(image);
    return req.includeManifest
      ? {
          ...image,
          dockerImageManifest: m.raw.toString('utf8'),
          dockerImageConfig: configBytes.toString('utf8'),
        }
      : image;
  };

  let top = await knownImage(remoteDigest);
  let raw: string | undefined;
  if (!top) {
    const m = await repo.getManifest(remoteDigest, req.deadline);
    if (!isManifestList(m.mediaType)) {
      const image = await single(remoteDigest);
      return { remoteDigest, image, newImages };
    }
    raw = m.raw.toString('utf8');
    top = imageFromList({
      digest: remoteDigest,
      mediaType: m.mediaType,
      entries: listEntries(m.json, m.mediaType, `${repo.name}@${remoteDigest}`),
      reference: ref(remoteDigest),
      now: req.now,
    });
    // Stored in Legacy mode too: it maps the list digest to its platforms, so a re-check needs no GET.
    newImages.push(top);
  }
  if (!top.dockerImageManifests?.length) {
    if (top.dockerImageManifestMediaType && isManifestList(top.dockerImageManifestMediaType))
      throw new RegistryError('integrity', `${repo.name}@${remoteDigest}: no manifests in manifest list`);
    return { remoteDigest, image: { ...top, dockerImageReference: ref(remoteDigest) }, newImages };
  }
  const entries = top.dockerImageManifests.map((e) => ({
    digest: e.digest,
    mediaType: e.mediaType,
    size: e.manifestSize,
    architecture: e.architecture,
    os: e.os,
    ...(e.variant ? { variant: e.variant } : {}),
  }));
  if (req.importMode === 'Legacy') {
    const chosen = choosePlatform(entries, req.prefer, `${repo.name}@${remoteDigest}`);
    return { remoteDigest, image: await single(chosen.digest), newImages };
  }
  const manifests: Image[] = [];
  for (const e of entries) manifests.push(await single(e.digest));
  const listImage = { ...top, dockerImageReference: ref(remoteDigest) };
  return {
    remoteDigest,
    image: raw && req.includeManifest ? { ...listImage, dockerImageManifest: raw } : listImage,
    manifests,
    newImages,
  };
}
