import { IMAGE_API_VERSION } from '../../core/api-types';
import { RECENT_EVENTS_KEPT, type StreamHead } from '../../core/imagestream/model';
import { toImageStream, toImageStreamTag } from '../../core/imagestream/views';
import type { StreamChange } from '../ports/events';
import { type ProjectImage, scopeOf } from '../ports/images';
import { type LoggedObject, loggedAfter, type WatchEntry, type WatchLog } from '../ports/watch';
import type { AppContext } from '../shared/context';

type FeedContext = Pick<AppContext, 'streams' | 'images' | 'rules'>;

/**
 * The watch log's writer, run by the change processor over each batch of table changes, in order: every change of a
 * stream head logs the imagestream as it stands now, every change of a tag record the imagestreamtag as it stands
 * now (or its deletion, when it no longer resolves to an image: imagestreamtags lists only those). Reading the
 * current state rather than the record's image keeps events identical to what GET answers; the log skips states
 * it already holds, so folding several changes into one read, or seeing a batch again, logs nothing twice.
 */
export async function logWatchChanges(
  ctx: FeedContext,
  log: WatchLog,
  changes: StreamChange[],
): Promise<void> {
  const batch = new BatchReads(ctx, log);
  const relevant = withoutSupersededHeads(changes);
  for (const c of relevant) {
    const digest = c.kind === 'tag' ? c.after?.tag.recent[0]?.image : undefined;
    if (c.kind === 'tag' && digest) batch.willShow(c.namespace, c.stream, digest);
  }
  for (const c of relevant) {
    if (c.kind === 'head') {
      batch.forget(c.namespace, c.stream);
      await logStream(ctx, log, c);
    } else if (c.kind === 'tag') await logTag(ctx, log, c, batch);
    else if (c.kind === 'probe') await log.answerProbe(c.token);
  }
}

/**
 * Reads one batch shares per stream: its head (for imagestreamtag views), what the log last logged for each of its
 * imagestreamtags, and the project's records of the images its tag changes point at, so a large write (thousands
 * of tag records) costs a few reads per stream and batch instead of two or three per record. A head change in the
 * batch drops what was read of that stream.
 */
class BatchReads {
  private readonly heads = new Map<string, Promise<StreamHead | undefined>>();
  private readonly logged = new Map<string, Promise<Map<string, LoggedObject>>>();
  /** Per stream: digests the batch's tag changes point at, and (once asked for) their records, by head uid. */
  private readonly wanted = new Map<string, Set<string>>();
  private readonly images = new Map<string, Promise<Map<string, ProjectImage>>>();
  constructor(
    private readonly ctx: FeedContext,
    private readonly log: WatchLog,
  ) {}
  head(ns: string, stream: string): Promise<StreamHead | undefined> {
    const key = `${ns}/${stream}`;
    let head = this.heads.get(key);
    if (!head) {
      head = this.ctx.streams.getHead(ns, stream);
      this.heads.set(key, head);
    }
    return head;
  }
  /**
   * What the log last logged for each of the stream's imagestreamtags; the caller keeps it current as it appends
   * (this batch's processor is the log's only writer for these objects, and every append is conditional on it).
   */
  loggedTags(ns: string, stream: string): Promise<Map<string, LoggedObject>> {
    const key = `${ns}/${stream}`;
    let logged = this.logged.get(key);
    if (!logged) {
      logged = this.log.loggedTags(ns, stream);
      this.logged.set(key, logged);
    }
    return logged;
  }
  /** Notes that a tag change of the stream points at `digest` (read with the stream's others, see image). */
  willShow(ns: string, stream: string, digest: string): void {
    const key = `${ns}/${stream}`;
    this.wanted.set(key, (this.wanted.get(key) ?? new Set()).add(digest));
  }
  /** The project's record of an image a tag of this stream points at: one read for all the batch's digests. */
  async image(head: StreamHead, digest: string): Promise<ProjectImage | undefined> {
    const key = `${head.namespace}/${head.name}`;
    const wanted = this.wanted.get(key);
    if (!wanted?.has(digest)) return this.ctx.images.seenBy(scopeOf(head), digest);
    const byUid = `${key}/${head.uid}`;
    let records = this.images.get(byUid);
    if (!records) {
      records = this.ctx.images.seenByMany(scopeOf(head), [...wanted]);
      this.images.set(byUid, records);
    }
    return (await records).get(digest);
  }
  forget(ns: string, stream: string): void {
    this.heads.delete(`${ns}/${stream}`);
    this.logged.delete(`${ns}/${stream}`);
  }
}

async function logStream(
  ctx: FeedContext,
  log: WatchLog,
  c: Extract<StreamChange, { kind: 'head' }>,
): Promise<void> {
  if (c.removed) {
    if (c.uid === undefined) return;
    // The stream and every tag of it the log shows present go with it.
    const last = await log.lastLogged('imagestreams', c.namespace, c.stream);
    if (last?.streamUid === c.uid)
      await log.append({
        resource: 'imagestreams',
        namespace: c.namespace,
        name: c.stream,
        streamUid: c.uid,
        version: Math.max(last.version, c.resourceVersion ?? 0),
        deleted: true,
        object: deletedObject('ImageStream', c.namespace, c.stream, c.uid),
        labels: last.labels,
      });
    for (const { name, logged } of await log.presentTags(c.namespace, c.stream)) {
      if (logged.streamUid !== c.uid) continue;
      await log.append({
        resource: 'imagestreamtags',
        namespace: c.namespace,
        name,
        streamUid: c.uid,
        version: logged.version,
        deleted: true,
        object: deletedObject('ImageStreamTag', c.namespace, name, c.uid),
        labels: logged.labels,
      });
    }
    return;
  }
  // A large create's head is logged once revealed.
  const head = c.head;
  if (!head) return;
  const { tags } = await ctx.streams.queryTags(head);
  await log.append({
    resource: 'imagestreams',
    namespace: c.namespace,
    name: c.stream,
    streamUid: head.uid,
    version: head.resourceVersion,
    deleted: false,
    object: toImageStream(head, tags, ctx.rules, RECENT_EVENTS_KEPT) as unknown as Record<string, unknown>,
    labels: head.labels,
  });
}

async function logTag(
  ctx: FeedContext,
  log: WatchLog,
  c: Extract<StreamChange, { kind: 'tag' }>,
  batch: BatchReads,
): Promise<void> {
  const stored = c.after ?? c.before;
  if (!stored) return;
  const head = await batch.head(c.namespace, c.stream);
  // A record of a deleted stream incarnation (swept after a re-create) says nothing about today's stream.
  if (!head || head.uid !== stored.streamUid) return;
  const name = `${c.stream}:${stored.tag.name}`;
  const digest = c.after?.tag.recent[0]?.image;
  const entry = {
    resource: 'imagestreamtags' as const,
    namespace: c.namespace,
    name,
    streamUid: head.uid,
    version: stored.tag.version,
    labels: head.labels,
  };
  // imagestreamtags are the tags that resolve to an image: one that stops resolving (or goes) is deleted.
  const logged = await batch.loggedTags(c.namespace, c.stream);
  const last = logged.get(name);
  const appendKnown = async (full: WatchEntry) => {
    if ((await log.append(full, { last })) !== undefined) logged.set(name, loggedAfter(full));
  };
  if (!c.after || !digest) {
    // Most tag records of a new stream have no image yet: the log shows nothing of them, so nothing goes.
    if (!last?.present) return;
    await appendKnown({
      ...entry,
      deleted: true,
      object: deletedObject('ImageStreamTag', c.namespace, name, head.uid),
    });
    return;
  }
  const own = await batch.image(head, digest);
  await appendKnown({
    ...entry,
    deleted: false,
    object: toImageStreamTag(head, c.after.tag, own?.image, ctx.rules) as unknown as Record<string, unknown>,
  });
}

/** What a DELETED event carries: the object's identity (its last state is what watchers already hold). */
function deletedObject(kind: string, namespace: string, name: string, uid: string): Record<string, unknown> {
  return { kind, apiVersion: IMAGE_API_VERSION, metadata: { name, namespace, uid } };
}

/**
 * A batch without the head changes a later change of the same stream incarnation's head supersedes: an
 * imagestream's event carries its tags as they are when logged, so the earlier ones would only repeat that state.
 * Removals are all kept (and so is the last change before one), as is every tag change: each imagestreamtag change
 * is its own event.
 */
function withoutSupersededHeads(changes: StreamChange[]): StreamChange[] {
  const key = (c: Extract<StreamChange, { kind: 'head' }>) => `${c.namespace}/${c.stream}/${c.head?.uid}`;
  const last = new Map<string, number>();
  changes.forEach((c, i) => {
    if (c.kind === 'head' && !c.removed) last.set(key(c), i);
  });
  return changes.filter((c, i) => c.kind !== 'head' || c.removed || last.get(key(c)) === i);
}
