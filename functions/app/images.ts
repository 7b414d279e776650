import type { Image } from '../core/api-types';
import { forbidden, notFound, resources } from '../core/errors';
import { publicImage } from '../core/imagestream/views';
import type { AppContext, Identity } from './context';

/** Until roles exist (access-control issue), cluster administrators are the members of these groups. */
const ADMIN_GROUPS = ['system:cluster-admins', 'system:masters'];

/**
 * GET /images/{digest}: the cluster-scoped Image, for administrators only (reference §7.4: everyone else sees
 * images through the streams that tag them). Images are shared by digest across streams and namespaces.
 */
export async function getImage(ctx: AppContext, digest: string, identity?: Identity): Promise<Image> {
  if (!identity?.groups.some((g) => ADMIN_GROUPS.includes(g)))
    throw forbidden(
      `images.image.openshift.io "${digest}" is forbidden: User "${identity?.user ?? 'system:anonymous'}" cannot get resource "images" in API group "image.openshift.io" at the cluster scope`,
    );
  const image = await ctx.images.get(digest);
  if (!image) throw notFound(resources.images, digest);
  return publicImage(image);
}
