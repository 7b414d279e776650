import type { TagEventCondition, TagImportPolicy, TagReference, TagReferencePolicy } from '../api-types';
import { addTagEvent } from './history';
import { emptyTagRecord, type StreamHead, type StreamState, type TagRecord } from './model';

export const DOCKER_REPOSITORY_CHECK = 'openshift.io/image.dockerRepositoryCheck';
export const PREFER_ARCH = 'importer.image.openshift.io/prefer-arch';
export const PREFER_OS = 'importer.image.openshift.io/prefer-os';

/** What importing one source for one tag came to. */
export type TagImportOutcome = {
  tag: string;
  /** The source as requested (`from.name`), written to the spec tag. */
  from: string;
  importPolicy: TagImportPolicy;
  referencePolicy: TagReferencePolicy;
} & (
  | { ok: true; dockerImageReference: string; image: string }
  | { ok: false; reason: string; message: string }
);

/** A tag is imported when its source is a registry and it is not a mere reference (docs/semantics.md#import-controller). */
export function tagImportable(spec: TagReference | null | undefined): spec is TagReference {
  return !!spec?.from && spec.from.kind === 'DockerImage' && !spec.reference;
}

/** The newest generation the tag's status has seen: its current event or its failure (docs/semantics.md#import-controller). */
export function latestObservedGeneration(tag: TagRecord): number {
  const fromEvent = tag.recent[0]?.generation ?? 0;
  const fromCondition = tag.conditions.find((c) => c.type === 'ImportSuccess')?.generation ?? 0;
  return Math.max(fromEvent, fromCondition);
}

/**
 * Whether the import controller should import a tag: importable and asked for (generation above what the status
 * has seen). `whenNil` decides for tags without a generation. Success and failure both record the generation, so
 * a failed import is not retried until the tag changes or the scheduler asks (no retry storm: docs/semantics.md#import-controller).
 */
export function tagNeedsImport(tag: TagRecord, whenNil = false): boolean {
  if (!tagImportable(tag.spec)) return false;
  const g = tag.spec.generation;
  if (g == null) return whenNil;
  return g > latestObservedGeneration(tag);
}

/**
 * Applies one import outcome to a stream (docs/semantics.md#import-results). `generation` is the stream's next generation.
 * Returns whether anything changed; a repeated identical failure or an unchanged image changes nothing.
 */
export function applyImportOutcome(
  state: StreamState,
  o: TagImportOutcome,
  generation: number,
  now: string,
  newTid: () => string,
): boolean {
  const record = state.tags.get(o.tag) ?? emptyTagRecord(o.tag, newTid());
  const before = JSON.stringify(record);
  if (o.ok) {
    const top = record.recent[0];
    const spec = record.spec;
    const changed =
      !top ||
      !spec ||
      spec.generation == null ||
      top.dockerImageReference !== o.dockerImageReference ||
      top.image !== o.image ||
      spec.generation > top.generation;
    if (changed) {
      record.spec = {
        ...(spec ?? { name: o.tag, annotations: null }),
        name: o.tag,
        from: { kind: 'DockerImage', name: o.from },
        generation,
        importPolicy: o.importPolicy,
        referencePolicy: spec?.referencePolicy?.type ? spec.referencePolicy : o.referencePolicy,
      };
      addTagEvent(record, {
        created: now,
        dockerImageReference: o.dockerImageReference,
        image: o.image,
        generation,
      });
    }
    if (record.spec) record.spec.importPolicy = o.importPolicy;
    record.conditions = [];
  } else {
    const same = record.conditions.some(
      (c) =>
        c.type === 'ImportSuccess' &&
        c.status === 'False' &&
        c.reason === o.reason &&
        c.message === o.message,
    );
    if (!same) {
      const condition: TagEventCondition = {
        type: 'ImportSuccess',
        status: 'False',
        lastTransitionTime: now,
        reason: o.reason,
        message: o.message || 'unknown error prevented import',
        generation,
      };
      record.conditions = [condition];
      if (record.spec) record.spec.generation = generation;
    }
    if (!record.spec)
      record.spec = {
        name: o.tag,
        annotations: null,
        from: { kind: 'DockerImage', name: o.from },
        generation,
        importPolicy: o.importPolicy,
        referencePolicy: o.referencePolicy,
      };
  }
  const changed = JSON.stringify(record) !== before;
  if (changed) state.tags.set(o.tag, record);
  return changed;
}

/**
 * Whether applying `o` would change the tag at all (an unchanged re-check changes nothing). Lets a re-import
 * that found nothing new skip the write path (and its second read of the tags) altogether.
 */
export function importWouldChange(
  head: StreamHead,
  tag: TagRecord | undefined,
  o: TagImportOutcome,
): boolean {
  if (!tag || !head.annotations[DOCKER_REPOSITORY_CHECK]) return true;
  const state: StreamState = { head, tags: new Map([[tag.name, structuredClone(tag)]]), complete: false };
  return applyImportOutcome(state, o, head.generation + 1, '', () => tag.tid);
}
