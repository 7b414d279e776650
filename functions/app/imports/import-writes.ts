import { conflict, notFound, resources, StatusError } from '../../core/errors';
import {
  applyImportOutcome,
  DOCKER_REPOSITORY_CHECK,
  type TagImportOutcome,
} from '../../core/imagestream/import-rules';
import type { StreamHead, TagRecord } from '../../core/imagestream/model';
import type { AppContext } from '../shared/context';
import { guaranteedUpdate, UNCHANGED } from '../streams/guaranteed-update';

/**
 * Records one import write aims at (a transaction holds 100). A new tag costs one transactional record (its
 * history goes ahead in batches); a changed existing tag costs about three plus its list's children. Chunks are
 * sized for new tags and split when the store says one is too large.
 */
export const RECORDS_PER_WRITE = 95;

export interface ImportWriteOptions {
  /** The caller's view of the stream: a mismatch is a 409 (docs/semantics.md#imports). */
  expectedResourceVersion?: number | undefined;
  expectedUid?: string | undefined;
  /** Create the stream when it is missing (the ImageStreamImport API does; a controller job does not). */
  create: boolean;
  /** Manifest list digest → child digests, for the lists these outcomes point at (PreserveOriginal). */
  childImages?: Map<string, string[]>;
  /** Write nothing; compute what would be written (see functions/app/streams/guaranteed-update.ts). */
  dryRun?: boolean;
}

export interface ImportWriteResult {
  head: StreamHead | undefined;
  wrote: boolean;
  /** On a dry run: the records the imported tags would have had (nothing was written). */
  dryRunTags?: Map<string, TagRecord>;
}

/**
 * Applies import outcomes to a stream (docs/semantics.md#import-results): nothing is written when nothing changed and the stream
 * was imported before; otherwise the changed tags, their history and aliases are written together with the
 * `dockerRepositoryCheck` annotation. Large imports are written in chunks of tags, each atomic on its own.
 */
export async function writeImportOutcomes(
  ctx: AppContext,
  ns: string,
  name: string,
  outcomes: TagImportOutcome[],
  opts: ImportWriteOptions,
): Promise<ImportWriteResult> {
  const byTag = new Map<string, TagImportOutcome[]>();
  for (const o of outcomes) byTag.set(o.tag, [...(byTag.get(o.tag) ?? []), o]);
  const tags = [...byTag.keys()];
  const chunks: string[][] = [[]];
  let used = 0;
  for (const t of tags) {
    const cost = 1;
    if (used + cost > RECORDS_PER_WRITE && chunks.at(-1)!.length > 0) {
      chunks.push([]);
      used = 0;
    }
    chunks.at(-1)!.push(t);
    used += cost;
  }

  let head: StreamHead | undefined;
  let wrote = false;
  let first = true;
  const dryRunTags = new Map<string, TagRecord>();
  for (let guard = 0; chunks.length > 0 && guard < 10_000; guard++) {
    const chunk = chunks.shift()!;
    // Only the first write can honour the caller's resourceVersion; later chunks follow our own first write.
    const expectedRv = first ? opts.expectedResourceVersion : undefined;
    const outcome = guaranteedUpdate(ctx, {
      ns,
      name,
      read: { kind: 'tags', tags: chunk },
      missing: opts.create ? 'create' : 'not-found',
      precondition: (current) => {
        if (!current && (expectedRv !== undefined || opts.expectedUid))
          throw notFound(resources.imagestreams, name);
        if (current && expectedRv !== undefined && current.head.resourceVersion !== expectedRv)
          throw imageStreamUpdated(name, expectedRv, current.head.resourceVersion);
        if (current && opts.expectedUid && current.head.uid !== opts.expectedUid)
          throw notFound(resources.imagestreams, name);
      },
      strategy: (state, { before, creating, now }) => {
        const generation = state.head.generation + 1;
        let changed = false;
        for (const t of chunk)
          for (const o of byTag.get(t) ?? [])
            changed = applyImportOutcome(state, o, generation, now, ctx.newTid) || changed;
        if (!changed && !creating && state.head.annotations[DOCKER_REPOSITORY_CHECK]) return UNCHANGED;
        const specChanged = chunk.some(
          (t) =>
            JSON.stringify(before?.tags.get(t)?.spec ?? null) !==
            JSON.stringify(state.tags.get(t)?.spec ?? null),
        );
        state.head.annotations = { ...state.head.annotations, [DOCKER_REPOSITORY_CHECK]: now };
        if (creating || specChanged) state.head.generation = generation;
        return {
          changedTags: [],
          specChanged,
          ...(opts.childImages ? { childImages: opts.childImages } : {}),
        };
      },
      mode: expectedRv !== undefined ? 'stream' : 'tags',
      ...(expectedRv !== undefined
        ? {
            retry: false as const,
            // OpenShift's message names both versions: read the one that won.
            conflict: async () => {
              const current = await ctx.streams.getHead(ns, name);
              if (!current) return notFound(resources.imagestreams, name);
              return imageStreamUpdated(name, expectedRv, current.resourceVersion);
            },
          }
        : {}),
      dryRun: !!opts.dryRun,
    }).then((o) => {
      if (opts.dryRun)
        for (const t of chunk) if (o.after.tags.has(t)) dryRunTags.set(t, o.after.tags.get(t)!);
      return { head: o.wrote || o.created || opts.dryRun ? o.after.head : o.before?.head, wrote: o.wrote };
    });
    let r: ImportWriteResult;
    try {
      r = await outcome;
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 413 && chunk.length > 1)) throw e;
      chunks.unshift(chunk.slice(0, Math.ceil(chunk.length / 2)), chunk.slice(Math.ceil(chunk.length / 2)));
      continue;
    }
    first = false;
    head = r.head;
    wrote ||= r.wrote;
  }
  return { head, wrote, ...(opts.dryRun ? { dryRunTags } : {}) };
}

function imageStreamUpdated(name: string, from: number, to: number) {
  return conflict(resources.imagestream, name, `the image stream was updated from "${from}" to "${to}"`);
}
