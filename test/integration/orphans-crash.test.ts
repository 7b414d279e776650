import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { eventually, sleep } from '../support/eventually';
import { ADMIN_TOKEN, Api, IS, mapImage } from '../support/local-stack';
import { killAllServiceProcesses, killServiceProcess, startServiceProcess } from '../support/service-process';

/**
 * A large create killed half-way (SIGKILL of the service's process group) leaves records nobody can reach: the
 * history and image references written ahead of the tags, tag records of a head never revealed, the pending head.
 * After a restart on the same DATA_DIR they are swept, counted with raw Queries of the table.
 */
const TAGS = 2_000;
const dirs: string[] = [];
const db = createDocumentClient({ endpoint: inject('dynamodbEndpoint') });
afterAll(() => {
  killAllServiceProcesses();
  db.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Counts {
  H: number;
  R: number;
  T: number;
  head: any;
}

/** Every record of one stream partition, by kind of sort key. */
async function partition(table: string, pk: string): Promise<Counts> {
  const counts: Counts = { H: 0, R: 0, T: 0, head: undefined };
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < 1_000; page++) {
    const out = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ProjectionExpression: 'SK, pending',
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const i of out.Items ?? []) {
      const sk = String(i.SK);
      if (sk === 'IS') counts.head = i;
      else if (sk[0] === 'H' || sk[0] === 'R' || sk[0] === 'T') counts[sk[0] as 'H' | 'R' | 'T']++;
    }
    start = out.LastEvaluatedKey;
    if (!start) break;
  }
  return counts;
}

describe('a large create killed half-way', () => {
  it('leaves no history or image-reference records once the restarted service has swept', {
    timeout: 360_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'is-orphans-'));
    dirs.push(dataDir);
    const table = `orph${Math.random().toString(36).slice(2, 8)}`;
    const env = {
      DATA_DIR: dataDir,
      ADMIN_TOKEN,
      TABLE_NAME: table,
      DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
      SCHEDULER: 'off',
      LOG_LEVEL: 'error',
    };
    let svc = await startServiceProcess(env);
    let api = new Api(svc.url, ADMIN_TOKEN, true);
    const ns = 'orphans';
    // Every tag copies src:v1, so each gets a history event with an image: one H# and one R# record per tag.
    expect((await api.post(IS(ns), { metadata: { name: 'src' } })).status).toBe(201);
    const image = await mapImage(api, ns, 'src', 'v1');
    const tags = Array.from({ length: TAGS }, (_, i) => ({
      name: `t${i}`,
      from: { kind: 'ImageStreamTag', name: 'src:v1' },
    }));
    // Killed twice: while the history goes ahead, then once tag records are being written under the pending head.
    const killPoints = [
      { stream: 'big', what: 'history written ahead', reached: (c: Counts) => c.H + c.R > 200 },
      { stream: 'big2', what: 'tag records written', reached: (c: Counts) => c.T > 0 },
    ];
    for (const point of killPoints) {
      const pk = `IS#${ns}/${point.stream}`;
      const creating = api
        .post(IS(ns), { metadata: { name: point.stream }, spec: { tags } })
        .catch(() => undefined);
      await eventually(
        async () => (point.reached(await partition(table, pk)) ? true : undefined),
        point.what,
        // Under a loaded machine (the whole suite at once) the 2,000-tag create takes a while to get there.
        150_000,
      );
      await killServiceProcess(svc.child);
      await creating;
      const left = await partition(table, pk);
      console.log(
        `[orphans] killed with ${point.what}: ${left.H} H#, ${left.R} R#, ${left.T} T# records, head ${left.head ? (left.head.pending ? 'pending' : 'live') : 'absent'}`,
      );
      // The create did not finish: its head was never revealed, and it left records behind.
      expect(left.head === undefined || left.head.pending !== undefined).toBe(true);
      expect(left.H + left.R).toBeGreaterThan(0);

      const restartedAt = Date.now();
      svc = await startServiceProcess(env);
      api = new Api(svc.url, ADMIN_TOKEN, true);
      const swept = await eventually(
        async () => {
          const c = await partition(table, pk);
          if (c.H + c.R + c.T === 0 && c.head === undefined) return c;
          await sleep(400); // reading the partition is not free: leave the sweep some room
          return undefined;
        },
        'the sweep of the abandoned create',
        // 2,000 abandoned records take ~5 s to sweep alone, several times that beside the whole suite on 2 cores.
        120_000,
      );
      console.log(`[orphans] swept ${Date.now() - restartedAt} ms after the restart began`);
      expect(swept).toMatchObject({ H: 0, R: 0, T: 0 });
      // The name is free again, and a create of the same stream now has exactly its own records.
      const again = await api.post(IS(ns), {
        metadata: { name: point.stream },
        spec: { tags: tags.slice(0, 20) },
      });
      expect(again.status).toBe(201);
      await sleep(500);
      expect(await partition(table, pk)).toMatchObject({ H: 20, R: 20, T: 20 });
      expect((await api.get(IS(ns, point.stream))).body.status.tags[0].items[0].image).toBe(image);
    }
    await killServiceProcess(svc.child);
  });
});
