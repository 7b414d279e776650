import type { Image, ImageImportStatus, TagImportPolicy, TagReferencePolicy } from '../../core/api-types';
import { resources, type Status, StatusError, successStatus } from '../../core/errors';
import type { TagImportOutcome } from '../../core/imagestream/import-rules';
import { prioritizeTags } from '../../core/imagestream/tag-priority';
import {
  apiHost,
  type NormalizedReference,
  normalizedString,
  parseNormalizedReference,
  repositoryAsWritten,
} from '../../core/reference';
import { credentialsFor } from '../../registry/credentials';
import type { DeadlineLike } from '../../registry/deadline';
import { isRegistryError, RegistryError } from '../../registry/errors';
import { IMPORT_REASONS } from '../../telemetry/metrics';
import type { MetricsRecorder } from '../ports/metrics';
import type { ImportMode, RegistryCredential, RepositoryTarget } from '../ports/registry';
import { type AppContext, actorOf } from '../shared/context';
import { importCredentials, SecretUnusable } from './secret-credentials';

/** How long to leave a registry alone after a 429 that did not say how long. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/** One image to import: where from, how, and (for the caller) which tag it is for. */
export interface ImportRequest {
  from: string;
  importPolicy: TagImportPolicy;
  referencePolicy: TagReferencePolicy;
  includeManifest: boolean;
  prefer: { os: string; architecture: string };
  /** The target tag already has an image, so this is probably a re-check (see fetchImage). */
  recheck?: boolean;
}

export interface ImportResult {
  status: Status;
  image?: Image;
  manifests?: Image[];
  /** The remote tag for by-tag imports, "" for by-digest ones (docs/semantics.md#import-by-tag-or-digest). */
  tag: string;
  /** Set on failure: the registry asked us to come back later (Docker Hub quota). */
  retryAfterMs?: number;
}

const MAX_PARALLEL_IMPORTS = 16;

/**
 * Imports images for one namespace: credentials from its secrets (and IAM for ECR), identical requests fetched
 * once, images stored as the namespace's own (and in the shared verified record). Nothing is written to any
 * stream here.
 */
export class Importer {
  private configs: Promise<Awaited<ReturnType<typeof importCredentials>>> | undefined;
  private readonly inflight = new Map<string, Promise<ImportResult>>();
  readonly newImages = new Map<string, Image>();
  private readonly results: ImportResult[] = [];
  private readonly stored = new Set<string>();

  /**
   * `streamUid`: the stream the import is for, when it exists (its reads of the project's records may then come
   * from memory, see functions/store/image-store.ts StreamScope).
   */
  constructor(
    private readonly ctx: AppContext,
    private readonly ns: string,
    /** Every registry exchange of this import ends by then (see registry/deadline.ts). */
    readonly deadline: DeadlineLike,
    private readonly streamUid?: string,
  ) {}

  /**
   * Imports many requests with bounded parallelism, started in request order; results in request order.
   * `onResult` hears of each result as it comes; once `stop` says so, no further request is started.
   */
  async importAll(
    requests: ImportRequest[],
    opts: { onResult?: (index: number, result: ImportResult) => void; stop?: () => boolean } = {},
  ): Promise<ImportResult[]> {
    const out: ImportResult[] = new Array(requests.length);
    let next = 0;
    const worker = async () => {
      for (;;) {
        if (opts.stop?.()) return;
        const i = next++;
        if (i >= requests.length) return;
        out[i] = await this.importOne(requests[i]!);
        opts.onResult?.(i, out[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL_IMPORTS, requests.length) }, worker));
    return out;
  }

  importOne(req: ImportRequest): Promise<ImportResult> {
    const mode = modeOf(req.importPolicy, this.ctx);
    const key = [
      req.from,
      mode,
      req.prefer.os,
      req.prefer.architecture,
      !!req.importPolicy.insecure,
      req.includeManifest,
      !!req.recheck,
    ].join('|');
    let p = this.inflight.get(key);
    if (!p) {
      const started = performance.now();
      p = this.doImport(req, mode).then((r) => {
        this.results.push(r);
        this.ctx.metrics.record('importDuration', Math.round(performance.now() - started));
        return r;
      });
      this.inflight.set(key, p);
    }
    // Every tag's import counts, also one that shares an identical request's fetch.
    return p.then((r) => {
      recordImportResult(this.ctx.metrics, r.status);
      return r;
    });
  }

  /** Lists a repository's tags in OpenShift's priority order. */
  async listRepositoryTags(from: string, insecure: boolean): Promise<string[]> {
    const ref = parseNormalizedReference(from);
    const target = await this.target(ref, insecure);
    return prioritizeTags(await this.ctx.registry.listTags(target, this.deadline));
  }

  private async doImport(req: ImportRequest, mode: ImportMode): Promise<ImportResult> {
    let ref: NormalizedReference;
    try {
      ref = parseNormalizedReference(req.from);
    } catch (e) {
      return { tag: '', status: invalidFrom(req.from, (e as Error).message) };
    }
    const tag = ref.digest ? '' : ref.tag || 'latest';
    const display = normalizedString({ ...ref, tag });
    try {
      const target = await this.target(ref, !!req.importPolicy.insecure);
      const fetched = await this.ctx.registry.fetchImage(target, {
        repositoryAsWritten: repositoryAsWritten(req.from),
        reference: ref.digest || tag,
        importMode: mode,
        prefer: req.prefer,
        includeManifest: req.includeManifest,
        deadline: this.deadline,
        now: this.ctx.clock(),
        recheck: !!req.recheck,
        // A table read costs about what the registry request it saves does, so a first import only reuses images
        // this request already fetched; a re-check (most likely unchanged) asks the table. Only what this project
        // imported itself counts: a registry that merely names a digest (HEAD) proves nothing, so any other
        // digest is fetched and verified against this project's own reference before the project gets a record.
        known: async (digest) =>
          this.newImages.get(digest) ?? (req.recheck ? await this.importedBefore(digest) : undefined),
      });
      for (const img of fetched.newImages) this.newImages.set(img.metadata.name as string, img);
      return {
        tag,
        status: successStatus(),
        image: fetched.image,
        ...(fetched.manifests ? { manifests: fetched.manifests } : {}),
      };
    } catch (e) {
      if (e instanceof SecretUnusable) return { tag, status: e.toStatus() };
      if (!isRegistryError(e)) throw e;
      return {
        tag,
        status: statusFor(e, display),
        // A rate limit is the registry asking to come back later, never a verdict on the image.
        ...(e.kind === 'rate-limited' || e.details.retryAfterMs !== undefined
          ? { retryAfterMs: e.details.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS }
          : {}),
      };
    }
  }

  /** The repository `ref` names, with the credential this namespace (or IAM, for ECR) has for it. */
  async target(ref: NormalizedReference, insecure: boolean): Promise<RepositoryTarget> {
    const host = apiHost(ref.domain);
    const external = this.ctx.externalCredentials?.handles(host) ? this.ctx.externalCredentials : undefined;
    let credential: RegistryCredential | undefined;
    if (external) credential = await external.get(host, false);
    else {
      this.configs ??= importCredentials(this.ctx, this.ns);
      credential = credentialsFor(await this.configs, ref.domain, ref.path)[0];
    }
    return {
      host,
      path: ref.path,
      insecure,
      credential,
      ...(external ? { refreshCredential: () => external.get(host, true) } : {}),
    };
  }

  /** List digest → child digests for every manifest list this import saw with its children. */
  childImages(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const r of this.results)
      if (r.image && r.manifests?.length)
        out.set(
          r.image.metadata.name as string,
          r.manifests.map((m) => m.metadata.name as string),
        );
    return out;
  }

  /** The project's own record of a digest when an import of this project verified it (else undefined). */
  private async importedBefore(digest: string): Promise<Image | undefined> {
    const own = this.streamUid
      ? await this.ctx.images.seenBy({ namespace: this.ns, uid: this.streamUid }, digest)
      : await this.ctx.images.current(this.ns, digest);
    return own?.source === 'import' ? own.image : undefined;
  }

  /**
   * Stores every image fetched and verified (children before lists) as the project's own, replacing the
   * project's unverified (mapping) record of the same digest, and in the shared verified record.
   */
  async storeImages(): Promise<void> {
    const all = [...this.newImages.values()]
      .filter((i) => !this.stored.has(i.metadata.name as string))
      .sort((a, b) => Number(!!a.dockerImageManifests?.length) - Number(!!b.dockerImageManifests?.length))
      .map(stripRaw);
    if (all.length === 0) return;
    // The project's records and the shared verified ones are independent: both are written before any tag.
    await Promise.all([
      this.ctx.images.recordImports(this.ns, all, actorOf(this.ctx)),
      this.ctx.images.storeVerified(all),
    ]);
    for (const i of all) this.stored.add(i.metadata.name as string);
  }
}

export function modeOf(policy: TagImportPolicy, ctx: Pick<AppContext, 'rules'>): ImportMode {
  return policy.importMode === 'PreserveOriginal' || policy.importMode === 'Legacy'
    ? policy.importMode
    : ctx.rules.defaultImportMode;
}

/** Raw manifests and configs are never stored (docs/semantics.md#image-metadata), only returned when asked for. */
export function stripRaw(image: Image): Image {
  const { dockerImageManifest: _m, dockerImageConfig: _c, ...rest } = image;
  return rest;
}

function invalidFrom(from: string, why: string): Status {
  return new StatusError(
    422,
    'Invalid',
    `${JSON.stringify(from)} is invalid: from.name: Invalid value: ${JSON.stringify(from)}: ${why}`,
    {
      name: from,
      group: 'image.openshift.io',
      kind: 'dockerimage',
      causes: [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(from)}: ${why}`,
          field: 'from.name',
        },
      ],
    },
  ).toStatus();
}

/** A tag import's result as metrics: the alarms' success and failure counts, and the breakdown by reason. */
function recordImportResult(metrics: MetricsRecorder, status: Status): void {
  const succeeded = status.status === 'Success';
  metrics.record(succeeded ? 'importSucceeded' : 'importFailed');
  const reason = succeeded ? 'Imported' : (status.reason ?? 'InternalError');
  metrics.record('importResult', 1, {
    result: succeeded ? 'succeeded' : 'failed',
    reason: (IMPORT_REASONS as readonly string[]).includes(reason) ? reason : 'Other',
  });
}

/** OpenShift's importer error mapping (docs/semantics.md#import-errors); `ref` is the normalized reference. */
export function statusFor(e: RegistryError, ref: string): Status {
  const details = { name: ref, group: resources.dockerimage.group, kind: resources.dockerimage.resource };
  switch (e.kind) {
    case 'not-found':
      return new StatusError(
        404,
        'NotFound',
        `dockerimage.image.openshift.io "${ref}" not found`,
        details,
      ).toStatus();
    case 'unauthorized':
      return new StatusError(
        401,
        'Unauthorized',
        e.details.incorrectCredentials
          ? `incorrect username or password for image "${ref}"`
          : `you may not have access to the container image "${ref}"`,
        details,
      ).toStatus();
    case 'http-only':
      return new StatusError(400, 'BadRequest', e.message, details).toStatus();
    case 'forbidden':
      return new StatusError(403, 'Forbidden', `forbidden: ${e.message}`, details).toStatus();
    case 'not-v2':
      return new StatusError(403, 'NotV2Registry', e.message, details).toStatus();
    case 'rate-limited':
      return new StatusError(429, 'TooManyRequests', `${ref}: ${e.message}`, {
        ...details,
        retryAfterSeconds: Math.ceil((e.details.retryAfterMs ?? 60_000) / 1000),
      }).toStatus();
    default:
      return new StatusError(
        500,
        'InternalError',
        `Internal error occurred: ${ref}: ${e.message}`,
        details,
      ).toStatus();
  }
}

/** What an import result means for the tag it was for (the stream write's input). */
export function outcomeOf(tag: string, req: ImportRequest, r: ImportResult): TagImportOutcome {
  const base = { tag, from: req.from, importPolicy: req.importPolicy, referencePolicy: req.referencePolicy };
  if (r.status.status === 'Success' && r.image)
    return {
      ...base,
      ok: true,
      dockerImageReference: r.image.dockerImageReference,
      image: r.image.metadata.name as string,
    };
  return {
    ...base,
    ok: false,
    reason: r.status.reason ?? 'InternalError',
    message: r.status.message ?? 'unknown error prevented import',
  };
}

export function toImportStatus(r: ImportResult, includeManifest: boolean): ImageImportStatus {
  const strip = (i: Image) => (includeManifest ? i : stripRaw(i));
  return {
    status: r.status,
    tag: r.tag,
    ...(r.image ? { image: strip(r.image) } : {}),
    ...(r.manifests ? { manifests: r.manifests.map(strip) } : {}),
  };
}

export { RegistryError };
