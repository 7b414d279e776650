import type { TagEvent, TagEventCondition, TagReference } from '../api-types';
import type { FieldsV1, Operation } from '../managed-fields';

/**
 * The stored form of an image stream: a head (metadata and stream-level spec) plus one record per tag.
 * Tags are separate records so that a stream can hold 10,000 tags and a single-tag read touches O(1) records;
 * a tag's full history lives in its own records, and each tag record keeps only its newest events.
 */
export interface StreamHead {
  namespace: string;
  name: string;
  uid: string;
  /** Increases by one with every write to the stream or any of its tags. */
  resourceVersion: number;
  /** Increases by one with every change of the spec (server owned, docs/semantics.md#generations). */
  generation: number;
  creationTimestamp: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  lookupPolicy: { local: boolean };
  /** Deprecated spec.dockerImageRepository. */
  dockerImageRepository: string;
  /** Field managers, with the fields they own outside spec.tags (functions/core/imagestream/ownership.ts). */
  managedFields?: StoredManager[];
}

/** A manager as the head stores it: who, how, when, and its fields outside spec.tags. */
export interface StoredManager {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time: string;
  fieldsV1: FieldsV1;
}

export interface TagRecord {
  name: string;
  /** Tag incarnation: history and image-reference records are keyed by it, so a deleted tag's leftovers are never read again. */
  tid: string;
  /** Optimistic-concurrency version of the record; 0 when it has never been stored. */
  version: number;
  spec: TagReference | null;
  /** Newest events first, at most {@link RECENT_EVENTS_KEPT}. */
  recent: TagEvent[];
  /** Sequence number of recent[0]; equals the number of events in the tag's history (0 = no history). */
  topSeq: number;
  conditions: TagEventCondition[];
  /** Same-stream tags whose spec is an ImageStreamTag pointing at this tag (kept so writes find them in O(1)). */
  aliases: string[];
  /** Per manager (`<operation>:<manager>`), the fields it owns of this spec tag (functions/core/imagestream/ownership.ts). */
  owners?: Record<string, FieldsV1>;
}

/** How many of a tag's newest events its record keeps; also the default history shown in the stream view. */
export const RECENT_EVENTS_KEPT = 10;

/** The part of a stream a use case loaded: always the head, and either every tag or the ones it needs. */
export interface StreamState {
  head: StreamHead;
  tags: Map<string, TagRecord>;
  /** True when `tags` holds every tag of the stream. */
  complete: boolean;
}

export function emptyTagRecord(name: string, tid: string): TagRecord {
  return { name, tid, version: 0, spec: null, recent: [], topSeq: 0, conditions: [], aliases: [] };
}

/** A tag record with no spec, no history and no aliases carries no information and is not stored. */
export function isVacant(tag: TagRecord): boolean {
  return (
    tag.spec === null && tag.recent.length === 0 && tag.conditions.length === 0 && tag.aliases.length === 0
  );
}

/** A tag is visible (in the stream view, in istag lists) when it has a spec or a status. */
export function isVisible(tag: TagRecord): boolean {
  return tag.spec !== null || tag.recent.length > 0 || tag.conditions.length > 0;
}

export function cloneTag(tag: TagRecord): TagRecord {
  return structuredClone(tag);
}

export function cloneState(state: StreamState): StreamState {
  return {
    head: structuredClone(state.head),
    tags: new Map([...state.tags].map(([k, v]) => [k, cloneTag(v)])),
    complete: state.complete,
  };
}
