import jsonPatch, { type Operation } from 'fast-json-patch';
import type { ImageStream, List, TagReference } from '../../core/api-types';
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
import { applySpecUpdate, normalizeTagReference } from '../../core/imagestream/spec-rules';
import {
  validateDockerImageRepository,
  validateObjectMeta,
  validateSpecTag,
  validateStreamName,
} from '../../core/imagestream/validation';
import { toImageStream } from '../../core/imagestream/views';
import { parseLabelSelector } from '../../core/label-selector';
import { mergePatch, strategicMergePatch } from '../../core/patch';
import { ConcurrentWriteError } from '../ports/streams';
import { type AppContext, actorOf } from '../shared/context';
import { checkKind, decodeDeleteOptions, decodeImageStream } from '../shared/decode';
import { decodeContinue, encodeContinue, MAX_PAGE, parseLimit } from '../shared/paging';
import { checkNamespace, generateName, mapLimited, requireNamespace } from '../shared/requests';
import { commit, resolveAndTrack, retryOnConflict, snapshot, streamConflict } from './stream-writes';

type DecodedStream = ReturnType<typeof decodeImageStream>;

/** Spec tags as a map: duplicate names collapse, last wins (reference Q2). */
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

export async function createImageStream(ctx: AppContext, ns: string, rawBody: unknown): Promise<ImageStream> {
  requireNamespace(ns);
  const body = decodeImageStream(rawBody);
  checkKind(body, 'ImageStream');
  checkNamespace(body.metadata, ns);
  const name =
    body.metadata.name || (body.metadata.generateName ? generateName(body.metadata.generateName) : '');
  const errors: FieldError[] = [...validateStreamName(ns, name), ...validateObjectMeta(body.metadata)];
  errors.push(...validateDockerImageRepository(body.spec?.dockerImageRepository));
  const tags = desiredTags(body, ctx, errors);
  if (errors.length) throw invalid('ImageStream', 'image.openshift.io', name, errors);

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
  const state: StreamState = { head, tags: new Map(), complete: true };
  const { changedTags } = applySpecUpdate(state, { tags }, { create: true, newTid: ctx.newTid });
  const { childImages } = await resolveAndTrack(ctx, undefined, state, changedTags, now);
  try {
    await commit(ctx, 'create', undefined, state, true, childImages);
  } catch (e) {
    if (e instanceof ConcurrentWriteError && e.target === 'head')
      throw alreadyExists(resources.imagestreams, name);
    throw e;
  }
  return toImageStream(state.head, state.tags.values(), ctx.rules);
}

/**
 * PUT imagestreams/{name} (reference §3): resourceVersion required, status forced to the stored one, spec
 * generations per §3.1–§3.2, tags resolved and aliases propagated in the same write.
 */
export async function updateImageStream(
  ctx: AppContext,
  ns: string,
  name: string,
  rawBody: unknown,
): Promise<ImageStream> {
  requireNamespace(ns);
  const body = decodeImageStream(rawBody);
  checkKind(body, 'ImageStream');
  checkNamespace(body.metadata, ns);
  if (body.metadata.name !== undefined && body.metadata.name !== name)
    throw badRequest(
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
    );
  const rv = body.metadata.resourceVersion;
  if (!rv)
    throw invalid('ImageStream', 'image.openshift.io', name, [
      FieldError.invalid('metadata.resourceVersion', '0x0', 'must be specified for an update'),
    ]);
  return writeWholeStream(ctx, ns, name, body, Number(rv));
}

/**
 * Writes a whole stream from `body`. With `expectedRv` the stored stream must be at that resourceVersion: 409
 * otherwise, or, with `staleIsRetry` (a patch applied to the version it read), a ConcurrentWriteError that has the
 * caller read and apply again. Without it, the write retries on conflicts by itself.
 */
async function writeWholeStream(
  ctx: AppContext,
  ns: string,
  name: string,
  body: DecodedStream,
  expectedRv: number | undefined,
  staleIsRetry = false,
): Promise<ImageStream> {
  const errors: FieldError[] = [...validateObjectMeta(body.metadata)];
  errors.push(...validateDockerImageRepository(body.spec?.dockerImageRepository));
  const desired = desiredTags(body, ctx, errors);
  if (errors.length) throw invalid('ImageStream', 'image.openshift.io', name, errors);

  const run = async () => {
    const current = await ctx.streams.loadStream(ns, name);
    if (!current) throw notFound(resources.imagestreams, name);
    if (expectedRv !== undefined && current.head.resourceVersion !== expectedRv)
      throw staleIsRetry ? new ConcurrentWriteError('head') : streamConflict(name);
    if (body.metadata.uid && body.metadata.uid !== current.head.uid)
      throw new StatusError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${body.metadata.uid}, UID in object meta: ${current.head.uid}`,
      );
    const { before, after } = snapshot(current);
    after.head.labels = body.metadata.labels ?? {};
    after.head.annotations = body.metadata.annotations ?? {};
    const tags = new Map<string, TagReference | null>();
    for (const [t, rec] of after.tags) if (rec.spec) tags.set(t, null);
    for (const [t, spec] of desired) tags.set(t, spec);
    const { changedTags, specChanged } = applySpecUpdate(
      after,
      {
        tags,
        head: {
          lookupPolicy: { local: Boolean(body.spec?.lookupPolicy?.local) },
          dockerImageRepository: body.spec?.dockerImageRepository ?? '',
        },
      },
      { create: false, newTid: ctx.newTid },
    );
    const now = ctx.clock();
    const { childImages } = await resolveAndTrack(ctx, before, after, changedTags, now);
    try {
      await commit(ctx, 'stream', before, after, specChanged, childImages);
    } catch (e) {
      if (e instanceof ConcurrentWriteError && expectedRv !== undefined && !staleIsRetry)
        throw streamConflict(name);
      throw e;
    }
    after.head.resourceVersion = before.head.resourceVersion + 1;
    return toImageStream(after.head, after.tags.values(), ctx.rules);
  };
  return expectedRv !== undefined ? run() : retryOnConflict(run);
}

export const PATCH_TYPES = [
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

/** PATCH applies to the current object and writes the result as an update; without a resourceVersion it retries. */
export async function patchImageStream(
  ctx: AppContext,
  ns: string,
  name: string,
  contentType: string,
  patch: unknown,
): Promise<ImageStream> {
  requireNamespace(ns);
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (!PATCH_TYPES.slice(0, 3).includes(type))
    throw unsupportedMediaType(contentType, PATCH_TYPES.slice(0, 3));
  const run = async () => {
    const current = await getImageStream(ctx, ns, name, new URLSearchParams());
    let patched: unknown;
    if (type === 'application/json-patch+json') {
      if (!Array.isArray(patch)) throw badRequest('a JSON patch must be an array of operations');
      patched = applyJsonPatch(current, patch);
    } else {
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
        throw badRequest('a merge patch must be a JSON object');
      patched =
        type === 'application/merge-patch+json'
          ? mergePatch(current, patch)
          : strategicMergePatch(current, patch);
    }
    const body = decodeImageStream(patched);
    const explicitRv = (patch as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion;
    const expected = explicitRv !== undefined ? Number(explicitRv) : Number(current.metadata.resourceVersion);
    if (body.metadata.name !== name || (body.metadata.namespace && body.metadata.namespace !== ns))
      throw badRequest('a patch may not change metadata.name or metadata.namespace');
    // Without an explicit resourceVersion a writer that got in first only means "apply again to the new object";
    // every other failure (a uid the patch changed, a bad spec) is the answer.
    return writeWholeStream(ctx, ns, name, body, expected, explicitRv === undefined);
  };
  return retryOnConflict(run);
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
): Promise<Status> {
  requireNamespace(ns);
  const opts = decodeDeleteOptions(rawBody);
  const head = await ctx.streams.getHead(ns, name);
  if (!head) throw notFound(resources.imagestreams, name);
  const pre = opts.preconditions;
  if (pre?.uid && pre.uid !== head.uid)
    throw new StatusError(
      409,
      'Conflict',
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${head.uid}`,
    );
  if (pre?.resourceVersion && Number(pre.resourceVersion) !== head.resourceVersion)
    throw new StatusError(
      409,
      'Conflict',
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${head.resourceVersion}`,
    );
  try {
    await ctx.streams.deleteHead(
      head,
      {
        uid: head.uid,
        ...(pre?.resourceVersion ? { resourceVersion: Number(pre.resourceVersion) } : {}),
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
  return successStatus({ name, group: 'image.openshift.io', kind: 'imagestreams', uid: head.uid });
}
