import { isClusterAdmin } from '../../core/access/rules';
import type {
  ImageStreamImport,
  RepositoryImportStatus,
  TagImportPolicy,
  TagReferencePolicy,
} from '../../core/api-types';
import {
  FieldError,
  invalid,
  notFound,
  resources,
  type Status,
  StatusError,
  successStatus,
} from '../../core/errors';
import { PREFER_ARCH, PREFER_OS, type TagImportOutcome } from '../../core/imagestream/import-rules';
import type { StreamHead, TagRecord } from '../../core/imagestream/model';
import { TAG_NAME, validateStreamName } from '../../core/imagestream/validation';
import { toImageStream } from '../../core/imagestream/views';
import { apiHost, parseNormalizedReference } from '../../core/reference';
import { deadlineIn } from '../../registry/deadline';
import { isRegistryError } from '../../registry/errors';
import type { AppContext } from '../shared/context';
import { type DecodedImageStreamImport, decodeImageStreamImport, decodeNamespaced } from '../shared/decode';
import type { WriteOptions } from '../streams/guaranteed-update';
import { RECORDS_PER_WRITE, writeImportOutcomes } from './import-writes';
import {
  Importer,
  type ImportRequest,
  type ImportResult,
  outcomeOf,
  statusFor,
  toImportStatus,
} from './importer';
import { SecretUnusable } from './secret-credentials';

const IMPORT_MODES = ['Legacy', 'PreserveOriginal'];
const REFERENCE_POLICIES = ['Source', 'Local'];

interface PlannedImage {
  request: ImportRequest;
  to: string | undefined;
}

/**
 * POST imagestreamimports (docs/semantics.md#imports): import images by tag or digest, or a whole repository, into a stream
 * (created when missing), or only look at them (`import: false`). Per-image failures are statuses in the
 * response and conditions on the tags, not errors of the request.
 */
export async function createImageStreamImport(
  ctx: AppContext,
  ns: string,
  rawBody: unknown,
  opts: WriteOptions = {},
): Promise<ImageStreamImport> {
  const body = decodeNamespaced(ns, rawBody, decodeImageStreamImport, 'ImageStreamImport');
  const name = body.metadata.name ?? '';
  // The name goes into every read below: a name no stream can have is refused before any.
  const nameErrors = validateStreamName(ns, name);
  if (nameErrors.length) throw invalid('ImageStreamImport', 'image.openshift.io', name, nameErrors);
  const doImport = body.spec.import ?? false;
  const head = await ctx.streams.getHead(ns, name);
  const planned = await plan(ctx, ns, name, body, head);

  const rv = body.metadata.resourceVersion;
  const uid = body.metadata.uid;
  if (!head && (rv || uid)) throw notFound(resources.imagestreams, name);
  if (head && rv && String(head.resourceVersion) !== rv)
    throw new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on imagestream.image.openshift.io "${name}": the image stream was updated from "${rv}" to "${head.resourceVersion}"`,
      { name, group: 'image.openshift.io', kind: 'imagestream' },
    );
  if (head && uid && head.uid !== uid) throw notFound(resources.imagestreams, name);

  const importer = new Importer(ctx, ns, deadlineIn(ctx.imports.timeoutMs), head?.uid);
  const existing = planned.repository && head ? await existingImportedTags(ctx, ns, name) : new Set<string>();
  const listing = planned.repository
    ? await listRepository(ctx, importer, planned.repository, existing)
    : undefined;
  const entries: Entry[] = [
    ...planned.images.map((p) => ({ tag: p.to, request: p.request })),
    ...(listing?.entries ?? []),
  ];
  let firstWrite = true;
  let wroteHead = false;
  // A dry run's answer shows the stream as the import would have left it.
  let dryRunHead: StreamHead | undefined;
  const dryRunTags = new Map<string, TagRecord>();
  const write: PipelineWrites = {
    store: () => (opts.dryRun ? Promise.resolve() : importer.storeImages()),
    tags: async (outcomes) => {
      const written = await writeImportOutcomes(ctx, ns, name, outcomes, {
        dryRun: !!opts.dryRun,
        expectedResourceVersion: firstWrite && rv ? Number(rv) : undefined,
        expectedUid: uid,
        create: true,
        childImages: importer.childImages(),
      });
      firstWrite = false;
      wroteHead ||= !!written.head;
      if (written.dryRunTags) {
        dryRunHead = written.head;
        for (const [t, record] of written.dryRunTags) dryRunTags.set(t, record);
      }
    },
  };
  const results = await importPipelined(importer, entries, doImport ? write : undefined);

  const imageResults = results.slice(0, planned.images.length);
  const repoResults = results.slice(planned.images.length);
  const status: ImageStreamImport['status'] = {
    images: imageResults.map((r, i) => toImportStatus(r, planned.images[i]!.request.includeManifest)),
    ...(listing
      ? { repository: repositoryStatus(listing, repoResults, planned.repository!.includeManifest) }
      : {}),
  };
  const response: ImageStreamImport = {
    kind: 'ImageStreamImport',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name, namespace: ns, ...(rv ? { resourceVersion: rv } : {}), ...(uid ? { uid } : {}) },
    spec: body.spec as ImageStreamImport['spec'],
    status,
  };
  if (!doImport) return response;
  const state = wroteHead || head ? await ctx.streams.loadStream(ns, name) : undefined;
  if (opts.dryRun && dryRunHead) {
    const tags = new Map(state?.tags);
    for (const [t, record] of dryRunTags) tags.set(t, record);
    status.import = toImageStream(dryRunHead, tags.values(), ctx.rules);
  } else if (state) status.import = toImageStream(state.head, state.tags.values(), ctx.rules);
  return response;
}

/** The answer of an import without `status.import` (the stream view, which grows with the stream). */
export function withoutStreamView(answer: unknown): unknown {
  const isi = answer as ImageStreamImport;
  if (!isi?.status?.import) return answer;
  const { import: _stream, ...status } = isi.status;
  return { ...isi, status };
}

interface Entry {
  /** Target tag; entries without one are previews (docs/semantics.md#import-defaults). */
  tag: string | undefined;
  request: ImportRequest;
}

/** Tags one write takes at most: as many as one stream write does (functions/app/imports/import-writes.ts). */
const MAX_WRITE_BATCH = RECORDS_PER_WRITE;
/**
 * Images (and then tags) written together at least while more are being fetched. Fewer would write more often,
 * each write with its fixed costs (a head update, an intent, a read of the tags, and the change processor logging
 * the whole stream once more); more would leave the table idle at the start of an import and more to write after
 * its last fetch. On 2 cores shared with the registry and DynamoDB Local, 48 cost less CPU than 24 for 200 tags.
 */
const MIN_WRITE_BATCH = 48;

/** How a pipelined import writes: the images fetched so far, then one batch's tag outcomes. */
export interface PipelineWrites {
  store: () => Promise<void>;
  tags: (outcomes: TagImportOutcome[]) => Promise<void>;
}

/**
 * Imports entries and, when `write` is given, writes them while the rest are still fetched, so registry time and
 * table time overlap. Three stages run side by side: fetching (in request order, bounded parallelism), storing the
 * images fetched so far, and writing the tags of entries whose images are stored. Each stage takes what the one
 * before has finished since it last ran (at least MIN_WRITE_BATCH entries while fetching goes on), so writes start
 * early and little is left to write after the last fetch. Images are always stored before the tags that use them,
 * and tag writes keep request order. A failing stage stops the others: no fetch is started and no write begun
 * after it, and the first failure is thrown once what was in flight has ended.
 */
export async function importPipelined(
  importer: Importer,
  entries: Entry[],
  write?: PipelineWrites,
): Promise<ImportResult[]> {
  if (!write) return importer.importAll(entries.map((e) => e.request));
  const total = entries.length;
  const results: ImportResult[] = new Array(total);
  /** Entries [0, fetched) have their result, [0, stored) their images stored, [0, written) their tags written. */
  let fetched = 0;
  let stored = 0;
  let failure: { error: unknown } | undefined;
  // Settled (and replaced) whenever a stage moves on or fails: what the waiting stages wake up on.
  let wake = () => {};
  let progress = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const advanced = () => {
    wake();
    progress = new Promise<void>((resolve) => {
      wake = resolve;
    });
  };
  const fail = (error: unknown) => {
    failure ??= { error };
    advanced();
  };
  const enough = (ready: number, done: number) =>
    ready - done >= MIN_WRITE_BATCH || (ready === total && ready > done);
  /** Waits until `ready` holds; false when a stage failed meanwhile (the caller stops). */
  const until = async (ready: () => boolean): Promise<boolean> => {
    while (!failure && !ready()) await progress;
    return !failure;
  };

  const fetching = importer
    .importAll(
      entries.map((e) => e.request),
      {
        onResult: (i, r) => {
          results[i] = r;
          while (fetched < total && results[fetched]) fetched++;
          advanced();
        },
        stop: () => !!failure,
      },
    )
    .catch(fail);
  const storing = (async () => {
    while (stored < total && (await until(() => enough(fetched, stored)))) {
      const upTo = fetched;
      await write.store();
      stored = upTo;
      advanced();
    }
  })().catch(fail);
  const writing = (async () => {
    let written = 0;
    let wroteAny = false;
    // No entries at all still makes one (empty) write: the import creates the stream and stamps it.
    while (written < total || !wroteAny) {
      if (!(await until(() => enough(stored, written) || total === 0))) return;
      const end = Math.min(stored, written + MAX_WRITE_BATCH);
      const outcomes = entries
        .slice(written, end)
        .flatMap((e, j) => (e.tag ? [outcomeOf(e.tag, e.request, results[written + j]!)] : []));
      written = end;
      // Entries without a target tag write nothing; only when none has one is the single write an empty one.
      if (outcomes.length === 0 && (written < total || wroteAny)) continue;
      await write.tags(outcomes);
      wroteAny = true;
    }
  })().catch(fail);
  await Promise.all([fetching, storing, writing]);
  if (failure) throw failure.error;
  return results;
}

/** Tags of the stream that already point at an image (a repository re-import re-checks them with HEAD). */
async function existingImportedTags(ctx: AppContext, ns: string, name: string): Promise<Set<string>> {
  const state = await ctx.streams.loadStream(ns, name);
  return new Set([...(state?.tags.values() ?? [])].filter((t) => t.recent.length > 0).map((t) => t.name));
}

interface RepositoryPlan {
  from: string;
  importPolicy: TagImportPolicy;
  referencePolicy: TagReferencePolicy;
  includeManifest: boolean;
  prefer: { os: string; architecture: string };
}

interface RepositoryListing {
  entries: Entry[];
  additionalTags: string[];
  failure?: Status;
}

/** Whole-repository import (docs/semantics.md#repository-import): tags in priority order, the first N imported, the rest listed. */
async function listRepository(
  ctx: AppContext,
  importer: Importer,
  repo: RepositoryPlan,
  existing: Set<string>,
): Promise<RepositoryListing> {
  let tags: string[];
  try {
    tags = await importer.listRepositoryTags(repo.from, !!repo.importPolicy.insecure);
  } catch (e) {
    if (e instanceof SecretUnusable) return { entries: [], additionalTags: [], failure: e.toStatus() };
    if (!isRegistryError(e)) throw e;
    return { entries: [], additionalTags: [], failure: statusFor(e, repo.from) };
  }
  const limit = ctx.imports.maxBulkImported;
  const chosen = limit < 0 ? tags : tags.slice(0, limit);
  return {
    entries: chosen.map((tag) => ({
      tag,
      request: { ...repo, from: `${repo.from}:${tag}`, recheck: existing.has(tag) },
    })),
    additionalTags: limit < 0 ? [] : tags.slice(limit),
  };
}

function repositoryStatus(
  listing: RepositoryListing,
  results: ImportResult[],
  includeManifest: boolean,
): RepositoryImportStatus {
  if (listing.failure) return { status: listing.failure, images: [] };
  const failed = results.filter((r) => r.status.status !== 'Success').length;
  // OpenShift reports a partly failed repository import as a Failure without an HTTP code.
  const status: Status =
    failed === 0
      ? successStatus()
      : {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          reason: 'ImportFailed',
          code: 0,
          message:
            failed === 1
              ? 'one of the images from this repository failed to import'
              : `${failed} of the images from this repository failed to import`,
        };
  return {
    status,
    images: results.map((r) => toImportStatus(r, includeManifest)),
    ...(listing.additionalTags.length ? { additionalTags: listing.additionalTags } : {}),
  };
}

/** Defaults (docs/semantics.md#import-defaults: `to` from the source tag, import mode, Source policy) and validation (422). */
async function plan(
  ctx: AppContext,
  ns: string,
  name: string,
  body: DecodedImageStreamImport,
  head: StreamHead | undefined,
): Promise<{ images: PlannedImage[]; repository?: RepositoryPlan }> {
  const errors: FieldError[] = [...validateStreamName(ns, name)];
  const images = body.spec.images ?? [];
  const repo = body.spec.repository ?? undefined;
  if (images.length === 0 && !repo)
    errors.push(
      FieldError.required('spec.images', 'you must specify at least one image or a repository import'),
    );
  // Cluster administrators may import from any registry (OpenShift: whoever may create images).
  const privileged = !!ctx.caller && isClusterAdmin(ctx.caller, ctx.access);
  const planned: PlannedImage[] = [];

  const policies = (
    path: string,
    ip:
      | { insecure?: boolean | undefined; scheduled?: boolean | undefined; importMode?: string | undefined }
      | null
      | undefined,
    rp: { type: string } | null | undefined,
  ) => {
    const importMode = ip?.importMode || ctx.rules.defaultImportMode;
    if (!IMPORT_MODES.includes(importMode))
      errors.push(FieldError.notSupported(`${path}.importPolicy.importMode`, importMode, IMPORT_MODES));
    const type = rp?.type || 'Source';
    if (!REFERENCE_POLICIES.includes(type))
      errors.push(FieldError.notSupported(`${path}.referencePolicy.type`, type, REFERENCE_POLICIES));
    return {
      importPolicy: {
        ...(ip?.insecure ? { insecure: true } : {}),
        ...(ip?.scheduled ? { scheduled: true } : {}),
        importMode: importMode as TagImportPolicy['importMode'],
      },
      referencePolicy: { type },
    };
  };

  const checkFrom = (
    path: string,
    from: { kind?: string | undefined; name?: string | undefined },
    repository: boolean,
  ) => {
    if (from.kind !== 'DockerImage') {
      errors.push(FieldError.invalid(`${path}.from.kind`, from.kind ?? '', 'only DockerImage is supported'));
      return undefined;
    }
    const spec = from.name ?? '';
    let ref: ReturnType<typeof parseNormalizedReference>;
    try {
      ref = parseNormalizedReference(spec);
    } catch (e) {
      errors.push(FieldError.invalid(`${path}.from.name`, spec, (e as Error).message));
      return undefined;
    }
    if (repository && (ref.tag || ref.digest)) {
      errors.push(
        FieldError.invalid(
          `${path}.from.name`,
          spec,
          'you must specify an image repository, not a tag or ID',
        ),
      );
      return undefined;
    }
    if (!privileged && !registryAllowed(ctx.imports.allowedRegistries, ref.domain)) {
      errors.push(
        FieldError.forbidden(
          `${path}.from.name`,
          `importing images from registry "${apiHost(ref.domain)}" is forbidden: registry "${ref.domain}" not allowed by whitelist: ${ctx.imports.allowedRegistries.map((h) => `"${h}"`).join(', ')}`,
        ),
      );
      return undefined;
    }
    return ref;
  };

  images.forEach((img, i) => {
    const path = `spec.images[${i}]`;
    const ref = checkFrom(path, img.from, false);
    let to = img.to ? (img.to.name ?? '') : undefined;
    if (img.to && !to) errors.push(FieldError.required(`${path}.to.name`));
    // Default (v1 defaults.go): importing by tag without `to` writes to the same tag.
    if (!img.to && ref?.tag && !ref.digest) to = ref.tag;
    if (to && !TAG_NAME.test(to))
      errors.push(FieldError.invalid(`${path}.to.name`, to, `a tag name must match ${TAG_NAME.source}`));
    const { importPolicy, referencePolicy } = policies(path, img.importPolicy, img.referencePolicy);
    if (!ref) return;
    planned.push({
      to,
      request: {
        from: img.from.name ?? '',
        importPolicy,
        referencePolicy,
        includeManifest: !!img.includeManifest,
        prefer: ctx.imports.platform,
      },
    });
  });

  let repository: RepositoryPlan | undefined;
  if (repo) {
    const ref = checkFrom('spec.repository', repo.from, true);
    const { importPolicy, referencePolicy } = policies(
      'spec.repository',
      repo.importPolicy,
      repo.referencePolicy,
    );
    if (ref)
      repository = {
        from: repo.from.name ?? '',
        importPolicy,
        referencePolicy,
        includeManifest: !!repo.includeManifest,
        prefer: ctx.imports.platform,
      };
  }
  if (errors.length) throw invalid('ImageStreamImport', 'image.openshift.io', name, errors);

  // Legacy imports of a manifest list pick the platform the target tag prefers (docs/semantics.md#import-by-tag-or-digest); a target that
  // already has an image is most likely a re-check.
  if (head) {
    const targets = planned.filter((p) => p.to).map((p) => p.to as string);
    const tags = targets.length ? await ctx.streams.getTags(head, [...new Set(targets)]) : new Map();
    for (const p of planned) {
      if (p.to && tags.get(p.to)?.recent.length) p.request.recheck = true;
      const ann = p.to ? tags.get(p.to)?.spec?.annotations : undefined;
      if (ann?.[PREFER_ARCH] || ann?.[PREFER_OS])
        p.request.prefer = {
          os: ann[PREFER_OS] || ctx.imports.platform.os,
          architecture: ann[PREFER_ARCH] || ctx.imports.platform.architecture,
        };
    }
  }
  return { images: planned, ...(repository ? { repository } : {}) };
}

/** allowedRegistriesForImport: `host`, `host:port` or `*.domain`; empty allows every registry. */
export function registryAllowed(allowed: string[], domain: string): boolean {
  if (allowed.length === 0) return true;
  const host = domain.replace(/:\d+$/, '');
  return allowed.some((a) => {
    if (a.startsWith('*.')) return host.endsWith(a.slice(1));
    return a === domain || (!a.includes(':') && a === host) || (a === 'docker.io' && domain === 'docker.io');
  });
}
