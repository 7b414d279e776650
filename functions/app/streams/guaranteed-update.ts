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

/**
 * The one way a stream is written, as Kubernetes' `registry.Store.GuaranteedUpdate` writes objects: read the
 * current state, let a strategy (the pure rules of functions/core) change a copy of it, resolve what changed, and
 * commit conditionally on what was read; on a lost race, read again and re-apply. Every stream write (stream
 * POST/PUT/PATCH, imagestreamtag PUT/POST/DELETE, mappings, imports and import jobs) is one {@link StreamUpdate};
 * what differs between them is the strategy, the read, the precondition and how a conflict is worded.
 */
export interface StreamUpdate {
  ns: string;
  name: string;
  /**
   * What to read: the whole stream (whole-stream writes), some tags together with every tag a write to them can
   * touch (their sources and aliases, transitively), or nothing (a create: the stream must not exist).
   */
  read: { kind: 'stream' } | { kind: 'tags'; tags: string[]; sources?: string[] } | { kind: 'none' };
  /** A missing stream is 404, or is created (as an empty stream the strategy fills; committed with mode create). */
  missing: 'not-found' | 'create';
  /** The state a create starts from; by default an empty stream ({@link newStreamState}). */
  newStream?: () => StreamState;
  /**
   * Checks the stored state before the strategy runs (resourceVersion, uid); throws the caller's answer. Runs on
   * every attempt, against what that attempt read (`undefined`: no stream).
   */
  precondition?: (current: StreamState | undefined) => void;
  /** The strategy: changes `after`, a copy of the stored state, by the rules in functions/core. */
  strategy: (after: StreamState, attempt: StrategyInput) => StrategyResult | typeof UNCHANGED;
  /** How an existing stream is committed: compare the head's resourceVersion (`stream`) or only tag versions. */
  mode: Exclude<CommitMode, 'create'>;
  /** How resolution failures (422) name the object. */
  invalid?: { kind: string; name: string };
  /**
   * Lost races are retried (read again, precondition and strategy again) unless this is false. Callers that gave
   * a resourceVersion do not retry: their write was for that version only (see `conflict`).
   */
  retry?: false | { onGiveUp?: () => StatusError };
  /** The answer to a lost race that is not retried (409 with the caller's wording); undefined keeps the error. */
  conflict?: (e: ConcurrentWriteError) => Promise<Error | undefined> | Error | undefined;
  /**
   * Writers with the same key queue within this process rather than race. Tag writers key by stream: each counts
   * itself on the stream head in its transaction, so two in flight on one stream conflict even for different tags,
   * and under load the losers' retries (a read, a failed transaction and a back-off each) outran their budget.
   */
  queueKey?: string;
  /**
   * Everything but the commit: validation, the precondition, the strategy, authorization-dependent checks and
   * resolution run; nothing is written (no record, no event) and the outcome is what would have been written.
   */
  dryRun?: boolean;
}

export type { WriteOptions } from '../shared/requests';

export interface StrategyInput {
  /** The stored state this attempt read; undefined when the stream is being created. */
  before: StreamState | undefined;
  creating: boolean;
  /** The write's time (ISO, second precision). */
  now: string;
}

export interface StrategyResult {
  /** Tags whose spec is new or re-pointed: their sources are checked and resolved now. */
  changedTags: string[];
  /** The spec changed: the stream's generation moves. */
  specChanged: boolean;
  /** Children of manifest lists that new events point at (they become imagestreamimages too). */
  childImages?: Map<string, string[]>;
}

/** A strategy's answer when there is nothing to write: no commit, no event. */
export const UNCHANGED = Symbol('unchanged');

export interface UpdateOutcome {
  before: StreamState | undefined;
  /** The state written (or, on a dry run, that would have been), its resourceVersion as after the
   * commit (a dry run's: the stored one, as nothing moved it). */
  after: StreamState;
  /** The stream did not exist and was (or would have been) created. */
  created: boolean;
  /** False when the strategy found nothing to change (and on a dry run). */
  wrote: boolean;
}

/** Runs one stream write to its end: see {@link StreamUpdate}. */
export function guaranteedUpdate(ctx: AppContext, u: StreamUpdate): Promise<UpdateOutcome> {
  const run = () =>
    u.retry === false
      ? attempt(ctx, u)
      : retryOnConflict(() => attempt(ctx, u), u.retry?.onGiveUp ? { onGiveUp: u.retry.onGiveUp } : {});
  return u.queueKey ? ctx.tagWrites.run(u.queueKey, run) : run();
}

async function attempt(ctx: AppContext, u: StreamUpdate): Promise<UpdateOutcome> {
  const current = await read(ctx, u);
  u.precondition?.(current);
  if (!current && u.missing === 'not-found') throw notFound(resources.imagestreams, u.name);
  const creating = !current;
  const before = current;
  const after = current ? cloneState(current) : (u.newStream?.() ?? newStreamState(ctx, u.ns, u.name));
  const now = ctx.clock();
  const change = u.strategy(after, { before, creating, now });
  if (change === UNCHANGED) return { before, after, created: false, wrote: false };
  const { childImages } = await resolveAndTrack(ctx, before, after, change.changedTags, now, {
    ...(u.invalid ? { invalidKind: u.invalid.kind, invalidName: u.invalid.name } : {}),
    dryRun: !!u.dryRun,
  });
  for (const [list, children] of change.childImages ?? []) childImages.set(list, children);
  // A dry run answers as Kubernetes' does: an object that exists keeps its stored resourceVersion (nothing moved it).
  if (u.dryRun) {
    // A create reads nothing and learns of an existing stream from its commit; a dry run asks instead.
    if (creating && u.read.kind === 'none' && (await ctx.streams.getHead(u.ns, u.name)))
      throw (
        (await u.conflict?.(new ConcurrentWriteError('head', false, true))) ??
        new ConcurrentWriteError('head')
      );
    after.head.resourceVersion = creating ? 1 : before!.head.resourceVersion;
    return { before, after, created: creating, wrote: false };
  }
  after.head.resourceVersion = creating ? 1 : before!.head.resourceVersion + 1;
  try {
    await ctx.streams.commit({
      mode: creating ? 'create' : u.mode,
      before,
      after,
      specChanged: change.specChanged,
      actor: actorOf(ctx),
      at: now,
      ...(childImages.size ? { childImages } : {}),
    });
  } catch (e) {
    if (!(e instanceof ConcurrentWriteError)) throw e;
    // The stream went away under a write to it: that is its 404, whatever the caller expected.
    if (!creating && e.target === 'head' && e.headMissing) throw notFound(resources.imagestreams, u.name);
    // Someone else created the stream first: read it and apply the write to it.
    if (creating && u.read.kind !== 'none') throw new ConcurrentWriteError('transaction');
    throw (await u.conflict?.(e)) ?? e;
  }
  return { before, after, created: creating, wrote: true };
}

async function read(ctx: AppContext, u: StreamUpdate): Promise<StreamState | undefined> {
  switch (u.read.kind) {
    case 'none':
      return undefined;
    case 'stream':
      return ctx.streams.loadStream(u.ns, u.name);
    case 'tags':
      return loadForTagWrite(ctx, u.ns, u.name, u.read.tags, u.read.sources);
  }
}

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
async function loadForTagWrite(
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
 * The resolution every write shares, in OpenShift's order (docs/semantics.md#write-order): check the caller may
 * pull from other projects' sources (before anything of those sources is read;
 * docs/semantics.md#cross-project-sources), resolve new or re-pointed tags (docs/semantics.md#tag-resolution),
 * propagate to aliases (docs/semantics.md#alias-tracking), and report problems as one 422. Then the images those
 * tags now point at are made this project's own (see {@link shareTaggedImages}; a dry run only reads them); the
 * result is what the commit needs for manifest lists' children.
 */
export async function resolveAndTrack(
  ctx: AppContext,
  before: StreamState | undefined,
  after: StreamState,
  changedTags: string[],
  now: string,
  opts: { invalidKind?: string; invalidName?: string; dryRun?: boolean } = {},
): Promise<{ childImages: Map<string, string[]> }> {
  const invalidKind = opts.invalidKind ?? 'ImageStream';
  const invalidName = opts.invalidName ?? after.head.name;
  const forbidden = await verifyTagSources(ctx, after, changedTags);
  if (forbidden.length > 0) throw invalid(invalidKind, 'image.openshift.io', invalidName, forbidden);
  const errors = await resolveChangedTags(after, changedTags, storeResolver(ctx), ctx.rules, now);
  if (errors.length > 0) throw invalid(invalidKind, 'image.openshift.io', invalidName, errors);
  const tops = before ? topsOf(before) : new Map();
  updateTrackingTags(after, tops);
  return { childImages: await shareTaggedImages(ctx, after, changedTags, !!opts.dryRun) };
}

/**
 * Tags that now point at another stream's image. From another project, this project gets a copy of that
 * project's records of the image (and of a manifest list's children): the caller may pull there (checked
 * above), and a project reads only its own records. From any stream, a manifest list's children become
 * imagestreamimages of this stream too, as an import's do. Returns list digest → child digests. A dry run copies
 * nothing: it reads what the copy would be made from.
 */
async function shareTaggedImages(
  ctx: AppContext,
  after: StreamState,
  changedTags: string[],
  dryRun: boolean,
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
    for (const d of digests) {
      const record = dryRun
        ? ((await ctx.images.current(ns, d)) ?? (await ctx.images.current(sourceNs, d)))
        : undefined;
      if (record) own.set(d, record);
    }
  if (!dryRun)
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
