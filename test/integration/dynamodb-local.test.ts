import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * The local addresses of the sockets listening on `port`, read from the kernel's tables (/proc/net/tcp and tcp6),
 * as `a.b.c.d` or `[v6 hex]`. A listener's address is what decides who can connect, so reading it is the test:
 * no traffic is sent anywhere.
 */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [addr, hexPort] = local!.split(':');
      // 0A: TCP_LISTEN.
      if (state !== '0A' || Number.parseInt(hexPort!, 16) !== port) continue;
      found.push(file.endsWith('6') ? `[${addr}]` : ipv4(addr!));
    }
  }
  return found;
}

/** /proc/net/tcp prints an IPv4 address as one little-endian 32-bit hex word. */
const ipv4 = (hex: string) => [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join('.');

/** 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6 (a Java socket bound to 127.0.0.1 is an IPv6 one). */
function isLoopbackListener(addr: string): boolean {
  if (!addr.startsWith('[')) return addr.startsWith('127.');
  const hex = addr.slice(1, -1);
  const v4mapped = /^0{16}FFFF0000([0-9A-F]{8})$/i.exec(hex);
  if (v4mapped) return ipv4(v4mapped[1]!).startsWith('127.');
  return /^0{24}01000000$/.test(hex);
}

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

  it('the run-wide instance listens on a loopback address only', () => {
    const port = Number(new URL(inject('dynamodbEndpoint')).port);
    const addresses = listeningAddresses(port);
    expect(addresses.length, `a listener on port ${port}`).toBeGreaterThan(0);
    expect(addresses.filter((a) => !isLoopbackListener(a))).toEqual([]);
  });

  it('tells loopback listeners from the others', () => {
    expect(isLoopbackListener('127.0.0.1')).toBe(true);
    expect(isLoopbackListener('[0000000000000000FFFF00000100007F]')).toBe(true);
    expect(isLoopbackListener('[00000000000000000000000001000000]')).toBe(true);
    expect(isLoopbackListener('0.0.0.0')).toBe(false);
    expect(isLoopbackListener('[00000000000000000000000000000000]')).toBe(false);
    expect(isLoopbackListener('[0000000000000000FFFF00000A00000A]')).toBe(false);
    expect(ipv4('0100007F')).toBe('127.0.0.1');
  });

  it('refuses a host that is not a loopback address', async () => {
    const started = startDynamoDbLocal({ inMemory: true, host: '0.0.0.0' });
    // Should it start after all, it is stopped.
    started.then(
      (d) => d.stop(),
      () => undefined,
    );
    await expect(started).rejects.toThrow(/0\.0\.0\.0 is not a loopback address/);
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
      // The same launch with a data dir (the `npm start` shape) binds loopback only as well.
      expect(listeningAddresses(first.port).filter((a) => !isLoopbackListener(a))).toEqual([]);
      expect(listeningAddresses(first.port).length).toBeGreaterThan(0);
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
