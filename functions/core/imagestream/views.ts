import {
  IMAGE_API_VERSION,
  type Image,
  type ImageStream,
  type ImageStreamImage,
  type ImageStreamTag,
  type NamedTagEventList,
  type TagEvent,
  type TagReference,
} from '../api-types';
import { toEntries } from '../managed-fields';
import { parseDockerImageReference } from '../reference';
import { isVisible, RECENT_EVENTS_KEPT, type StreamHead, type TagRecord } from './model';
import { managersOf } from './ownership';
import type { StreamRulesConfig } from './spec-rules';

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** status.dockerImageRepository is derived on every read from the current registry configuration (docs/semantics.md#registry-hostnames). */
export function statusRepository(
  head: StreamHead,
  cfg: StreamRulesConfig,
): { internal: string; public: string } {
  const internal = cfg.internalRegistryHostname
    ? `${cfg.internalRegistryHostname}/${head.namespace}/${head.name}`
    : head.dockerImageRepository;
  const pub = cfg.externalRegistryHostname
    ? `${cfg.externalRegistryHostname}/${head.namespace}/${head.name}`
    : '';
  return { internal, public: pub };
}

export function objectMeta(head: StreamHead) {
  return {
    name: head.name,
    namespace: head.namespace,
    uid: head.uid,
    resourceVersion: String(head.resourceVersion),
    generation: head.generation,
    creationTimestamp: head.creationTimestamp,
    ...(Object.keys(head.labels).length ? { labels: head.labels } : {}),
    ...(Object.keys(head.annotations).length ? { annotations: head.annotations } : {}),
  };
}

/**
 * The `image.openshift.io/v1` ImageStream: lists sorted by tag name, status computed on read, each tag's history
 * cut to its newest `historyLimit` events (the full history is served by imagestreamtaghistories).
 */
export function toImageStream(
  head: StreamHead,
  tags: Iterable<TagRecord>,
  cfg: StreamRulesConfig,
  historyLimit = RECENT_EVENTS_KEPT,
): ImageStream {
  const visible = [...tags].filter(isVisible).sort(byName);
  const specTags = visible.filter((t) => t.spec).map((t) => ({ ...(t.spec as TagReference), name: t.name }));
  const statusTags: NamedTagEventList[] = visible
    .filter((t) => t.recent.length > 0 || t.conditions.length > 0)
    .map((t) => ({
      tag: t.name,
      items: t.recent.length ? t.recent.slice(0, historyLimit) : null,
      ...(t.conditions.length ? { conditions: t.conditions } : {}),
    }));
  const repo = statusRepository(head, cfg);
  const managedFields = head.managedFields?.length ? toEntries(managersOf(head, visible)) : [];
  return {
    kind: 'ImageStream',
    apiVersion: IMAGE_API_VERSION,
    metadata: { ...objectMeta(head), ...(managedFields.length ? { managedFields } : {}) },
    spec: {
      lookupPolicy: { local: head.lookupPolicy.local },
      ...(head.dockerImageRepository ? { dockerImageRepository: head.dockerImageRepository } : {}),
      ...(specTags.length ? { tags: specTags } : {}),
    },
    status: {
      dockerImageRepository: repo.internal,
      ...(repo.public ? { publicDockerImageRepository: repo.public } : {}),
      ...(statusTags.length ? { tags: statusTags } : {}),
    },
  };
}

/**
 * The pull spec a tag resolves to (docs/semantics.md#pull-spec-resolution): `Local` policy points at this stream in the internal
 * registry by digest; `Source` (default) is the recorded reference.
 */
export function resolvePullSpec(
  head: StreamHead,
  tag: TagRecord,
  cfg: StreamRulesConfig,
): string | undefined {
  const ev = tag.recent[0];
  if (!ev) return undefined;
  return resolveEventReference(head, tag.spec, ev, cfg);
}

export function resolveEventReference(
  head: StreamHead,
  spec: TagReference | null,
  ev: TagEvent,
  cfg: StreamRulesConfig,
): string {
  if (spec?.referencePolicy?.type !== 'Local' || !ev.image) return ev.dockerImageReference;
  const repo = statusRepository(head, cfg).internal;
  if (!repo) return ev.dockerImageReference;
  try {
    parseDockerImageReference(repo);
  } catch {
    return ev.dockerImageReference;
  }
  return `${repo}@${ev.image}`;
}

/** Images are returned without raw manifest/config and with their layers order declared (docs/semantics.md#image-metadata). */
export function publicImage(image: Image, annotations?: Record<string, string> | null): Image {
  const { dockerImageManifest: _m, dockerImageConfig: _c, ...rest } = image;
  const merged = { ...(image.metadata.annotations ?? {}), ...(annotations ?? {}) };
  return {
    ...rest,
    metadata: { ...rest.metadata, ...(Object.keys(merged).length ? { annotations: merged } : {}) },
  };
}

/**
 * The ImageStreamTag view of a tag. Reads always pass the image of the newest event; a write answers before the
 * tag resolves (pending import, reference-only tag) with an image part holding just the pull spec, as OpenShift
 * does for writes.
 */
export function toImageStreamTag(
  head: StreamHead,
  tag: TagRecord,
  image: Image | undefined,
  cfg: StreamRulesConfig,
): ImageStreamTag {
  const top = tag.recent[0];
  const annotations = tag.spec?.annotations ?? null;
  const img: Image = image
    ? publicImage(image, annotations)
    : { metadata: top?.image ? { name: top.image } : {}, dockerImageReference: '' };
  img.dockerImageReference = top ? resolveEventReference(head, tag.spec, top, cfg) : '';
  return {
    kind: 'ImageStreamTag',
    apiVersion: IMAGE_API_VERSION,
    metadata: {
      name: `${head.name}:${tag.name}`,
      namespace: head.namespace,
      uid: head.uid,
      resourceVersion: String(head.resourceVersion),
      creationTimestamp: top?.created ?? null,
      ...(Object.keys(head.labels).length ? { labels: head.labels } : {}),
      ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    },
    tag: tag.spec ? { ...tag.spec, name: tag.name } : null,
    generation: top?.generation ?? 0,
    lookupPolicy: { local: head.lookupPolicy.local },
    ...(tag.conditions.length ? { conditions: tag.conditions } : {}),
    image: img,
  };
}

export function toImageStreamImage(head: StreamHead, requestedId: string, image: Image): ImageStreamImage {
  return {
    kind: 'ImageStreamImage',
    apiVersion: IMAGE_API_VERSION,
    metadata: {
      name: `${head.name}@${requestedId}`,
      namespace: head.namespace,
      uid: head.uid,
      resourceVersion: String(head.resourceVersion),
      creationTimestamp: image.metadata.creationTimestamp ?? head.creationTimestamp,
      ...(Object.keys(head.annotations).length ? { annotations: head.annotations } : {}),
    },
    image: publicImage(image),
  };
}
