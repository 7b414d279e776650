import { IMAGE_API_VERSION, type ImageStreamTag, type List, type TagReference } from '../../core/api-types';
import {
  alreadyExists,
  badRequest,
  conflict,
  FieldError,
  invalid,
  notFound,
  resources,
  type Status,
  serverTimeout,
  successStatus,
} from '../../core/errors';
import { emptyTagRecord, isVacant, type StreamHead, type TagRecord } from '../../core/imagestream/model';
import { applySpecUpdate, normalizeTagReference, trackedSourceTag } from '../../core/imagestream/spec-rules';
import {
  MAX_TAG_NAME_LENGTH,
  streamPathFits,
  TAG_NAME,
  validateObjectMeta,
  validateSpecTag,
  validateStreamName,
} from '../../core/imagestream/validation';
import { toImageStreamTag } from '../../core/imagestream/views';
import { parseLabelSelector } from '../../core/label-selector';
import { scopeOf } from '../ports/images';
import type { AppContext } from '../shared/context';
import { checkKind, decodeImageStreamTag } from '../shared/decode';
import { decodeContinue, encodeContinue, MAX_PAGE, parseLimit } from '../shared/paging';
import { checkNamespace, requireNamespace, splitTagName } from '../shared/requests';
import { objectVersion } from '../shared/resource-versions';
import { guaranteedUpdate, type WriteOptions } from './guaranteed-update';

function istagNotFound(name: string) {
  return notFound(resources.imagestreamtags, name);
}

/**
 * GET: one BatchGetItem for head and tag, then the project's own record of the image (cached in process). A tag
 * whose project has no record of its image (data written before images were kept per project) shows the digest
 * and pull spec only: another project's metadata is never a stand-in.
 */
export async function getImageStreamTag(ctx: AppContext, ns: string, name: string): Promise<ImageStreamTag> {
  requireNamespace(ns);
  const { stream, tag } = splitTagName(name);
  const { head, tags } = await ctx.streams.getHeadAndTags(ns, stream, [tag]);
  if (!head) throw notFound(resources.imagestreams, stream);
  const record = tags.get(tag);
  const top = record?.recent[0];
  if (!record || !top?.image) throw istagNotFound(name);
  const own = await ctx.images.seenBy(scopeOf(head), top.image);
  return toImageStreamTag(head, record, own?.image, ctx.rules);
}

/** Stream heads of a namespace in name order, starting with `first` (inclusive) or after `after`. */
async function* headsFrom(ctx: AppContext, ns: string, cursor: { stream: string; tag?: string } | undefined) {
  let after = cursor?.stream;
  if (cursor?.tag !== undefined) {
    const h = await ctx.streams.getHead(ns, cursor.stream);
    if (h) yield h;
  }
  for (;;) {
    const page = await ctx.streams.listHeads(ns, { limit: 50, ...(after ? { after } : {}) });
    for (const h of page.heads) yield h;
    if (!page.more || page.heads.length === 0) return;
    after = page.heads.at(-1)!.name;
  }
}

/** LIST: one entry per tag that resolves to an image, streams in name order then tags in name order. */
export async function listImageStreamTags(
  ctx: AppContext,
  ns: string,
  query: URLSearchParams,
): Promise<List<ImageStreamTag>> {
  requireNamespace(ns);
  const matches = parseLabelSelector(query.get('labelSelector') ?? '');
  const limit = Math.min(parseLimit(query.get('limit')) ?? MAX_PAGE, MAX_PAGE);
  // A token names where the previous page stopped; one naming a stream or tag no name can be is forged (400).
  const token = decodeContinue(query.get('continue'), (t): t is { stream: string; tag?: string } => {
    const { stream, tag } = (t ?? {}) as { stream?: unknown; tag?: unknown };
    return (
      typeof stream === 'string' &&
      streamPathFits(ns, stream) &&
      (tag === undefined || (typeof tag === 'string' && Buffer.byteLength(tag) <= MAX_TAG_NAME_LENGTH))
    );
  });
  const items: ImageStreamTag[] = [];
  let next: { stream: string; tag?: string } | undefined;
  outer: for await (const head of headsFrom(ctx, ns, token)) {
    if (!matches(head.labels)) continue;
    let after = token?.stream === head.name ? token.tag : undefined;
    for (;;) {
      const { tags, last } = await ctx.streams.queryTags(head, {
        limit: 100,
        ...(after !== undefined ? { after } : {}),
      });
      const resolvable = tags.filter((t) => t.recent[0]?.image);
      const images = await ctx.images.seenByMany(
        scopeOf(head),
        resolvable.map((t) => t.recent[0]!.image),
      );
      for (const t of resolvable) {
        if (items.length >= limit) {
          next = { stream: head.name, tag: after ?? '' };
          break outer;
        }
        items.push(toImageStreamTag(head, t, images.get(t.recent[0]!.image)?.image, ctx.rules));
        after = t.name;
      }
      if (last === undefined) break;
      after = last;
    }
  }
  return {
    kind: 'ImageStreamTagList',
    apiVersion: IMAGE_API_VERSION,
    metadata: next ? { continue: encodeContinue(next) } : {},
    items,
  };
}

/** The ImageStreamTag a write answers with (the image part stays empty until the tag resolves to one). */
async function writeResult(ctx: AppContext, head: StreamHead, tag: TagRecord): Promise<ImageStreamTag> {
  const digest = tag.recent[0]?.image;
  const own = digest ? await ctx.images.seenBy(scopeOf(head), digest) : undefined;
  return toImageStreamTag(head, tag, own?.image, ctx.rules);
}

interface TagWrite {
  ns: string;
  stream: string;
  tag: string;
  name: string;
  /** The new spec tag; undefined keeps the stored one (annotation-only update). */
  spec: TagReference | undefined;
  mode: 'create' | 'update';
  expectedRv?: number;
}

function decodeTagWrite(
  ctx: AppContext,
  ns: string,
  name: string,
  rawBody: unknown,
  mode: 'create' | 'update',
): TagWrite {
  requireNamespace(ns);
  const { stream, tag } = splitTagName(name);
  const body = decodeImageStreamTag(rawBody);
  checkKind(body, 'ImageStreamTag');
  checkNamespace(body.metadata, ns);
  if (body.metadata.name !== undefined && body.metadata.name !== name)
    throw badRequest(
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
    );
  // The stream is created when missing, so its name passes the rules POST imagestreams applies.
  const errors: FieldError[] = [...validateStreamName(ns, stream), ...validateObjectMeta(body.metadata)];
  // With a spec tag the tag name is checked as tag.name below.
  if (!body.tag && !TAG_NAME.test(tag))
    errors.push(FieldError.invalid('metadata.name', tag, `a tag name must match ${TAG_NAME.source}`));
  let spec: TagReference | undefined;
  if (body.tag) {
    const requested = { ...body.tag, name: tag } as TagReference;
    errors.push(...validateSpecTag(requested, 'tag'));
    const metaAnn = body.metadata.annotations ?? null;
    const tagAnn = requested.annotations ?? null;
    if (tagAnn && JSON.stringify(tagAnn) !== JSON.stringify(metaAnn ?? {}))
      errors.push(
        FieldError.invalid(
          'tag.annotations',
          tagAnn,
          'tag annotations must not be provided or must be equal to the object meta annotations',
        ),
      );
    // The spec tag's annotations are the istag's metadata.annotations (docs/semantics.md#istag-annotations).
    spec = normalizeTagReference({ ...requested, annotations: metaAnn }, ctx.rules);
  } else if (mode === 'create') {
    errors.push(FieldError.required('tag'));
  }
  if (errors.length) throw invalid('ImageStreamTag', 'image.openshift.io', name, errors);
  const rv = body.metadata.resourceVersion;
  return { ns, stream, tag, name, spec, mode, ...(rv ? { expectedRv: Number(rv) } : {}) };
}

async function writeTag(
  ctx: AppContext,
  w: TagWrite,
  annotationsOnly: Record<string, string> | null | undefined,
  opts: WriteOptions,
): Promise<{ result: ImageStreamTag; created: boolean }> {
  let existing: TagReference | null = null;
  const expectedRv =
    w.expectedRv === undefined
      ? undefined
      : await objectVersion(ctx, 'imagestreamtags', w.ns, w.name, w.expectedRv);
  const { after } = await guaranteedUpdate(ctx, {
    ns: w.ns,
    name: w.stream,
    read: {
      kind: 'tags',
      tags: [w.tag],
      sources: w.spec ? [trackedSourceTag(w.spec, w.ns, w.stream)].filter((t): t is string => !!t) : [],
    },
    missing: 'create',
    precondition: (current) => {
      if (expectedRv === undefined) return;
      if (!current) throw notFound(resources.imagestreams, w.stream);
      if (current.head.resourceVersion !== expectedRv)
        throw conflict(
          resources.imagestreamtags,
          w.name,
          `another caller has updated the resource version to ${current.head.resourceVersion}`,
        );
    },
    strategy: (state, { creating }) => {
      existing = state.tags.get(w.tag)?.spec ?? null;
      if (w.mode === 'create' && existing) throw alreadyExists(resources.imagestreamtag, w.name);
      if (!w.spec && !existing)
        throw badRequest(
          `imagestreamtag ${w.tag} is not a spec tag in imagestream ${w.ns}/${w.stream}, cannot be updated`,
        );
      const spec = w.spec ?? { ...(existing as TagReference), annotations: annotationsOnly ?? null };
      const change = applySpecUpdate(
        state,
        { tags: new Map([[w.tag, spec]]) },
        { create: false, newTid: ctx.newTid },
      );
      if (creating) {
        // A stream created by an istag write starts at generation 1 like any created stream.
        state.head.generation = 1;
        for (const t of state.tags.values()) if (t.spec) t.spec.generation = 1;
      }
      return change;
    },
    mode: 'tags',
    invalid: { kind: 'ImageStreamTag', name: w.name },
    queueKey: `${w.ns}/${w.stream}`,
    ...(w.expectedRv !== undefined
      ? { retry: false as const, conflict: () => tagConflict(ctx, w) }
      : { retry: { onGiveUp: () => serverTimeout(resources.imagestreamtags, 'update') } }),
    dryRun: !!opts.dryRun,
  });
  return { result: await writeResult(ctx, after.head, after.tags.get(w.tag)!), created: !existing };
}

/** A conditional tag write lost its race: OpenShift's 409 names the version that won. */
async function tagConflict(ctx: AppContext, w: TagWrite) {
  const head = await ctx.streams.getHead(w.ns, w.stream);
  if (!head) return notFound(resources.imagestreams, w.stream);
  return conflict(
    resources.imagestreamtags,
    w.name,
    `another caller has updated the resource version to ${head.resourceVersion}`,
  );
}

/** POST imagestreamtags: 409 AlreadyExists when the spec tag exists; the stream is created when missing. */
export async function createImageStreamTag(
  ctx: AppContext,
  ns: string,
  name: string,
  rawBody: unknown,
  opts: WriteOptions = {},
) {
  const w = decodeTagWrite(ctx, ns, name, rawBody, 'create');
  return (await writeTag(ctx, w, undefined, opts)).result;
}

/** PUT imagestreamtags: upsert (201 when the spec tag is new); a resourceVersion makes it conditional. */
export async function updateImageStreamTag(
  ctx: AppContext,
  ns: string,
  name: string,
  rawBody: unknown,
  opts: WriteOptions = {},
) {
  const w = decodeTagWrite(ctx, ns, name, rawBody, 'update');
  const body = decodeImageStreamTag(rawBody);
  return writeTag(ctx, w, body.metadata.annotations, opts);
}

/**
 * DELETE imagestreamtags: removes the spec tag and its whole history (docs/semantics.md#tag-deletion). The tag
 * gets a new incarnation, so its old history is unreachable at once and swept afterwards.
 */
export async function deleteImageStreamTag(
  ctx: AppContext,
  ns: string,
  name: string,
  opts: WriteOptions = {},
): Promise<Status> {
  requireNamespace(ns);
  const { stream, tag } = splitTagName(name);
  let deadTid: string | undefined;
  await guaranteedUpdate(ctx, {
    ns,
    name: stream,
    read: { kind: 'tags', tags: [tag] },
    missing: 'not-found',
    precondition: (current) => {
      const record = current?.tags.get(tag);
      if (
        !current ||
        !record ||
        (record.spec === null && record.recent.length === 0 && record.conditions.length === 0)
      )
        throw notFound(resources.imagestreamtags, name);
    },
    strategy: (state) => {
      const { specChanged } = applySpecUpdate(
        state,
        { tags: new Map([[tag, null]]) },
        { create: false, newTid: ctx.newTid },
      );
      const rec = state.tags.get(tag)!;
      deadTid = rec.tid;
      // A new incarnation: the old history is unreachable at once and swept later; aliases keep pointing here.
      const fresh = emptyTagRecord(tag, ctx.newTid());
      fresh.aliases = rec.aliases;
      fresh.version = rec.version;
      state.tags.set(tag, fresh);
      if (isVacant(fresh)) state.tags.delete(tag);
      return { changedTags: [], specChanged };
    },
    mode: 'tags',
    queueKey: `${ns}/${stream}`,
    retry: { onGiveUp: () => serverTimeout(resources.imagestreamtags, 'delete') },
    dryRun: !!opts.dryRun,
  });
  // The old history is unreachable already; removing it is housekeeping with a bounded budget.
  if (deadTid && !opts.dryRun) await ctx.streams.sweepTagIncarnation(ns, stream, deadTid).catch(() => false);
  return successStatus({ name, group: 'image.openshift.io', kind: 'imagestreamtags' });
}
