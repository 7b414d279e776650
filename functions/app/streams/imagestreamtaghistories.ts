import { EXTENSION_API_VERSION, type ImageStreamTagHistory } from '../../core/api-types';
import { notFound, resources } from '../../core/errors';
import { type AppContext, SYSTEM_ACTORS } from '../shared/context';
import { decodeContinue, encodeContinue, MAX_PAGE, parseLimit } from '../shared/paging';
import { requireNamespace, splitTagName } from '../shared/requests';

/**
 * GET imagestreams.io/v1 imagestreamtaghistories/<stream>:<tag>: a tag's whole history, newest first, in pages
 * (the stream view shows only the newest events of each tag). Each entry is an OpenShift TagEvent plus `by`, the
 * user or system actor whose write recorded it.
 */
export async function getTagHistory(
  ctx: AppContext,
  ns: string,
  name: string,
  query: URLSearchParams,
): Promise<ImageStreamTagHistory> {
  requireNamespace(ns);
  const { stream, tag } = splitTagName(name);
  const limit = Math.min(parseLimit(query.get('limit')) ?? MAX_PAGE, MAX_PAGE);
  const token = decodeContinue(
    query.get('continue'),
    (t): t is { before: number; tid: string } =>
      typeof (t as { before?: unknown })?.before === 'number' &&
      typeof (t as { tid?: unknown })?.tid === 'string',
  );
  const { head, tags } = await ctx.streams.getHeadAndTags(ns, stream, [tag]);
  if (!head) throw notFound(resources.imagestreams, stream);
  const record = tags.get(tag);
  if (!record || record.topSeq === 0) throw notFound(resources.imagestreamtags, name);
  // A token from a deleted-and-recreated tag starts over rather than mixing two histories.
  const before = token && token.tid === record.tid ? token.before : undefined;
  const { events } = await ctx.streams.history(head, record, {
    limit,
    ...(before !== undefined ? { beforeSeq: before } : {}),
  });
  const lastSeq = events.at(-1)?.seq;
  return {
    kind: 'ImageStreamTagHistory',
    apiVersion: EXTENSION_API_VERSION,
    metadata: {
      name,
      namespace: ns,
      resourceVersion: String(head.resourceVersion),
      ...(lastSeq !== undefined && lastSeq > 1
        ? { continue: encodeContinue({ before: lastSeq, tid: record.tid }) }
        : {}),
    },
    total: record.topSeq,
    // Who wrote each entry; entries recorded before the audit existed name the controller, as events do.
    items: events.map((e) => ({ ...e.event, by: e.by ?? SYSTEM_ACTORS.controller })),
  };
}
