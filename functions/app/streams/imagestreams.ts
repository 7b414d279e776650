import jsonPatch, { type Operation } from 'fast-json-patch';
import { IMAGE_API_VERSION, type ImageStream, type List, type TagReference } from '../../core/api-types';
import {
  alreadyExists,
  badRequest,
  FieldError,
  invalid,
  notFound,
  resources,
  type Status,
  StatusError,
  successStatus,
  unsupportedMediaType,
} from '../../core/errors';
import { RECENT_EVENTS_KEPT, type StreamHead, type StreamState } from '../../core/imagestream/model';
import { managersOf, storeManagers } from '../../core/imagestream/ownership';
import { applySpecUpdate, canonical, normalizeTagReference } from '../../core/imagestream/spec-rules';
import {
  validateDockerImageRepository,
  validateObjectMeta,
  validateSpecTag,
  validateStreamName,
} from '../../core/imagestream/validation';
import { toImageStream } from '../../core/imagestream/views';
import { parseLabelSelector } from '../../core/label-selector';
import {
  apply as applyFields,
  LAST_APPLIED,
  lastAppliedFields,
  requestedManagers,
  update as updateFields,
} from '../../core/managed-fields';
import { mergePatch, strategicMergePatch } from '../../core/patch';
import { ConcurrentWriteError } from '../ports/streams';
import { type AppContext, actorOf } from '../shared/context';
import { decodeDeleteOptions, decodeImageStream, decodeNamespaced, imageStream } from '../shared/decode';
import { decodeContinue, encodeContinue, MAX_PAGE, parseLimit } from '../shared/paging';
import { generateName, mapLimited, requireNamespace } from '../shared/requests';
import { objectVersion } from '../shared/resource-versions';
import { checkFields } from '../shared/unknown-fields';
import { guaranteedUpdate, streamConflict, UNCHANGED, type WriteOptions } from './guaranteed-update';

type DecodedStream = ReturnType<typeof decodeImageStream>;

/** Spec tags as a map: duplicate names collapse, the last one wins (as OpenShift decodes a list into a map). */
function desiredTags(body: DecodedStream, ctx: AppContext, errors: FieldError[]): Map<string, TagReference> {
  const out = new Map<string, TagReference>();
  for (const tag of body.spec?.tags ?? []) {
    const path = `spec.tags[${tag.name}]`;
    const errs = validateSpecTag(tag as TagReference, path);
    errors.push(...errs);
    out.set(tag.name, normalizeTagReference(tag as TagReference, ctx.rules));
  }
  return out;
}

function streamHistoryLimit(raw: string | null): number {
  if (raw === null || raw === '') return RECENT_EVENTS_KEPT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > RECENT_EVENTS_KEPT)
    throw badRequest(
      `historyLimit must be an integer from 0 to ${RECENT_EVENTS_KEPT}; the full history of a tag is served by imagestreamtaghistories`,
    );
  return n;
}

export async function getImageStream(
  ctx: AppContext,
  ns: string,
  name: string,
  query: URLSearchParams,
): Promise<ImageStream> {
  requireNamespace(ns);
  const limit = streamHistoryLimit(query.get('historyLimit'));
  const state = await ctx.streams.loadStream(ns, name);
  if (!state) throw notFound(resources.imagestreams, name);
  return toImageStream(state.head, state.tags.values(), ctx.rules, limit);
}

export async function listImageStreams(
  ctx: AppContext,
  ns: string,
  query: URLSearchParams,
): Promise<List<ImageStream>> {
  requireNamespace(ns);
  const matches = parseLabelSelector(query.get('labelSelector') ?? '');
  const limit = Math.min(parseLimit(query.get('limit')) ?? MAX_PAGE, MAX_PAGE);
  const historyLimit = streamHistoryLimit(query.get('historyLimit'));
  const token = decodeContinue(
    query.get('continue'),
    (t): t is { after: string } => typeof (t as { after?: unknown })?.after === 'string',
  );
  const items: ImageStream[] = [];
  let after = token?.after;
  let more = true;
  while (items.length < limit && more) {
    const page = await ctx.streams.listHeads(ns, { limit: limit - items.length, after });
    more = page.more;
    const wanted = page.heads.filter((h) => matches(h.labels));
    const views = await mapLimited(wanted, 8, async (h) => {
      const { tags } = await ctx.streams.queryTags(h);
      return toImageStream(h, tags, ctx.rules, historyLimit);
    });
    items.push(...views);
    after = page.heads.at(-1)?.name ?? after;
    if (page.heads.length === 0) break;
  }
  return {
    kind: 'ImageStreamList',
    apiVersion: 'image.openshift.io/v1',
    metadata: more && after ? { continue: encodeContinue({ after }) } : {},
    items,
  };
}

export async function createImageStream(
  ctx: AppContext,
  ns: string,
  rawBody: unknown,
  opts: WriteOptions = {},
): Promise<ImageStream> {
  const body = decodeNamespaced(ns, rawBody, decodeImageStream, 'ImageStream');
  checkFields(imageStream, 'ImageStream', rawBody, opts);
  const name =
    body.metadata.name || (body.metadata.generateName ? generateName(body.metadata.generateName) : '');
  const errors: FieldError[] = [...validateStreamName(ns, name), ...validateObjectMeta(body.metadata)];
  errors.push(...validateDockerImageRepository(body.spec?.dockerImageRepository));
  const tags = desiredTags(body, ctx, errors);
  if (errors.length) throw invalid('ImageStream', 'image.openshift.io', name, errors);

  const { after } = await guaranteedUpdate(ctx, {
    ns,
    name,
    read: { kind: 'none' },
    missing: 'create',
    newStream: () => {
      const now = ctx.clock();
      const head: StreamHead = {
        namespace: ns,
        name,
        uid: ctx.newUid(),
        resourceVersion: 1,
        generation: 1,
        creationTimestamp: now,
        labels: body.metadata.labels ?? {},
        annotations: body.metadata.annotations ?? {},
        lookupPolicy: { local: Boolean(body.spec?.lookupPolicy?.local) },
        dockerImageRepository: body.spec?.dockerImageRepository ?? '',
      };
      return { head, tags: new Map(), complete: true };
    },
    strategy: (state, { now }) => {
      const change = applySpecUpdate(state, { tags }, { create: true, newTid: ctx.newTid });
      recordUpdate(ctx, undefined, state, opts, now, body);
      return { ...change, specChanged: true };
    },
    mode: 'stream',
    retry: false,
    conflict: (e) => (e.target === 'head' ? alreadyExists(resources.imagestreams, name) : undefined),
    dryRun: !!opts.dryRun,
  });
  return toImageStream(after.head, after.tags.values(), ctx.rules);
}

/**
 * PUT imagestreams/{name}: resourceVersion required, status kept as stored, spec generations as
 * docs/semantics.md#generations says, tags resolved and aliases propagated in the same write.
 */
export async function updateImageStream(
  ctx: AppContext,
  ns: string,
  name: string,
  rawBody: unknown,
  opts: WriteOptions = {},
): Promise<ImageStream> {
  const body = decodeNamespaced(ns, rawBody, decodeImageStream, 'ImageStream');
  checkFields(imageStream, 'ImageStream', rawBody, opts);
  if (body.metadata.name !== undefined && body.metadata.name !== name)
    throw badRequest(
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
    );
  const rv = body.metadata.resourceVersion;
  if (!rv)
    throw invalid('ImageStream', 'image.openshift.io', name, [
      FieldError.invalid('metadata.resourceVersion', '0x0', 'must be specified for an update'),
    ]);
  const expectedRv = await objectVersion(ctx, 'imagestreams', ns, name, Number(rv));
  const desired = validateWholeStream(ctx, name, body);
  const { after } = await guaranteedUpdate(ctx, {
    ns,
    name,
    read: { kind: 'stream' },
    missing: 'not-found',
    precondition: (current) => {
      if (current && current.head.resourceVersion !== expectedRv) throw streamConflict(name);
      if (current) checkUid(body, current);
    },
    strategy: (state, { before, now }) => {
      const change = applyWholeStream(ctx, state, body, desired);
      recordUpdate(ctx, before, state, opts, now, body);
      return change;
    },
    mode: 'stream',
    retry: false,
    conflict: () => streamConflict(name),
    dryRun: !!opts.dryRun,
  });
  return toImageStream(after.head, after.tags.values(), ctx.rules);
}

/**
 * Field ownership after a write that is not an apply: its manager owns what it added or changed
 * (functions/core/managed-fields.ts `update`), stored on the head and the spec tags' records.
 */
function recordUpdate(
  ctx: AppContext,
  before: StreamState | undefined,
  after: StreamState,
  opts: WriteOptions,
  now: string,
  body: DecodedStream,
): void {
  const live = before ? toImageStream(before.head, before.tags.values(), ctx.rules) : undefined;
  // managedFields sent as they were read change nothing; different ones replace the stored ones (as Kubernetes).
  const sent = body.metadata.managedFields;
  const requested =
    sent !== undefined && canonical(sent) !== canonical(live?.metadata.managedFields)
      ? requestedManagers(sent)
      : { errors: [] };
  if (requested.errors.length)
    throw invalid('ImageStream', 'image.openshift.io', after.head.name, requested.errors);
  const managers = updateFields({
    before: live,
    after: toImageStream(after.head, after.tags.values(), ctx.rules),
    managers: requested.managers ?? (before ? managersOf(before.head, before.tags.values()) : new Map()),
    manager: opts.fieldManager ?? 'unknown',
    apiVersion: IMAGE_API_VERSION,
    now,
  });
  storeManagers(after.head, after.tags, managers);
}

/** The checks of a whole-stream body that need no stored state (422); returns its spec tags. */
function validateWholeStream(ctx: AppContext, name: string, body: DecodedStream): Map<string, TagReference> {
  const errors: FieldError[] = [...validateObjectMeta(body.metadata)];
  errors.push(...validateDockerImageRepository(body.spec?.dockerImageRepository));
  const desired = desiredTags(body, ctx, errors);
  if (errors.length) throw invalid('ImageStream', 'image.openshift.io', name, errors);
  return desired;
}

/** A body's uid must be the stored one (409, as Kubernetes words a failed uid precondition). */
function checkUid(body: DecodedStream, current: StreamState): void {
  if (body.metadata.uid && body.metadata.uid !== current.head.uid)
    throw new StatusError(
      409,
      'Conflict',
      `Precondition failed: UID in precondition: ${body.metadata.uid}, UID in object meta: ${current.head.uid}`,
    );
}

/** The whole-stream strategy: metadata and spec as the body says, every spec tag not in it removed. */
function applyWholeStream(
  ctx: AppContext,
  state: StreamState,
  body: DecodedStream,
  desired: Map<string, TagReference>,
  create = false,
) {
  state.head.labels = body.metadata.labels ?? {};
  state.head.annotations = body.metadata.annotations ?? {};
  const tags = new Map<string, TagReference | null>();
  for (const [t, rec] of state.tags) if (rec.spec) tags.set(t, null);
  for (const [t, spec] of desired) tags.set(t, spec);
  return applySpecUpdate(
    state,
    {
      tags,
      head: {
        lookupPolicy: { local: Boolean(body.spec?.lookupPolicy?.local) },
        dockerImageRepository: body.spec?.dockerImageRepository ?? '',
      },
    },
    { create, newTid: ctx.newTid },
  );
}

export const PATCH_TYPES = [
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

/**
 * PATCH applies to the current object and writes the result as an update. Without a resourceVersion in the patch,
 * a writer that got in first only means "apply again to the new object" (the write retries); with one, the stored
 * stream must be at that version (409 otherwise). Every other failure (a uid the patch changed, a bad spec) is the
 * answer.
 */
export async function patchImageStream(
  ctx: AppContext,
  ns: string,
  name: string,
  contentType: string,
  patch: unknown,
  opts: WriteOptions = {},
): Promise<ImageStream> {
  requireNamespace(ns);
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (!PATCH_TYPES.includes(type)) throw unsupportedMediaType(contentType, PATCH_TYPES);
  if (type === APPLY) return (await applyImageStream(ctx, ns, name, patch, opts)).stream;
  const rawRv = (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
  const explicitRv =
    rawRv === undefined ? undefined : await objectVersion(ctx, 'imagestreams', ns, name, Number(rawRv));
  const { after } = await guaranteedUpdate(ctx, {
    ns,
    name,
    read: { kind: 'stream' },
    missing: 'not-found',
    strategy: (state, { before, now }) => {
      const current = toImageStream(before!.head, before!.tags.values(), ctx.rules);
      const patched = applyPatch(type, current, patch);
      checkFields(imageStream, 'ImageStream', patched, opts);
      const body = decodeImageStream(patched);
      if (body.metadata.name !== name || (body.metadata.namespace && body.metadata.namespace !== ns))
        throw badRequest('a patch may not change metadata.name or metadata.namespace');
      const desired = validateWholeStream(ctx, name, body);
      if (explicitRv !== undefined && before!.head.resourceVersion !== explicitRv) throw streamConflict(name);
      checkUid(body, before!);
      const change = applyWholeStream(ctx, state, body, desired);
      recordUpdate(ctx, before, state, opts, now, body);
      return change;
    },
    mode: 'stream',
    ...(explicitRv !== undefined ? { retry: false as const, conflict: () => streamConflict(name) } : {}),
    dryRun: !!opts.dryRun,
  });
  return toImageStream(after.head, after.tags.values(), ctx.rules);
}

const APPLY = 'application/apply-patch+yaml';

/**
 * Server-side apply (`application/apply-patch+yaml`): the caller's intended object merged into the stream as its
 * field manager owns it (functions/core/managed-fields.ts), creating the stream when there is none. A change of a
 * field another manager owns is a 409 naming it, unless `force`; fields the manager stops applying are removed
 * when no other manager owns them. An apply that changes nothing writes nothing.
 */
export async function applyImageStream(
  ctx: AppContext,
  ns: string,
  name: string,
  config: unknown,
  opts: WriteOptions = {},
): Promise<{ stream: ImageStream; created: boolean }> {
  requireNamespace(ns);
  if (config === null || typeof config !== 'object' || Array.isArray(config))
    throw badRequest('an apply patch must be an object (the intended ImageStream)');
  const intent = decodeNamespaced(ns, config, decodeImageStream, 'ImageStream');
  checkFields(imageStream, 'ImageStream', config, opts);
  if (intent.metadata.managedFields !== undefined && intent.metadata.managedFields !== null)
    throw badRequest('metadata.managedFields must be nil');
  if (intent.metadata.name !== name)
    throw badRequest(
      `the name of the object (${intent.metadata.name ?? ''}) does not match the name on the URL (${name})`,
    );
  const { after, created } = await guaranteedUpdate(ctx, {
    ns,
    name,
    read: { kind: 'stream' },
    missing: 'create',
    strategy: (state, { before, creating, now }) => {
      const live = before ? toImageStream(before.head, before.tags.values(), ctx.rules) : undefined;
      const manager = opts.fieldManager ?? 'unknown';
      // kubectl's own server-side apply may take what its client-side apply configured, as kube-apiserver lets it.
      const kubectl = manager === 'kubectl' && live?.metadata.annotations?.[LAST_APPLIED] !== undefined;
      const result = applyFields({
        live,
        config,
        managers: before ? managersOf(before.head, before.tags.values()) : new Map(),
        manager,
        force: !!opts.force,
        apiVersion: IMAGE_API_VERSION,
        now,
        ...(kubectl ? { allowedConflicts: lastAppliedFields(live) } : {}),
      });
      if (!creating && !result.changed) return UNCHANGED;
      const merged = result.object as { metadata?: { annotations?: Record<string, string> } };
      // ...and keeps that annotation in step with what it applies, so a later client-side apply still works.
      if (kubectl)
        merged.metadata = {
          ...merged.metadata,
          annotations: { ...merged.metadata?.annotations, [LAST_APPLIED]: lastAppliedOf(config) },
        };
      const body = decodeImageStream({ ...merged, metadata: { ...merged.metadata, name, namespace: ns } });
      const errors = creating ? validateStreamName(ns, name) : [];
      if (errors.length) throw invalid('ImageStream', 'image.openshift.io', name, errors);
      const desired = validateWholeStream(ctx, name, body);
      if (before) checkUid(intent, before);
      const change = applyWholeStream(ctx, state, body, desired, creating);
      storeManagers(state.head, state.tags, result.managers);
      return creating ? { ...change, specChanged: true } : change;
    },
    mode: 'stream',
    dryRun: !!opts.dryRun,
  });
  return { stream: toImageStream(after.head, after.tags.values(), ctx.rules), created };
}

/** The configuration as client-side apply records it: without its own annotation. */
function lastAppliedOf(config: unknown): string {
  const c = structuredClone(config) as { metadata?: { annotations?: Record<string, string> } };
  if (c.metadata?.annotations) {
    delete c.metadata.annotations[LAST_APPLIED];
    if (!Object.keys(c.metadata.annotations).length) delete c.metadata.annotations;
  }
  return `${JSON.stringify(c)}\n`;
}

/** The patched object: RFC 6902 (JSON patch), RFC 7386 (merge patch) or Kubernetes' strategic merge patch. */
function applyPatch(type: string, current: ImageStream, patch: unknown): unknown {
  if (type === 'application/json-patch+json') {
    if (!Array.isArray(patch)) throw badRequest('a JSON patch must be an array of operations');
    return applyJsonPatch(current, patch);
  }
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
    throw badRequest('a merge patch must be a JSON object');
  return type === 'application/merge-patch+json'
    ? mergePatch(current, patch)
    : strategicMergePatch(current, patch);
}

/** RFC 6902 operations applied to a copy of `current`; a patch that cannot apply is 422, as Kubernetes answers. */
function applyJsonPatch(current: ImageStream, patch: unknown[]): unknown {
  const invalidPatch = (what: string, e: unknown) =>
    new StatusError(422, 'Invalid', `the JSON patch ${what}: ${(e as Error).message.split('\n')[0]}`);
  const ops = patch as Operation[];
  // The library refuses paths through `__proto__` (and `constructor/prototype`) by throwing; so does this API.
  let err: unknown;
  try {
    err = jsonPatch.validate(ops, current);
  } catch (e) {
    err = e;
  }
  if (err) throw invalidPatch('is invalid', err);
  try {
    return jsonPatch.applyPatch(structuredClone(current), ops, true, false).newDocument;
  } catch (e) {
    throw invalidPatch('could not be applied', e);
  }
}

export async function deleteImageStream(
  ctx: AppContext,
  ns: string,
  name: string,
  rawBody: unknown,
  writeOpts: WriteOptions = {},
): Promise<Status> {
  requireNamespace(ns);
  const opts = decodeDeleteOptions(rawBody);
  const head = await ctx.streams.getHead(ns, name);
  if (!head) throw notFound(resources.imagestreams, name);
  const pre = opts.preconditions;
  const expectedRv = pre?.resourceVersion
    ? await objectVersion(ctx, 'imagestreams', ns, name, Number(pre.resourceVersion))
    : undefined;
  if (pre?.uid && pre.uid !== head.uid)
    throw new StatusError(
      409,
      'Conflict',
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${head.uid}`,
    );
  if (expectedRv !== undefined && expectedRv !== head.resourceVersion)
    throw new StatusError(
      409,
      'Conflict',
      `Precondition failed: ResourceVersion in precondition: ${pre!.resourceVersion}, ResourceVersion in object meta: ${head.resourceVersion}`,
    );
  const deleted = successStatus({ name, group: 'image.openshift.io', kind: 'imagestreams', uid: head.uid });
  if (writeOpts.dryRun) return deleted;
  try {
    await ctx.streams.deleteHead(
      head,
      {
        uid: head.uid,
        ...(expectedRv !== undefined ? { resourceVersion: expectedRv } : {}),
      },
      actorOf(ctx),
    );
  } catch (e) {
    if (e instanceof ConcurrentWriteError) {
      if (e.headMissing) throw notFound(resources.imagestreams, name);
      throw streamConflict(name);
    }
    throw e;
  }
  // Tags and history are unreachable now; removing them is housekeeping with a bounded budget.
  await ctx.streams.sweep(ns, name, 3_000, actorOf(ctx)).catch(() => false);
  return deleted;
}
