import type { ApiClient } from '../client';
import { CliError, ServerError } from '../errors';
import { paths } from '../paths';
import type { Manifest } from './manifests';
import {
  isMap,
  type JsonMap,
  LAST_APPLIED,
  lastApplied,
  merge3,
  mergeStringMap,
  sameImageStream,
  sameRoleBinding,
  sameTag,
} from './merge';

/**
 * The kinds `create`, `apply` and `delete` handle, and what each does against the API. Names print as kubectl
 * prints them: `imagestream.image.openshift.io/ruby created`, `imagestream.image.openshift.io "ruby" deleted`.
 */

export type KindName = 'ImageStream' | 'ImageStreamTag' | 'Secret' | 'RoleBinding' | 'Project';

export interface KindInfo {
  kind: KindName;
  /** The apiVersion isctl sends. */
  apiVersion: string;
  /** The apiVersions accepted in files (OpenShift 3 wrote ImageStreams as plain `v1`). */
  accepted: string[];
  /** `imagestream.image.openshift.io`, as kubectl names the resource in its output. */
  display: string;
  namespaced: boolean;
  /** Whether manifests (-f) may hold it. */
  inManifests: boolean;
  path(ns: string, name?: string): string;
}

export const KINDS: Record<KindName, KindInfo> = {
  ImageStream: {
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    accepted: ['image.openshift.io/v1', 'v1'],
    display: 'imagestream.image.openshift.io',
    namespaced: true,
    inManifests: true,
    path: paths.imagestreams,
  },
  ImageStreamTag: {
    kind: 'ImageStreamTag',
    apiVersion: 'image.openshift.io/v1',
    accepted: ['image.openshift.io/v1', 'v1'],
    display: 'imagestreamtag.image.openshift.io',
    namespaced: true,
    inManifests: true,
    path: paths.imagestreamtags,
  },
  Secret: {
    kind: 'Secret',
    apiVersion: 'v1',
    accepted: ['v1'],
    display: 'secret',
    namespaced: true,
    inManifests: true,
    path: paths.secrets,
  },
  RoleBinding: {
    kind: 'RoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    accepted: ['rbac.authorization.k8s.io/v1'],
    display: 'rolebinding.rbac.authorization.k8s.io',
    namespaced: true,
    inManifests: true,
    path: paths.rolebindings,
  },
  Project: {
    kind: 'Project',
    apiVersion: 'project.openshift.io/v1',
    accepted: ['project.openshift.io/v1'],
    display: 'project.project.openshift.io',
    namespaced: false,
    inManifests: false,
    path: (_ns, name) => paths.projects(name),
  },
};

/** Resource names and short names on the command line (`isctl delete is ruby`), as oc spells them. */
const RESOURCE_NAMES: Array<[KindName, string[]]> = [
  [
    'ImageStream',
    [
      'is',
      'imagestream',
      'imagestreams',
      'imagestream.image.openshift.io',
      'imagestreams.image.openshift.io',
    ],
  ],
  [
    'ImageStreamTag',
    [
      'istag',
      'imagestreamtag',
      'imagestreamtags',
      'imagestreamtag.image.openshift.io',
      'imagestreamtags.image.openshift.io',
    ],
  ],
  ['Secret', ['secret', 'secrets']],
  [
    'RoleBinding',
    [
      'rolebinding',
      'rolebindings',
      'rolebinding.rbac.authorization.k8s.io',
      'rolebindings.rbac.authorization.k8s.io',
    ],
  ],
  ['Project', ['project', 'projects', 'project.project.openshift.io', 'projects.project.openshift.io']],
];

export const RESOURCE_ALIASES: Record<string, KindName> = Object.fromEntries(
  RESOURCE_NAMES.flatMap(([kind, names]) => names.map((n) => [n, kind] as const)),
);

/** The short names `delete` offers for completion: one line per kind, short name first. */
export const DELETE_RESOURCE_TYPES = RESOURCE_NAMES.flatMap(([, names]) => names.slice(0, 3));

export function kindForResource(resource: string): KindInfo | undefined {
  const k = RESOURCE_ALIASES[resource.toLowerCase()];
  return k ? KINDS[k] : undefined;
}

/** One object to act on: its kind, where it lives and what the file says (server-owned fields removed). */
export interface Target {
  info: KindInfo;
  source: string;
  namespace: string;
  name: string;
  object: JsonMap;
}

/** Metadata the server owns; exported objects carry them and a write must not. */
const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];

/** The object without status and server-owned metadata (and, for tags, the read-only image view). */
export function cleanObject(obj: JsonMap, kind: KindName): JsonMap {
  const out = structuredClone(obj);
  delete out.status;
  const meta = isMap(out.metadata) ? out.metadata : {};
  for (const f of SERVER_METADATA) delete meta[f];
  if (isMap(meta.annotations)) delete meta.annotations[LAST_APPLIED];
  if (kind === 'ImageStreamTag')
    for (const f of ['image', 'conditions', 'generation', 'lookupPolicy']) delete out[f];
  out.metadata = meta;
  return out;
}

/**
 * Every manifest checked before anything is written: a known kind and apiVersion, a name, a namespace that
 * agrees with an explicit `-n` (kubectl's rule). Throws one {@link CliError} listing every problem.
 */
export function resolveTargets(
  manifests: Manifest[],
  explicitNamespace: string | undefined,
  project: () => string,
): Target[] {
  const problems: string[] = [];
  const targets: Target[] = [];
  for (const m of manifests) {
    const obj = m.object;
    const kind = typeof obj.kind === 'string' ? obj.kind : '';
    const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
    const meta = isMap(obj.metadata) ? obj.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    const what = `${m.source}: ${kind || 'object'}${name ? ` "${name}"` : ''}`;
    if (!kind || !apiVersion) {
      problems.push(`${what}: apiVersion and kind are required`);
      continue;
    }
    const info = (KINDS as Record<string, KindInfo>)[kind];
    if (!info?.inManifests || !info.accepted.includes(apiVersion)) {
      problems.push(
        `${what}: no matches for kind "${kind}" in version "${apiVersion}"; isctl manages ImageStream and ImageStreamTag (image.openshift.io/v1), Secret (v1) and RoleBinding (rbac.authorization.k8s.io/v1)`,
      );
      continue;
    }
    if (!name) {
      problems.push(`${what}: metadata.name is required`);
      continue;
    }
    if (kind === 'ImageStreamTag' && !/^[^:@/]+:[^:@/]+$/.test(name)) {
      problems.push(`${what}: the name of an ImageStreamTag must be <stream>:<tag>`);
      continue;
    }
    if (kind === 'ImageStreamTag' && !isMap(obj.tag)) {
      problems.push(`${what}: tag is required (the spec tag: from, importPolicy, referencePolicy…)`);
      continue;
    }
    const given = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : undefined;
    if (given && explicitNamespace && given !== explicitNamespace) {
      problems.push(
        `${what}: the namespace from the provided object "${given}" does not match the namespace "${explicitNamespace}". You must pass '--namespace=${given}' to perform this operation.`,
      );
      continue;
    }
    let namespace: string;
    try {
      namespace = given ?? project();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
      continue;
    }
    targets.push({ info, source: m.source, namespace, name, object: cleanObject(obj, info.kind) });
  }
  if (problems.length > 0)
    throw new CliError(`${problems.join('\nerror: ')}\nnothing was written: fix the manifests and run again`);
  return targets;
}

/** The object as sent: the canonical apiVersion and the namespace it is written to. */
function body(t: Target, extra: { annotations?: Record<string, string> } = {}): JsonMap {
  const meta: JsonMap = { ...(t.object.metadata as JsonMap), namespace: t.namespace };
  const annotations = {
    ...((meta.annotations as Record<string, string> | null) ?? {}),
    ...extra.annotations,
  };
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  else delete meta.annotations;
  return { ...t.object, apiVersion: t.info.apiVersion, kind: t.info.kind, metadata: meta };
}

export function reasonOf(e: unknown): string | undefined {
  return e instanceof ServerError ? e.reason : undefined;
}

async function getOrUndefined(client: ApiClient, path: string): Promise<JsonMap | undefined> {
  try {
    return await client.get<JsonMap>(path);
  } catch (e) {
    if (reasonOf(e) === 'NotFound') return undefined;
    throw e;
  }
}

/** POST: AlreadyExists (and any other refusal) is the caller's to report. */
export async function createTarget(client: ApiClient, t: Target): Promise<void> {
  await client.post(t.info.path(t.namespace), body(t));
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

/** Create when missing, else update only if something would change (one retry when someone else wrote first). */
export async function applyTarget(client: ApiClient, t: Target): Promise<ApplyOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      switch (t.info.kind) {
        case 'ImageStream':
          return await applyImageStream(client, t);
        case 'RoleBinding':
          return await applyRoleBinding(client, t);
        case 'ImageStreamTag':
          return await applyImageStreamTag(client, t);
        case 'Secret':
          return await applySecret(client, t);
        default:
          throw new CliError(`${t.info.kind} cannot be applied`);
      }
    } catch (e) {
      const reason = reasonOf(e);
      if (attempt === 0 && (reason === 'Conflict' || reason === 'AlreadyExists')) continue;
      throw e;
    }
  }
}

/** kubectl's form of the applied configuration: the file's object as compact JSON. */
function appliedText(t: Target): string {
  return `${JSON.stringify({ ...t.object, apiVersion: t.info.apiVersion, kind: t.info.kind })}\n`;
}

function metaOf(o: JsonMap): JsonMap {
  return isMap(o.metadata) ? o.metadata : {};
}

/** Labels and annotations merged three-way, the applied configuration recorded. */
function mergedMeta(t: Target, live: JsonMap, last: JsonMap | undefined, record: boolean): JsonMap {
  const liveMeta = metaOf(live);
  const fileMeta = metaOf(t.object);
  const lastMeta = last ? metaOf(last) : {};
  const labels = mergeStringMap(liveMeta.labels, fileMeta.labels, lastMeta.labels);
  const annotations = {
    ...mergeStringMap(liveMeta.annotations, fileMeta.annotations, lastMeta.annotations),
    ...(record ? { [LAST_APPLIED]: appliedText(t) } : {}),
  };
  return {
    name: t.name,
    namespace: t.namespace,
    resourceVersion: liveMeta.resourceVersion,
    ...(labels ? { labels } : {}),
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
}

async function applyImageStream(client: ApiClient, t: Target): Promise<ApplyOutcome> {
  const path = t.info.path(t.namespace, t.name);
  const live = await getOrUndefined(client, path);
  if (!live) {
    await client.post(t.info.path(t.namespace), body(t, { annotations: { [LAST_APPLIED]: appliedText(t) } }));
    return 'created';
  }
  const last = lastApplied(live);
  const spec = merge3(live.spec ?? {}, t.object.spec ?? {}, last?.spec, { tags: 'name' }) ?? {};
  const desired: JsonMap = {
    apiVersion: t.info.apiVersion,
    kind: t.info.kind,
    metadata: mergedMeta(t, live, last, true),
    spec,
  };
  if (sameImageStream(desired, live)) return 'unchanged';
  await client.put(path, desired);
  return 'configured';
}

async function applyRoleBinding(client: ApiClient, t: Target): Promise<ApplyOutcome> {
  const path = t.info.path(t.namespace, t.name);
  const live = await getOrUndefined(client, path);
  if (!live) {
    await client.post(t.info.path(t.namespace), body(t, { annotations: { [LAST_APPLIED]: appliedText(t) } }));
    return 'created';
  }
  const desired: JsonMap = {
    apiVersion: t.info.apiVersion,
    kind: t.info.kind,
    metadata: mergedMeta(t, live, lastApplied(live), true),
    // Subjects are an atomic list in Kubernetes: the file's replace the live ones.
    roleRef: t.object.roleRef,
    subjects: Array.isArray(t.object.subjects) ? t.object.subjects : [],
  };
  if (sameRoleBinding(desired, live, t.namespace)) return 'unchanged';
  await client.put(path, desired);
  return 'configured';
}

/**
 * An ImageStreamTag is the spec tag of its stream: read there (GET imagestreamtags is 404 until the tag has an
 * image), written with PUT imagestreamtags (an upsert). The file's fields go over the live tag's.
 */
async function applyImageStreamTag(client: ApiClient, t: Target): Promise<ApplyOutcome> {
  const [stream, tag] = t.name.split(':') as [string, string];
  const live = await getOrUndefined(client, paths.imagestreams(t.namespace, stream));
  const liveTags = isMap(live?.spec) && Array.isArray(live.spec.tags) ? live.spec.tags.filter(isMap) : [];
  const liveTag = liveTags.find((x) => x.name === tag);
  const fileTag = t.object.tag as JsonMap;
  const meta = metaOf(t.object);
  const annotations = (meta.annotations ?? fileTag.annotations ?? null) as Record<string, string> | null;
  const merged = (liveTag ? merge3(liveTag, fileTag, undefined) : structuredClone(fileTag)) as JsonMap;
  const desired: JsonMap = { ...merged, name: tag, annotations };
  if (liveTag && sameTag(desired, liveTag)) return 'unchanged';
  await client.put(t.info.path(t.namespace, t.name), {
    apiVersion: t.info.apiVersion,
    kind: t.info.kind,
    metadata: {
      name: t.name,
      namespace: t.namespace,
      ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    },
    tag: desired,
  });
  return liveTag ? 'configured' : 'created';
}

/**
 * Secrets: PUT replaces an existing one in place (the server never returns a secret's content, so there is nothing
 * to compare it with: applying a Secret that exists always reports `configured`), POST creates a missing one.
 * Nothing about the content is kept anywhere else, not even a hash of it.
 */
async function applySecret(client: ApiClient, t: Target): Promise<ApplyOutcome> {
  const live = await getOrUndefined(client, t.info.path(t.namespace, t.name));
  if (!live) {
    await client.post(t.info.path(t.namespace), body(t));
    return 'created';
  }
  const rv = metaOf(live).resourceVersion;
  const next = body(t);
  if (rv) (next.metadata as JsonMap).resourceVersion = rv;
  await client.put(t.info.path(t.namespace, t.name), next);
  return 'configured';
}

/** DELETE; with `ignoreNotFound` a missing object is no error. Returns whether something was deleted. */
export async function deleteTarget(
  client: ApiClient,
  info: KindInfo,
  namespace: string,
  name: string,
  ignoreNotFound: boolean,
): Promise<boolean> {
  try {
    await client.delete(info.path(namespace, name));
    return true;
  } catch (e) {
    if (ignoreNotFound && reasonOf(e) === 'NotFound') return false;
    throw e;
  }
}
