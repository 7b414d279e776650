import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  checkJava,
  createDynamoDbClient,
  ensureDynamoDbLocal,
  ensureTable,
  startDynamoDbLocal,
} from '../../functions/local/dynamodb-local';
import { tableDefinition } from '../../functions/store/table-definition';

const uniqueTable = () => `ddb-local-${Math.random().toString(36).slice(2, 10)}`;

describe('DynamoDB Local tooling', () => {
  const shared = createDynamoDbClient(inject('dynamodbEndpoint'));
  afterAll(() => shared.destroy());

  it('finds Java 17+ and the cached emulator', async () => {
    await checkJava();
    const dir = await ensureDynamoDbLocal();
    expect(dir).toMatch(/dynamodb-local|emulator/);
  });

  it('the run-wide instance answers', async () => {
    const out = await shared.send(new ListTablesCommand({}));
    expect(Array.isArray(out.TableNames)).toBe(true);
  });

  it('ensureTable is idempotent, also when callers race', async () => {
    const table = uniqueTable();
    await Promise.all([ensureTable(shared, table), ensureTable(shared, table)]);
    await ensureTable(shared, table);
    const { TableNames = [] } = await shared.send(new ListTablesCommand({}));
    expect(TableNames.filter((t) => t === table)).toHaveLength(1);
  });

  it('creates the table exactly as defined: keys, GSI and stream', async () => {
    const table = uniqueTable();
    await ensureTable(shared, table);
    const { Table } = await shared.send(new DescribeTableCommand({ TableName: table }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: tableDefinition.partitionKey, KeyType: 'HASH' },
      { AttributeName: tableDefinition.sortKey, KeyType: 'RANGE' },
    ]);
    const gsi = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === tableDefinition.gsi1.indexName);
    expect(gsi?.KeySchema).toEqual([
      { AttributeName: tableDefinition.gsi1.partitionKey, KeyType: 'HASH' },
      { AttributeName: tableDefinition.gsi1.sortKey, KeyType: 'RANGE' },
    ]);
    expect(gsi?.Projection?.ProjectionType).toBe('ALL');
    expect(Table?.StreamSpecification).toEqual({
      StreamEnabled: true,
      StreamViewType: tableDefinition.streamViewType,
    });
    expect(Table?.LatestStreamArn).toBeTruthy();
  });

  it('refuses a port that is already taken', async () => {
    const port = Number(new URL(inject('dynamodbEndpoint')).port);
    await expect(startDynamoDbLocal({ inMemory: true, port })).rejects.toThrow(/already in use/);
  });

  it('a second instance with a data dir keeps its data across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'imagestreams-ddb-'));
    const table = uniqueTable();
    const key = { PK: { S: 'IS#demo/app' }, SK: { S: 'IS' } };
    try {
      const first = await startDynamoDbLocal({ dataDir });
      expect(first.endpoint).not.toBe(inject('dynamodbEndpoint'));
      const client = createDynamoDbClient(first.endpoint);
      await ensureTable(client, table);
      await client.send(new PutItemCommand({ TableName: table, Item: { ...key, note: { S: 'kept' } } }));
      client.destroy();
      await first.stop();
      await first.stop(); // idempotent
      await expect(fetch(first.endpoint)).rejects.toThrow();

      const second = await startDynamoDbLocal({ dataDir, port: first.port });
      const again = createDynamoDbClient(second.endpoint);
      try {
        await ensureTable(again, table);
        const { Item } = await again.send(new GetItemCommand({ TableName: table, Key: key }));
        expect(Item?.note).toEqual({ S: 'kept' });
      } finally {
        again.destroy();
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
