import type { ImageStreamImage } from '../../core/api-types';
import { badRequest, notFound, resources } from '../../core/errors';
import { parseImageStreamImageName } from '../../core/imagestream/names';
import { toImageStreamImage } from '../../core/imagestream/views';
import { scopeOf } from '../ports/images';
import type { AppContext } from '../shared/context';
import { requireNamespace } from '../shared/requests';

/**
 * GET imagestreamimages/<stream>@<id>: only images some history entry of this stream references are visible
 * (docs/semantics.md#imagestreamimages, docs/semantics.md#images-through-streams); `id` may be a unique prefix of the digest.
 */
export async function getImageStreamImage(
  ctx: AppContext,
  ns: string,
  name: string,
): Promise<ImageStreamImage> {
  requireNamespace(ns);
  const parsed = parseImageStreamImageName(name);
  if (!parsed) throw badRequest('ImageStreamImages must be retrieved with <name>@<id>');
  const head = await ctx.streams.getHead(ns, parsed.stream);
  if (!head) throw notFound(resources.imagestreams, parsed.stream);
  const [match] = await ctx.streams.findImages(head, parsed.id, 1);
  if (!match) throw notFound(resources.imagestreamimage, parsed.id);
  // Only the project's own record: a digest is no key to what another project knows about it.
  const own = await ctx.images.seenBy(scopeOf(head), match.image);
  const image = own?.image ?? {
    metadata: { name: match.image },
    dockerImageReference: match.dockerImageReference,
  };
  return toImageStreamImage(head, parsed.id, image);
}
