import type { TagEvent } from '../api-types';
import { RECENT_EVENTS_KEPT, type TagRecord } from './model';

export type AddTagEventResult = 'unchanged' | 'updated' | 'prepended';

/**
 * OpenShift's AddTagEventToImageStream (docs/semantics.md#history): the new event is compared with the newest entry only.
 * An exact duplicate changes nothing; the same image and reference only moves the generation (the event's
 * `created` stays); a new image or reference is pushed on top. Any successful tagging clears ImportSuccess=False.
 */
export function addTagEvent(tag: TagRecord, next: TagEvent): AddTagEventResult {
  const prev = tag.recent[0];
  if (!prev) {
    tag.recent = [{ ...next }];
    tag.topSeq += 1;
    tag.conditions = [];
    return 'prepended';
  }
  const sameRef = prev.dockerImageReference === next.dockerImageReference;
  const sameImage = prev.image === next.image;
  const sameGeneration = prev.generation === next.generation;
  if (sameRef && sameImage && sameGeneration) return 'unchanged';

  let result: AddTagEventResult = 'updated';
  if (sameRef && sameImage) {
    prev.generation = next.generation;
  } else if (sameRef) {
    prev.image = next.image;
    prev.generation = next.generation;
  } else if (sameImage) {
    prev.dockerImageReference = next.dockerImageReference;
    prev.generation = next.generation;
  } else {
    tag.recent = [{ ...next }, ...tag.recent].slice(0, RECENT_EVENTS_KEPT);
    tag.topSeq += 1;
    result = 'prepended';
  }
  tag.conditions = [];
  return result;
}

/** The event a tag currently points at (OpenShift's LatestTaggedImage), or undefined for an empty tag. */
export function latestEvent(tag: TagRecord | undefined): TagEvent | undefined {
  return tag?.recent[0];
}

/** True when the top event differs in what it points at (generation and created are ignored). */
export function sameTarget(a: TagEvent | undefined, b: TagEvent | undefined): boolean {
  if (!a || !b) return a === b;
  return a.dockerImageReference === b.dockerImageReference && a.image === b.image;
}
