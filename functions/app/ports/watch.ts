/**
 * The watch log: one record per change of a watched object (an imagestream or imagestreamtag), in one total order,
 * written by the change processor from the table's stream and read by watches and by lists (whose
 * `resourceVersion` is a position in it). functions/store/watch-log.ts implements it on the table.
 */
export type WatchResource = 'imagestreams' | 'imagestreamtags';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What the change processor appends: the object as it stood after the change, or its identity when deleted. */
export interface WatchEntry {
  resource: WatchResource;
  namespace: string;
  /** The object's name (`stream` or `stream:tag`). */
  name: string;
  /**
   * The stream incarnation, and what orders the states of the object within it: the head's resourceVersion for
   * an imagestream, the tag record's version for an imagestreamtag.
   */
  streamUid: string;
  version: number;
  /** The object is gone (deleted, or no longer an object of its resource, as a tag without an image). */
  deleted: boolean;
  /** The object (JSON) the event carries; absent when it was too large to keep (readers fetch it then). */
  object?: Record<string, unknown> | undefined;
  /** The labels selectors test: the stream's, now and before this change. */
  labels: Record<string, string>;
}

/** A logged entry and its position. */
export interface WatchRecord extends WatchEntry {
  seq: number;
  /** ADDED when the log last saw the object absent (or never), MODIFIED when present, DELETED when it went. */
  type: WatchEventType;
  /** The labels the object had before, when it existed (a selector may have matched it then). */
  previousLabels?: Record<string, string> | undefined;
  /** When it was logged (epoch ms). */
  at: number;
}

/** What the log last said about one object, so a change processed twice is logged once. */
export interface LoggedObject {
  streamUid: string;
  version: number;
  present: boolean;
  labels: Record<string, string>;
}

/** What the log holds of an object once `entry` is appended. */
export function loggedAfter(entry: WatchEntry): LoggedObject {
  return {
    streamUid: entry.streamUid,
    version: entry.version,
    present: !entry.deleted,
    labels: entry.labels,
  };
}

export interface WatchLog {
  /** The newest position handed out (0 when nothing was ever logged). */
  head(): Promise<number>;
  /** Records after `seq`, in order, at most `limit`. */
  readAfter(seq: number, limit: number): Promise<WatchRecord[]>;
  /** The record at `seq`, if the log still holds it. */
  recordAt(seq: number): Promise<WatchRecord | undefined>;
  /** What was last logged for an object. */
  lastLogged(resource: WatchResource, namespace: string, name: string): Promise<LoggedObject | undefined>;
  /** The imagestreamtags of a stream the log last saw present (to log their deletion with the stream's). */
  presentTags(namespace: string, stream: string): Promise<Array<{ name: string; logged: LoggedObject }>>;
  /** What was last logged for each imagestreamtag of a stream the log has seen, present or not, by name. */
  loggedTags(namespace: string, stream: string): Promise<Map<string, LoggedObject>>;
  /**
   * Appends an entry unless the log already holds this object at this (or a later) state of its stream, or holds
   * it as absent and this is a deletion; returns its position, or undefined when there was nothing to log.
   * `known.last` is what the caller already read of the object's last logged state (undefined: nothing), which
   * saves the log reading it again; the write is conditional on it either way.
   */
  append(entry: WatchEntry, known?: { last: LoggedObject | undefined }): Promise<number | undefined>;
  /**
   * Where the change processor has no other way to tell a reader it is caught up (AWS): a probe written into the
   * table, which the processor answers (`answerProbe`) once it has logged every change its shard delivered before.
   * Resolves when answered; rejects after `timeoutMs`.
   */
  probe(timeoutMs: number): Promise<void>;
  answerProbe(token: string): Promise<void>;
}

/**
 * Positions start here, far above any object's own resourceVersion (a per-stream counter), so a position is never
 * mistaken for one.
 */
export const FIRST_POSITION = 1_000_000_000_000;

/** How watches and list positions work here (built by the composition root: local mode, the AWS watch function). */
export interface WatchSettings {
  log: WatchLog;
  /**
   * Resolves once every change committed before the call is in the log (locally: the stream poller has drained
   * the table's stream; in AWS: the change processor answered a probe). Lists call it after their read.
   */
  settle(): Promise<void>;
  /** How often a watch reads the log for news. */
  pollMs: number;
  /** How long the log keeps records: a watch from an older position is Expired (410) and lists again. */
  retentionMs: number;
  /** How long a watch waits for a position handed out but not yet written before it gives up (410). */
  gapGraceMs: number;
  /** The longest a watch runs (its timeoutSeconds is capped to this). */
  maxSeconds: number;
}
