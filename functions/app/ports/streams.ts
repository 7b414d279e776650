import type { TagEvent } from '../../core/api-types';
import type { StreamHead, StreamState, TagRecord } from '../../core/imagestream/model';

/**
 * The stream repository: what the use cases need of stored image streams (heads, tag records, history, image
 * references). functions/store/stream-store.ts implements it on DynamoDB; test/support/fakes.ts in memory.
 */
export interface StreamRepository {
  /** The stream's head, undefined when there is no (visible) stream of that name. */
  getHead(ns: string, name: string): Promise<StreamHead | undefined>;
  /** The head and the named tags in one round trip; tag records of an older stream incarnation are left out. */
  getHeadAndTags(
    ns: string,
    name: string,
    tags: string[],
  ): Promise<{ head: StreamHead | undefined; tags: Map<string, TagRecord> }>;
  getTags(head: StreamHead, tags: string[]): Promise<Map<string, TagRecord>>;
  /** A page of tag records in tag-name order (`limit` undefined = every tag); `last` is set when more follow. */
  queryTags(
    head: StreamHead,
    opts?: { limit?: number; after?: string },
  ): Promise<{ tags: TagRecord[]; last?: string }>;
  /** The head and every tag (`complete`), undefined when there is no stream. */
  loadStream(ns: string, name: string): Promise<StreamState | undefined>;
  /** Stream heads of a namespace in name order, `limit` at most, after the stream named `after`. */
  listHeads(
    ns: string,
    opts: { limit: number; after?: string },
  ): Promise<{ heads: StreamHead[]; more: boolean }>;
  /** A tag's history, newest first, below sequence number `beforeSeq` (exclusive). */
  history(
    head: StreamHead,
    tag: TagRecord,
    opts: { limit: number; beforeSeq?: number },
  ): Promise<{ events: Array<{ seq: number; event: TagEvent; by?: string }> }>;
  /**
   * Distinct images live history entries of this stream reference whose digest matches `id` (a prefix of the
   * hex or of the full `algorithm:hex` name, as OpenShift's DigestOrImageMatch), at most `max`.
   */
  findImages(head: StreamHead, id: string, max?: number): Promise<ImageRefMatch[]>;
  /** Writes the difference between `plan.before` and `plan.after` atomically, or throws ConcurrentWriteError. */
  commit(plan: CommitPlan): Promise<void>;
  /** Removes a stream's head under its preconditions; its other records become unreachable at once. */
  deleteHead(
    head: StreamHead,
    preconditions: { uid?: string; resourceVersion?: number },
    actor: string,
  ): Promise<void>;
  /** Removes the history of one dead tag incarnation within a time budget; true when nothing is left. */
  sweepTagIncarnation(ns: string, name: string, tid: string, budgetMs?: number): Promise<boolean>;
  /** Removes what no live head or tag incarnation reaches, within a time budget; true when nothing is left. */
  sweep(ns: string, name: string, budgetMs: number, deletedBy: string): Promise<boolean>;
  /** Removes what abandoned writers wrote ahead of their transaction (functions/store/stream-store.ts). */
  sweepAbandonedWrites(opts: {
    budgetMs: number;
    deadWriter?: { writer: string; before: number };
    now?: number;
  }): Promise<{ abandoned: number; removed: number; done: boolean }>;
}

export interface ImageRefMatch {
  image: string;
  dockerImageReference: string;
  /** A live tag whose history references the image. */
  tag?: string;
}

/** A write lost a race: the head or a tag record changed (or vanished) since it was read. */
export class ConcurrentWriteError extends Error {
  constructor(
    readonly target: 'head' | 'tag' | 'transaction',
    readonly headMissing = false,
    readonly headExists = false,
    /**
     * The write may or may not have happened (the table answered a transient server error): re-read and retry,
     * but do not undo what went ahead of it.
     */
    readonly outcomeUnknown = false,
  ) {
    super(`concurrent write on ${target}`);
    this.name = 'ConcurrentWriteError';
  }
}

export type CommitMode =
  /** The stream must not exist yet. */
  | 'create'
  /** Whole-stream write: the head must still be at the resourceVersion that was read. */
  | 'stream'
  /** Tag-level write: only the touched tag records are compared; the head just counts the write. */
  | 'tags';

export interface CommitPlan {
  mode: CommitMode;
  before: StreamState | undefined;
  after: StreamState;
  specChanged: boolean;
  /**
   * Who makes this write (a user name or one of the system actors): every record the commit writes carries it as
   * `by`, and a tag record the commit deletes is stamped with it first.
   */
  actor: string;
  /** When the write happens (ISO time), recorded as the tag records' `at`; defaults to now. */
  at?: string;
  /**
   * Children of manifest lists the new events point at: they get image references too, so a PreserveOriginal
   * import's platform images are imagestreamimages of the stream (docs/semantics.md#imagestreamimages).
   */
  childImages?: Map<string, string[]>;
}
