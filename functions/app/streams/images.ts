import type { Image } from '../../core/api-types';
import { notFound, resources } from '../../core/errors';
import { publicImage } from '../../core/imagestream/views';
import type { AppContext } from '../shared/context';

/**
 * GET /images/{digest}: the cluster-scoped Image. Only cluster administrators pass the access check of this route
 * (everyone else sees images through the streams that tag them, in their own projects): the image an import
 * verified for that digest, or for a digest only ever mapped, one project's record of it (docs/access.md).
 */
export async function getImage(ctx: AppContext, digest: string): Promise<Image> {
  const image = await ctx.images.forClusterAdmin(digest);
  if (!image) throw notFound(resources.images, digest);
  return publicImage(image);
}
