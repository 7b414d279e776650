import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { type Api, IS, mapImage, startStack } from '../support/local-stack';

/**
 * Behind API Gateway a request is cut at 29 s; a create still running then would commit after its client was told
 * it failed. With LARGE_CREATE_TIMEOUT_SECONDS set (the stack sets it for the API function), a create that cannot
 * finish in time is taken back and answered as a ServerTimeout: the client may rely on nothing having changed.
 */
let api: Api;
let table: string;
let stop: () => Promise<void>;
let records: (pk: string) => Promise<number>;

beforeAll(async () => {
  const stack = await startStack({ LARGE_CREATE_TIMEOUT_SECONDS: '0.2' });
  ({ api, table, stop } = stack);
  const db = createDocumentClient({ endpoint: stack.service.dynamodbEndpoint });
  records = async (pk) => {
    let n = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      n += out.Items?.length ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return n;
  };
});
afterAll(async () => stop?.());

describe('a large create past its deadline', { timeout: 180_000 }, () => {
  it('is answered as a ServerTimeout and leaves nothing behind', async () => {
    const ns = 'deadline';
    expect((await api.post(IS(ns), { metadata: { name: 'src' } })).status).toBe(201);
    await mapImage(api, ns, 'src', 'v1');
    const tags = Array.from({ length: 1_500 }, (_, i) => ({
      name: `t${i}`,
      from: { kind: 'ImageStreamTag', name: 'src:v1' },
    }));
    const res = await api.post(IS(ns), { metadata: { name: 'big' }, spec: { tags } });
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'ServerTimeout', details: { name: 'big' } });
    expect(res.body.message).toContain('was not created');
    expect((await api.get(IS(ns, 'big'))).status).toBe(404);
    expect(await records(`IS#${ns}/big`)).toBe(0);
    // The name is free, and a create small enough for one transaction is not subject to the deadline.
    expect(
      (await api.post(IS(ns), { metadata: { name: 'big' }, spec: { tags: tags.slice(0, 10) } })).status,
    ).toBe(201);
  });
});
