import type { TagEvent } from '../api-types';
import { FieldError } from '../errors';
import { addTagEvent, latestEvent } from './history';
import type { StreamState } from './model';
import { type StreamRulesConfig, trackedSourceTag } from './spec-rules';

/** What the rules need to know about other streams (and this stream's full history). Implemented by the store. */
export interface TagSourceResolver {
  /** The newest event of `tag` in stream `ns/stream`: undefined when the tag is empty, null when the stream is missing. */
  latestTaggedImage(ns: string, stream: string, tag: string): Promise<TagEvent | undefined | null>;
  /**
   * Distinct images in any history entry of any tag of `ns/stream` whose digest matches `id` (a digest or a
   * unique prefix of its hex or its name, OpenShift's DigestOrImageMatch), with a reference each was seen under.
   * null when the stream is missing. At most two are needed to tell "ambiguous".
   */
  resolveImageId(
    ns: string,
    stream: string,
    id: string,
  ): Promise<Array<{ image: string; dockerImageReference: string }> | null>;
}

export type Clock = () => string;

/** Kubernetes times are RFC 3339 at second precision. */
export const systemClock: Clock = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * OpenShift's tagsChanged (docs/semantics.md#tag-resolution): resolve every new or re-pointed spec tag now. DockerImage tags are
 * resolved only when `reference: true` (others wait for an import); ImageStreamTag copies the source tag's newest
 * event (an empty source is fine); ImageStreamImage looks the digest up in the source stream's history.
 * Returns field errors instead of throwing so the caller reports them all in one 422.
 */
export async function resolveChangedTags(
  state: StreamState,
  changedTags: string[],
  resolver: TagSourceResolver,
  cfg: StreamRulesConfig,
  now: string,
): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const { namespace, name: streamName } = state.head;
  for (const tagName of sourcesFirst(state, changedTags)) {
    const tag = state.tags.get(tagName);
    const spec = tag?.spec;
    if (!tag || !spec?.from) continue;
    const from = spec.from;
    const generation = spec.generation ?? state.head.generation;
    const fieldName = `spec.tags[${tagName}].from.name`;
    if (from.kind === 'DockerImage') {
      if (spec.reference && from.name) {
        addTagEvent(tag, { created: now, dockerImageReference: from.name, image: '', generation });
      }
      continue;
    }
    if (from.kind !== 'ImageStreamTag' && from.kind !== 'ImageStreamImage') continue;
    const sourceNs = from.namespace || namespace;
    const parsed = splitSourceName(from.kind, from.name ?? '', streamName);
    if (!parsed) {
      errors.push(
        FieldError.invalid(
          fieldName,
          from.name ?? '',
          'must be of the form <tag>, <repo>:<tag>, <id>, or <repo>@<id>',
        ),
      );
      continue;
    }
    const sameStream = sourceNs === namespace && parsed.stream === streamName;
    let event: TagEvent | undefined;
    if (from.kind === 'ImageStreamTag') {
      let source: TagEvent | undefined | null;
      if (sameStream) source = latestEvent(state.tags.get(parsed.ref));
      else source = await resolver.latestTaggedImage(sourceNs, parsed.stream, parsed.ref);
      if (source === null) {
        errors.push(FieldError.notFound(fieldName, from.name));
        continue;
      }
      // An empty source tag is not an error: the tag resolves when the source gets an image (docs/semantics.md#tag-resolution).
      if (!source) continue;
      event = { ...source, generation };
    } else {
      const matches = await resolver.resolveImageId(sourceNs, parsed.stream, parsed.ref);
      if (matches === null) {
        errors.push(FieldError.notFound(fieldName, from.name));
        continue;
      }
      if (matches.length === 0) {
        errors.push(
          FieldError.invalid(
            fieldName,
            from.name,
            `error generating tag event: imagestreamimage.image.openshift.io "${parsed.ref}" not found`,
          ),
        );
        continue;
      }
      if (matches.length > 1) {
        errors.push(
          FieldError.invalid(
            fieldName,
            from.name,
            `error generating tag event: multiple images match the prefix "${parsed.ref}": ${matches.map((m) => m.image).join(', ')}`,
          ),
        );
        continue;
      }
      const match = matches[0]!;
      event = {
        created: now,
        dockerImageReference: match.dockerImageReference,
        image: match.image,
        generation,
      };
    }
    if (!spec.reference)
      event.dockerImageReference = rewriteInternal(event, sourceNs, parsed.stream, state, cfg);
    addTagEvent(tag, event);
  }
  return errors;
}

/** Orders tags so that a tag tracking another changed tag of this stream is resolved after it (cycles: as given). */
function sourcesFirst(state: StreamState, tags: string[]): string[] {
  const pending = new Set(tags);
  const out: string[] = [];
  while (pending.size > 0) {
    const ready = [...pending].filter((t) => {
      const src = trackedSourceTag(state.tags.get(t)?.spec ?? null, state.head.namespace, state.head.name);
      return src === undefined || src === t || !pending.has(src);
    });
    const batch = ready.length > 0 ? ready : [...pending];
    for (const t of batch) {
      out.push(t);
      pending.delete(t);
    }
  }
  return out;
}

/** `<tag>` / `<stream>:<tag>` for ImageStreamTag, `<id>` / `<stream>@<id>` for ImageStreamImage. */
export function splitSourceName(
  kind: 'ImageStreamTag' | 'ImageStreamImage',
  name: string,
  defaultStream: string,
): { stream: string; ref: string } | undefined {
  const sep = kind === 'ImageStreamTag' ? ':' : '@';
  const parts = name.split(sep);
  if (parts.length === 1) return parts[0] ? { stream: defaultStream, ref: parts[0] } : undefined;
  if (parts.length === 2 && parts[0] && parts[1]) return { stream: parts[0], ref: parts[1] };
  return undefined;
}

/**
 * A non-reference tag that copies an image stored in the internal registry under another stream is re-pointed
 * at this stream, so pulls go through (and are authorized by) this stream.
 */
function rewriteInternal(
  event: TagEvent,
  sourceNs: string,
  sourceStream: string,
  state: StreamState,
  cfg: StreamRulesConfig,
): string {
  const host = cfg.internalRegistryHostname;
  if (!host || !event.image) return event.dockerImageReference;
  const prefix = `${host}/${sourceNs}/${sourceStream}`;
  const ref = event.dockerImageReference;
  if (ref !== prefix && !ref.startsWith(`${prefix}@`) && !ref.startsWith(`${prefix}:`)) return ref;
  return `${host}/${state.head.namespace}/${state.head.name}@${event.image}`;
}
