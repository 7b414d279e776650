import { BatchWriteCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamState, TagRecord } from '../../functions/core/imagestream/model';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { ABANDONED_WRITE_MS, ConcurrentWriteError, StreamStore } from '../../functions/store/stream-store';
import { type Api, digest, IS, startStack } from '../support/local-stack';

/**
 * Write intents (functions/store/stream-store.ts) at the store: a writer that dies between writing history ahead
 * and the transaction that would make it reachable leaves an intent naming it, which the sweep of abandoned
 * writes follows; a sweep that fences an intent while its writer is still alive makes that writer's transaction
 * fail, so nothing it removed is revealed afterwards; live writers of other processes are left alone.
 */
let api: Api;
let stop: () => Promise<void>;
let table: string;
let endpoint: string;
const clients: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  const stack = await startStack({ SCHEDULER: 'off' });
  ({ api, stop, table } = stack);
  endpoint = stack.service.dynamodbEndpoint;
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await stop?.();
});

/**
 * A store as another process would have it, whose transactions go through `beforeTransact` first, and whose batch
 * writes through `beforeBatchWrite`.
 */
function writerStore(
  writer: string,
  beforeTransact: () => Promise<void>,
  beforeBatchWrite: () => Promise<void> = async () => undefined,
) {
  const db = createDocumentClient({ endpoint });
  clients.push(db);
  const send = db.send.bind(db) as (c: unknown) => Promise<unknown>;
  (db as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (c: unknown) => {
    if (c instanceof TransactWriteCommand) await beforeTransact();
    if (c instanceof BatchWriteCommand) await beforeBatchWrite();
    return send(c);
  };
  const store = new StreamStore(db, table, { writer });
  return store;
}

let reader: ReturnType<typeof createDocumentClient> | undefined;
async function records(pk: string): Promise<Array<Record<string, unknown>>> {
  if (!reader) {
    reader = createDocumentClient({ endpoint });
    clients.push(reader);
  }
  const db = reader;
  const out: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ExclusiveStartKey: start,
      }),
    );
    out.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}

async function intents(): Promise<Array<Record<string, unknown>>> {
  const all = await Promise.all(Array.from({ length: 16 }, (_, s) => records(`INTENT#${s}`)));
  return all.flat();
}

/** The stream with one new tag pointing at a fresh image: a write whose history goes ahead. */
async function planNewTag(store: StreamStore, ns: string, name: string, tag: string) {
  const before = (await store.loadStream(ns, name)) as StreamState;
  const image = digest();
  const record: TagRecord = {
    name: tag,
    tid: `tid${Math.random().toString(36).slice(2, 8)}`,
    version: 0,
    spec: null,
    recent: [
      {
        created: new Date().toISOString(),
        dockerImageReference: `quay.io/x/y@${image}`,
        image,
        generation: 1,
      },
    ],
    topSeq: 1,
    conditions: [],
    aliases: [],
  };
  const after: StreamState = { ...before, tags: new Map([...before.tags, [tag, record]]) };
  return {
    plan: { mode: 'tags' as const, before, after, specChanged: false, actor: 'test' },
    tid: record.tid,
  };
}

const sideRecords = (all: Array<Record<string, unknown>>, tid: string) =>
  all.filter((r) => (r.kind === 'history' || r.kind === 'ref') && r.tid === tid).map((r) => String(r.SK)[0]);

describe('write intents', () => {
  it('a writer that dies before its transaction leaves an intent, and the sweep removes what it wrote ahead', async () => {
    const ns = 'intents1';
    expect((await api.post(IS(ns), { metadata: { name: 's' } })).status).toBe(201);
    const dying = writerStore('writer-a', async () => {
      throw new Error('the process died');
    });
    const other = writerStore('writer-b', async () => {
      throw new Error('the process died');
    });
    const a = await planNewTag(dying, ns, 's', 'a');
    await expect(dying.commit(a.plan)).rejects.toThrow('the process died');
    const b = await planNewTag(other, ns, 's', 'b');
    await expect(other.commit(b.plan)).rejects.toThrow('the process died');
    const pk = `IS#${ns}/s`;
    expect(sideRecords(await records(pk), a.tid).sort()).toEqual(['H', 'R']);
    expect((await intents()).map((i) => [i.writer, i.of, i.tids])).toEqual(
      expect.arrayContaining([
        ['writer-a', 'tags', [a.tid]],
        ['writer-b', 'tags', [b.tid]],
      ]),
    );

    // writer-a restarted: its own older intents are abandoned at once; writer-b's is young and stays.
    const sweeper = writerStore('writer-a', async () => undefined);
    const swept = await sweeper.sweepAbandonedWrites({
      budgetMs: 10_000,
      deadWriter: { writer: 'writer-a', before: Date.now() },
    });
    expect(swept).toEqual({ abandoned: 1, removed: 2, done: true });
    expect(sideRecords(await records(pk), a.tid)).toEqual([]);
    expect(sideRecords(await records(pk), b.tid).sort()).toEqual(['H', 'R']);
    expect((await intents()).map((i) => i.writer)).toEqual(['writer-b']);

    // Once old enough, anyone's intent is abandoned.
    const later = await sweeper.sweepAbandonedWrites({
      budgetMs: 10_000,
      now: Date.now() + ABANDONED_WRITE_MS + 1,
    });
    expect(later).toEqual({ abandoned: 1, removed: 2, done: true });
    expect(sideRecords(await records(pk), b.tid)).toEqual([]);
    expect(await intents()).toEqual([]);
    // Nothing was ever committed: the stream has no tags.
    expect((await api.get(IS(ns, 's'))).body.status.tags ?? []).toEqual([]);
  });

  it('a sweep that fences a live writer makes its transaction fail, and nothing is left behind', async () => {
    const ns = 'intents2';
    expect((await api.post(IS(ns), { metadata: { name: 's' } })).status).toBe(201);
    let fenced = false;
    // A sweep that dies right after fencing, before it could delete anything (or the intent).
    const sweeper = writerStore(
      'writer-c',
      async () => undefined,
      async () => {
        throw new Error('the sweeper died');
      },
    );
    // Between writing ahead and committing, that sweep decides writer-c is gone (as after a restart).
    const slow = writerStore('writer-c', async () => {
      if (fenced) return;
      fenced = true;
      await expect(
        sweeper.sweepAbandonedWrites({
          budgetMs: 10_000,
          deadWriter: { writer: 'writer-c', before: Date.now() + 1 },
        }),
      ).rejects.toThrow('the sweeper died');
      expect((await intents()).map((i) => typeof i.fenced)).toEqual(['number']);
    });
    const c = await planNewTag(slow, ns, 's', 'c');
    await expect(slow.commit(c.plan)).rejects.toBeInstanceOf(ConcurrentWriteError);
    const all = await records(`IS#${ns}/s`);
    expect(all.filter((r) => String(r.SK).startsWith('T#'))).toEqual([]);
    expect(sideRecords(all, c.tid)).toEqual([]);
    expect(await intents()).toEqual([]);

    // The same writer's next attempt (a new incarnation) commits, and releases its intent in the transaction.
    const d = await planNewTag(slow, ns, 's', 'c');
    await slow.commit(d.plan);
    expect(sideRecords(await records(`IS#${ns}/s`), d.tid).sort()).toEqual(['H', 'R']);
    expect(await intents()).toEqual([]);
    expect((await api.get(IS(ns, 's'))).body.status.tags[0].items[0].image).toBe(
      d.plan.after.tags.get('c')!.recent[0]!.image,
    );
  });
});
