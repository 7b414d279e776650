import { StatusError } from '../../core/errors';
import { importWouldChange, tagImportable, tagNeedsImport } from '../../core/imagestream/import-rules';
import type { TagRecord } from '../../core/imagestream/model';
import { sourceRegistry } from '../../core/schedule/scheduling';
import { deadlineIn } from '../../registry/deadline';
import { writeImportOutcomes } from '../imports/import-writes';
import { Importer, type ImportRequest, outcomeOf } from '../imports/importer';
import type { AppContext } from '../shared/context';
import type { ImportJob } from './jobs';

export interface ImportJobResult {
  imported: string[];
  wrote: boolean;
  /** The registry asked to come back later (pull quota); the caller re-queues the job for then. */
  retryAfterMs?: number;
  /** Tags not imported because their registry rate-limited us, with the registry's host. */
  rateLimited?: Array<{ tag: string; registry: string; retryAfterMs: number }>;
}

export interface ImportJobOptions {
  /**
   * Decides which of the due tags run now (the scheduler's budgets); tags left out are the admitter's to
   * re-queue or drop.
   */
  admit?: (due: TagRecord[]) => Promise<TagRecord[]>;
}

/**
 * Runs one import job (the import controller's work, docs/semantics.md#import-controller): re-reads the tags, imports those that still
 * need it, and records success or failure on them. Idempotent, so at-least-once delivery is fine. A rate-limited
 * registry does not become a failure condition: the job is retried after the registry's window.
 */
export async function runImportJob(
  ctx: AppContext,
  job: ImportJob,
  options: ImportJobOptions = {},
): Promise<ImportJobResult> {
  const head = await ctx.streams.getHead(job.namespace, job.name);
  if (!head || head.uid !== job.uid) return { imported: [], wrote: false };
  const tags = await ctx.streams.getTags(head, [...new Set(job.tags)]);
  let due = [...tags.values()].filter((t) => (job.force ? tagImportable(t.spec) : tagNeedsImport(t, true)));
  if (due.length && options.admit) due = await options.admit(due);
  if (due.length === 0) return { imported: [], wrote: false };

  const importer = new Importer(ctx, job.namespace, deadlineIn(ctx.imports.jobTimeoutMs), head.uid);
  const requests = due.map((t) => requestFor(ctx, t));
  const results = await importer.importAll(requests);
  const retryAfterMs = Math.max(0, ...results.map((r) => r.retryAfterMs ?? 0));
  const outcomes = due
    .map((t, i) => ({ t, req: requests[i]!, r: results[i]! }))
    .filter(({ r }) => r.retryAfterMs === undefined)
    .map(({ t, req, r }) => outcomeOf(t.name, req, r));
  try {
    await importer.storeImages();
  } catch (e) {
    // The project is being deleted (or is gone): its streams go with it, so there is nothing left to import for.
    if (e instanceof StatusError && e.details?.kind === 'namespaces') return { imported: [], wrote: false };
    throw e;
  }
  // Most re-checks find nothing new: those skip the write path (and its second read of the tags).
  const changing = outcomes.filter((o) => importWouldChange(head, tags.get(o.tag), o));
  const written = changing.length
    ? await writeImportOutcomes(ctx, job.namespace, job.name, changing, {
        create: false,
        expectedUid: job.uid,
        childImages: importer.childImages(),
      })
    : { wrote: false };
  const rateLimited = due.flatMap((t, i) => {
    const wait = results[i]?.retryAfterMs;
    return wait === undefined
      ? []
      : [{ tag: t.name, registry: sourceRegistry(requests[i]!.from), retryAfterMs: wait }];
  });
  return {
    imported: due.map((t) => t.name),
    wrote: written.wrote,
    ...(retryAfterMs > 0 ? { retryAfterMs } : {}),
    ...(rateLimited.length ? { rateLimited } : {}),
  };
}

function requestFor(ctx: AppContext, t: TagRecord): ImportRequest {
  const spec = t.spec!;
  const ann = spec.annotations ?? {};
  return {
    from: spec.from?.name ?? '',
    importPolicy: spec.importPolicy ?? {},
    referencePolicy: spec.referencePolicy ?? { type: 'Source' },
    includeManifest: false,
    recheck: t.recent.length > 0,
    prefer: {
      os: ann['importer.image.openshift.io/prefer-os'] || ctx.imports.platform.os,
      architecture: ann['importer.image.openshift.io/prefer-arch'] || ctx.imports.platform.architecture,
    },
  };
}
