import { describe, expect, it } from 'vitest';
import { importPipelined, type PipelineWrites } from '../../../functions/app/imports/imagestreamimports';
import type { Importer, ImportRequest, ImportResult } from '../../../functions/app/imports/importer';
import { successStatus } from '../../../functions/core/errors';
import type { TagImportOutcome } from '../../../functions/core/imagestream/import-rules';

/**
 * The import pipeline (functions/app/imports/imagestreamimports.ts importPipelined) over a fetcher that answers
 * one request at a time: what is written when, relative to what has been fetched.
 */
const digest = (i: number) => `sha256:${String(i).padStart(64, '0')}`;
const request = (i: number): ImportRequest => ({
  from: `quay.io/x/y:t${i}`,
  importPolicy: {},
  referencePolicy: { type: 'Source' },
  includeManifest: false,
  prefer: { os: 'linux', architecture: 'amd64' },
});
const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ tag: `t${i}`, request: request(i) }));

/** A fetcher whose request for entry `n` first waits for `gate(n)`; it logs each result and stops as asked. */
function fetcher(log: string[], gate: (i: number) => Promise<void> = async () => {}) {
  let started = 0;
  const importer = {
    async importAll(
      requests: ImportRequest[],
      opts: { onResult?: (i: number, r: ImportResult) => void; stop?: () => boolean } = {},
    ) {
      const out: ImportResult[] = [];
      for (let i = 0; i < requests.length; i++) {
        if (opts.stop?.()) break;
        started++;
        // Which entry this is, whatever slice of them the pipeline asked for.
        const n = Number(requests[i]!.from.split(':t')[1]);
        await gate(n);
        await new Promise((r) => setImmediate(r));
        const image = { metadata: { name: digest(n) }, dockerImageReference: `quay.io/x/y@${digest(n)}` };
        const result: ImportResult = { tag: `t${n}`, status: successStatus(), image };
        out[i] = result;
        log.push(`fetched ${n}`);
        opts.onResult?.(i, result);
      }
      return out;
    },
  };
  return { importer: importer as unknown as Importer, started: () => started };
}

describe('the import pipeline', () => {
  it('writes tags while later images are still fetched: in request order, each batch after its images are stored', async () => {
    const log: string[] = [];
    let firstTags: () => void = () => {};
    const tagsWritten = new Promise<void>((r) => {
      firstTags = r;
    });
    // The last 40 fetches wait for the first tag write (or give up after a while): a pipeline that writes nothing
    // until a large batch is fetched shows up as tags written only after every fetch.
    const { importer } = fetcher(log, (i) =>
      i >= 60 ? Promise.race([tagsWritten, new Promise<void>((r) => setTimeout(r, 50))]) : Promise.resolve(),
    );
    const batches: TagImportOutcome[][] = [];
    const write: PipelineWrites = {
      store: async () => {
        log.push('store');
      },
      tags: async (outcomes) => {
        batches.push(outcomes);
        log.push(`tags ${outcomes.map((o) => o.tag).join(',')}`);
        firstTags();
      },
    };
    const results = await importPipelined(importer, entries(100), write);

    expect(results.map((r) => r.image?.metadata.name)).toEqual(entries(100).map((_, i) => digest(i)));
    // Every tag once, in request order, with its own image.
    const written = batches.flat();
    expect(written.map((o) => o.tag)).toEqual(entries(100).map((e) => e.tag));
    expect(written.map((o) => (o.ok ? o.image : undefined))).toEqual(entries(100).map((_, i) => digest(i)));
    // The first tags were written before the 61st image was fetched.
    expect(log.findIndex((l) => l.startsWith('tags'))).toBeLessThan(log.indexOf('fetched 60'));
    // Each batch's images were stored after they were fetched and before its tags were written.
    for (const batch of batches) {
      const last = Number(batch.at(-1)!.tag.slice(1));
      const at = log.indexOf(`tags ${batch.map((o) => o.tag).join(',')}`);
      const storedAt = log.lastIndexOf('store', at);
      expect(storedAt).toBeGreaterThan(log.indexOf(`fetched ${last}`));
    }
    // Batches are neither tiny while fetching goes on nor larger than one write takes.
    for (const batch of batches.slice(0, -1)) expect(batch.length).toBeGreaterThanOrEqual(24);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(95);
  });

  it('a failing write stops the import: no further fetch or write, and the failure is thrown', async () => {
    const log: string[] = [];
    const { importer, started } = fetcher(log);
    let tagWrites = 0;
    const write: PipelineWrites = {
      store: async () => {
        throw new Error('table unavailable');
      },
      tags: async () => {
        tagWrites++;
      },
    };
    await expect(importPipelined(importer, entries(200), write)).rejects.toThrow('table unavailable');
    expect(tagWrites).toBe(0);
    expect(started()).toBeLessThan(200);
  });

  it('with no entries, makes the one empty write that creates the stream', async () => {
    const calls: TagImportOutcome[][] = [];
    const { importer } = fetcher([]);
    await importPipelined(importer, [], { store: async () => {}, tags: async (o) => void calls.push(o) });
    expect(calls).toEqual([[]]);
  });
});
