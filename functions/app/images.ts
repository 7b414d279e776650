import type { Image } from '../core/api-types';
import { notFound, resources } from '../core/errors';
import { publicImage } from '../core/imagestream/views';
import type { AppContext } from './context';

/**
 * GET /images/{digest}: the cluster-scoped Image. Only cluster administrators pass the access check of this route
 * (reference §7.4, T23: everyone else sees images through the streams that tag them). Images are shared by digest
 * across streams and namespaces.
 */
export async function getImage(ctx: AppContext, digest: string): Promise<Image> {
  const image = await ctx.images.get(digest);
  if (!image) throw notFound(resources.images, digest);
  return publicImage(image);
}
