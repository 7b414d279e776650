import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { type Api, digest, HISTORY, IS, ISM, ISTAG, startStack } from '../support/local-stack';

/** docs/architecture.md, "Why this shape": parallel writers on one tag lose nothing; parallel writers on different tags all succeed. */
let api: Api;
let api2: Api;
let records: (pk: string) => Promise<Array<Record<string, unknown>>>;
const stops: Array<() => Promise<void>> = [];

// Two API processes on one table, as two Lambda containers would be: writers in one process queue per tag, and
// writers in different processes are ordered only by the conditional writes.
beforeAll(async () => {
  const table = `conc${Math.random().toString(36).slice(2, 8)}`;
  const a = await startStack({ TABLE_NAME: table });
  const b = await startStack({ TABLE_NAME: table });
  api = a.api;
  api2 = b.api;
  const db = createDocumentClient({ endpoint: a.service.dynamodbEndpoint });
  stops.push(async () => db.destroy());
  records = async (pk) =>
    (
      await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': pk },
        }),
      )
    ).Items ?? [];
  stops.push(a.stop, b.stop);
});
afterAll(async () => {
  for (const s of stops) await s();
});

describe('parallel writers', () => {
  it('50 writers moving one tag to 50 images lose no history entry', async () => {
    const ns = 'conc-one';
    expect((await api.post(IS(ns), { metadata: { name: 's' } })).status).toBe(201);
    const images = Array.from({ length: 50 }, () => digest());
    const results = await Promise.all(
      images.map((d, i) =>
        (i % 2 ? api2 : api).post(ISM(ns), {
          metadata: { name: 's' },
          tag: 'hot',
          image: { metadata: { name: d }, dockerImageReference: `quay.io/x/y@${d}` },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(images.map(() => 201));
    const history = await api.get(`${HISTORY(ns, 's:hot')}?limit=100`);
    expect(history.body.total).toBe(50);
    expect(new Set(history.body.items.map((e: any) => e.image))).toEqual(new Set(images));
    // The stream view's newest events are the newest of the full history, in the same order.
    const is = (await api.get(IS(ns, 's'))).body;
    expect(is.status.tags[0].items.map((e: any) => e.image)).toEqual(
      history.body.items.slice(0, 10).map((e: any) => e.image),
    );
    // Writers that lost the race to create the tag leave nothing behind: every history and image-reference
    // record belongs to the tag incarnation that won.
    const all = await records(`IS#${ns}/s`);
    const live = all.find((r) => r.SK === 'T#hot')?.tid;
    const side = all.filter((r) => String(r.SK).startsWith('H#') || String(r.SK).startsWith('R#'));
    expect(side).toHaveLength(100);
    expect(side.filter((r) => r.tid !== live).map((r) => r.SK)).toEqual([]);
  });

  it('200 writers on 200 different tags of one stream all succeed', async () => {
    const ns = 'conc-many';
    expect((await api.post(IS(ns), { metadata: { name: 's' } })).status).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? api2 : api).put(ISTAG(ns, `s:t${i}`), {
          metadata: { name: `s:t${i}` },
          tag: { name: `t${i}`, from: { kind: 'DockerImage', name: `quay.io/x/y:${i}` }, reference: true },
        }),
      ),
    );
    expect(results.filter((r) => r.status !== 201).map((r) => [r.status, r.body?.message])).toEqual([]);
    const is = (await api.get(IS(ns, 's'))).body;
    expect(is.spec.tags).toHaveLength(200);
    expect(is.status.tags).toHaveLength(200);
    expect(Number(is.metadata.resourceVersion)).toBe(201);
    expect(is.metadata.generation).toBe(201);
  });
});
