import { conflict, invalid, notFound, resources, type StatusError, serverTimeout } from '../../core/errors';
import {
  cloneState,
  emptyTagRecord,
  type StreamHead,
  type StreamState,
  type TagRecord,
} from '../../core/imagestream/model';
import { resolveChangedTags, type TagSourceResolver } from '../../core/imagestream/resolution';
import { relatedTags, topsOf, updateTrackingTags } from '../../core/imagestream/spec-rules';
import { verifyTagSources } from '../access/access';
import { type ProjectImage, scopeOf } from '../ports/images';
import { type CommitMode, ConcurrentWriteError } from '../ports/streams';
import { type AppContext, actorOf } from '../shared/context';

/** Store-backed implementation of the rules' view of other streams. */
export function storeResolver(ctx: AppContext): TagSourceResolver {
  return {
    async latestTaggedImage(ns, stream, tag) {
      const { head, tags } = await ctx.streams.getHeadAndTags(ns, stream, [tag]);
      if (!head) return null;
      return tags.get(tag)?.recent[0];
    },
    async resolveImageId(ns, stream, id) {
      const head = await ctx.streams.getHead(ns, stream);
      if (!head) return null;
      return ctx.streams.findImages(head, id, 2);
    },
  };
}

/**
 * Loads the head and the given tags plus every tag a write to them can touch: the tags they track and, transitively,
 * the tags tracking them. Returns undefined when the stream does not exist.
 */
export async function loadForTagWrite(
  ctx: AppContext,
  ns: string,
  name: string,
  tagNames: string[],
  extraSources: string[] = [],
): Promise<StreamState | undefined> {
  const { head, tags } = await ctx.streams.getHeadAndTags(ns, name, [...tagNames, ...extraSources]);
  if (!head) return undefined;
  await loadRelated(ctx, head, tags);
  return { head, tags, complete: false };
}

async function loadRelated(ctx: AppContext, head: StreamHead, tags: Map<string, TagRecord>): Promise<void> {
  for (let round = 0; round < 64; round++) {
    const missing = [...relatedTags(tags.values(), head.namespace, head.name)].filter((t) => !tags.has(t));
    if (missing.length === 0) return;
    const more = await ctx.streams.getTags(head, missing);
    for (const t of missing) tags.set(t, more.get(t) ?? emptyTagRecord(t, ctx.newTid()));
  }
}

/**
 * The tail every spec write shares (reference §12 Q1 order): check the caller may pull from other projects'
 * sources (T22; before anything of those sources is read), resolve new or re-pointed tags, propagate to aliases,
 * and report problems as one 422. Then the images those tags now point at are made this project's own (see
 * {@link shareTaggedImages}); the result is what the commit needs for manifest lists' children.
 */
export async function resolveAndTrack(
  ctx: AppContext,
  before: StreamState | undefined,
  after: StreamState,
  changedTags: string[],
  now: string,
  invalidKind = 'ImageStream',
  invalidName = after.head.name,
): Promise<{ childImages: Map<string, string[]> }> {
  const forbidden = await verifyTagSources(ctx, after, changedTags);
  if (forbidden.length > 0) throw invalid(invalidKind, 'image.openshift.io', invalidName, forbidden);
  const errors = await resolveChangedTags(after, changedTags, storeResolver(ctx), ctx.rules, now);
  if (errors.length > 0) throw invalid(invalidKind, 'image.openshift.io', invalidName, errors);
  const tops = before ? topsOf(before) : new Map();
  updateTrackingTags(after, tops);
  return { childImages: await shareTaggedImages(ctx, after, changedTags) };
}

/**
 * Tags that now point at another stream's image. From another project, this project gets a copy of that
 * project's records of the image (and of a manifest list's children): the caller may pull there (checked
 * above), and a project reads only its own records. From any stream, a manifest list's children become
 * imagestreamimages of this stream too, as an import's do. Returns list digest → child digests.
 */
async function shareTaggedImages(
  ctx: AppContext,
  after: StreamState,
  changedTags: string[],
): Promise<Map<string, string[]>> {
  const ns = after.head.namespace;
  const tagged = new Set<string>();
  const fromOtherProjects = new Map<string, Set<string>>();
  for (const name of changedTags) {
    const tag = after.tags.get(name);
    const from = tag?.spec?.from;
    const digest = tag?.recent[0]?.image;
    if (!digest || (from?.kind !== 'ImageStreamTag' && from?.kind !== 'ImageStreamImage')) continue;
    tagged.add(digest);
    const sourceNs = from.namespace || ns;
    if (sourceNs !== ns)
      fromOtherProjects.set(sourceNs, (fromOtherProjects.get(sourceNs) ?? new Set()).add(digest));
  }
  if (tagged.size === 0) return new Map();
  const own = new Map<string, ProjectImage>();
  for (const [sourceNs, digests] of fromOtherProjects)
    for (const [d, r] of await ctx.images.copyBetweenProjects(sourceNs, ns, [...digests], actorOf(ctx)))
      own.set(d, r);
  const rest = [...tagged].filter((d) => !own.has(d));
  for (const [d, r] of await ctx.images.seenByMany(scopeOf(after.head), rest)) own.set(d, r);
  const children = new Map<string, string[]>();
  for (const d of tagged) {
    const manifests = own.get(d)?.image.dockerImageManifests;
    if (manifests?.length)
      children.set(
        d,
        manifests.map((m) => m.digest),
      );
  }
  return children;
}

export interface RetryOptions {
  /** Give up after this long; OpenShift gives up after 10 quick attempts, we keep going so no writer loses. */
  budgetMs?: number;
  onGiveUp?: () => StatusError;
}

/**
 * Runs an optimistic read-compute-write until it commits. Conflicts are expected under parallel writers; full
 * jitter keeps them from retrying in lockstep.
 */
export async function retryOnConflict<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const deadline = Date.now() + (opts.budgetMs ?? 25_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!(e instanceof ConcurrentWriteError) || e.headMissing) throw e;
      if (Date.now() > deadline) throw opts.onGiveUp?.() ?? serverTimeout(resources.imagestreams, 'update');
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(400, 5 * 2 ** Math.min(attempt, 7))));
    }
  }
}

/** Commit with the store as the context's actor (audit), translating a vanished head into the stream's 404. */
export async function commit(
  ctx: AppContext,
  mode: CommitMode,
  before: StreamState | undefined,
  after: StreamState,
  specChanged: boolean,
  childImages?: Map<string, string[]>,
): Promise<void> {
  try {
    await ctx.streams.commit({
      mode,
      before,
      after,
      specChanged,
      actor: actorOf(ctx),
      at: ctx.clock(),
      ...(childImages ? { childImages } : {}),
    });
  } catch (e) {
    if (e instanceof ConcurrentWriteError && e.target === 'head' && e.headMissing && mode !== 'create')
      throw notFound(resources.imagestreams, after.head.name);
    throw e;
  }
}

export function snapshot(state: StreamState): { before: StreamState; after: StreamState } {
  return { before: state, after: cloneState(state) };
}

export function streamConflict(name: string): StatusError {
  return conflict(
    resources.imagestreams,
    name,
    'the object has been modified; please apply your changes to the latest version and try again',
  );
}

/** A brand-new, empty stream (tag writes and imports create the stream when it is missing). */
export function newStreamState(ctx: AppContext, ns: string, stream: string): StreamState {
  return {
    head: {
      namespace: ns,
      name: stream,
      uid: ctx.newUid(),
      resourceVersion: 0,
      generation: 0,
      creationTimestamp: ctx.clock(),
      labels: {},
      annotations: {},
      lookupPolicy: { local: false },
      dockerImageRepository: '',
    },
    tags: new Map(),
    complete: true,
  };
}
