import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient, ensureTable } from '../../functions/local/dynamodb-local';
import { DirectReads } from '../../functions/store/direct-reads';
import { createDocumentClient } from '../../functions/store/dynamodb-client';

/**
 * The stream store's point reads without the SDK's stack (functions/store/direct-reads.ts): the same items as the
 * document client reads, on DynamoDB Local; and, against a loopback stand-in for faults DynamoDB Local cannot
 * produce, requests that verify against their SigV4 signature, retries of throttles, server errors, corrupt
 * answers, broken and silent connections, and errors named as the SDK names them.
 */

const TABLE = 'direct-reads';
const endpoint = inject('dynamodbEndpoint');
const doc = createDocumentClient({ endpoint });

beforeAll(async () => {
  await ensureTable(createDynamoDbClient(endpoint), TABLE);
});
afterAll(() => doc.destroy());

describe('on DynamoDB Local', () => {
  it('reads items exactly as the document client does, every attribute type included', async () => {
    const item = {
      PK: 'IS#direct/s',
      SK: 'T#é',
      text: 'ünïcødé ✓',
      empty: '',
      n: 12345.5,
      negative: -7,
      yes: true,
      nothing: null,
      bytes: new Uint8Array([0, 1, 2, 255]),
      strings: new Set(['a', 'b']),
      numbers: new Set([1, 2, 3]),
      binaries: new Set([new Uint8Array([9]), new Uint8Array([8, 7])]),
      // A user's label named `constructor` (the store passes such maps as Maps to the marshaller).
      labels: new Map([['constructor', 'x']]),
      nested: { list: [1, 'two', { deep: new Uint8Array([5]) }, [true, null]], map: { a: { b: 'c' } } },
    };
    await doc.send(new PutCommand({ TableName: TABLE, Item: item }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'IS#direct/s', SK: 'IS', rv: 3 } }));
    const reads = new DirectReads(doc);
    try {
      const viaSdk = (await doc.send(new GetCommand({ TableName: TABLE, Key: { PK: item.PK, SK: item.SK } })))
        .Item;
      const direct = await reads.getItem(TABLE, { PK: item.PK, SK: item.SK });
      expect(direct).toEqual(viaSdk);
      expect((direct!.labels as Record<string, string>).constructor).toBe('x');
      expect(direct!.bytes).toEqual(new Uint8Array([0, 1, 2, 255]));

      expect(await reads.getItem(TABLE, { PK: item.PK, SK: 'T#missing' })).toBeUndefined();

      const batch = await reads.batchGetItem(TABLE, [
        { PK: item.PK, SK: 'IS' },
        { PK: item.PK, SK: item.SK },
        { PK: item.PK, SK: 'T#missing' },
      ]);
      expect(batch.unprocessed).toEqual([]);
      expect(batch.items.sort((a, b) => String(a.SK).localeCompare(String(b.SK)))).toEqual([
        { PK: item.PK, SK: 'IS', rv: 3 },
        viaSdk,
      ]);
    } finally {
      reads.destroy();
    }
  });

  it('a table that does not exist is the error the SDK would raise, by name', async () => {
    const reads = new DirectReads(doc);
    try {
      await expect(reads.getItem('no-such-table', { PK: 'a', SK: 'b' })).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
        $metadata: { httpStatusCode: 400 },
      });
    } finally {
      reads.destroy();
    }
  });
});

/** How the stand-in answers the n-th request (0-based). */
type Answer = (n: number, req: IncomingMessage, res: ServerResponse, body: string) => void;

async function standIn(answer: Answer) {
  const requests: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ headers: req.headers, body });
      answer(requests.length - 1, req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createDocumentClient({ endpoint: url });
  const reads = new DirectReads(client, { timeoutMs: 300, retryBaseMs: 1 });
  return {
    reads,
    requests,
    close: async () => {
      reads.destroy();
      client.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const ITEM = { Item: { PK: { S: 'k' }, SK: { S: 's' }, v: { N: '1' } } };
function reply(res: ServerResponse, status: number, payload: unknown, crc?: number) {
  const body = Buffer.from(JSON.stringify(payload));
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-crc32': String(crc ?? crc32(body) >>> 0),
  });
  res.end(body);
}
const error = (type: string, message: string) => ({
  __type: `com.amazonaws.dynamodb.v20120810#${type}`,
  message,
});

describe('against a stand-in', () => {
  it('sends requests that verify against their SigV4 signature, with the target and JSON body DynamoDB expects', async () => {
    const s = await standIn((_n, _req, res) => reply(res, 200, ITEM));
    try {
      expect(await s.reads.getItem('t', { PK: 'k', SK: 's' })).toEqual({ PK: 'k', SK: 's', v: 1 });
      const [{ headers, body }] = s.requests as [{ headers: IncomingMessage['headers']; body: string }];
      expect(headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
      expect(headers['content-type']).toBe('application/x-amz-json-1.0');
      expect(JSON.parse(body)).toEqual({
        TableName: 't',
        Key: { PK: { S: 'k' }, SK: { S: 's' } },
        ConsistentRead: true,
      });
      // Sign again what arrived, with the credentials local clients use: the same signature, or the wire request
      // is not what was signed.
      const auth = String(headers.authorization);
      const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
      expect(signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-target']));
      expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/dynamodb\/aws4_request, /);
      const date = String(headers['x-amz-date']);
      const signingDate = new Date(
        `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
      );
      const verifier = new SignatureV4({
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        region: 'us-east-1',
        service: 'dynamodb',
        sha256: Sha256,
      });
      const again = await verifier.sign(
        {
          method: 'POST',
          protocol: 'http:',
          hostname: '127.0.0.1',
          path: '/',
          query: {},
          headers: Object.fromEntries(signedHeaders.map((h) => [h, String(headers[h])])),
          body,
        },
        { signingDate },
      );
      expect(again.headers.authorization).toBe(auth);
    } finally {
      await s.close();
    }
  });

  it('tries a throttled read again, and one whose answer fails its CRC32', async () => {
    const throttled = await standIn((n, _req, res) =>
      n === 0
        ? reply(res, 400, error('ProvisionedThroughputExceededException', 'slow down'))
        : reply(res, 200, ITEM),
    );
    const corrupt = await standIn((n, _req, res) => reply(res, 200, ITEM, n === 0 ? 12345 : undefined));
    try {
      expect(await throttled.reads.getItem('t', { PK: 'k', SK: 's' })).toEqual({ PK: 'k', SK: 's', v: 1 });
      expect(throttled.requests).toHaveLength(2);
      expect(await corrupt.reads.getItem('t', { PK: 'k', SK: 's' })).toEqual({ PK: 'k', SK: 's', v: 1 });
      expect(corrupt.requests).toHaveLength(2);
    } finally {
      await throttled.close();
      await corrupt.close();
    }
  });

  it('a client error is raised at once, named by its type; a server error after three attempts', async () => {
    const invalid = await standIn((_n, _req, res) =>
      reply(res, 400, error('ValidationException', 'The provided key element does not match the schema')),
    );
    const failing = await standIn((_n, _req, res) => reply(res, 500, error('InternalServerError', 'oops')));
    try {
      await expect(invalid.reads.getItem('t', { PK: 'k' })).rejects.toMatchObject({
        name: 'ValidationException',
        message: 'The provided key element does not match the schema',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
      expect(invalid.requests).toHaveLength(1);
      await expect(failing.reads.batchGetItem('t', [{ PK: 'k', SK: 's' }])).rejects.toMatchObject({
        name: 'InternalServerError',
        $fault: 'server',
      });
      expect(failing.requests).toHaveLength(3);
    } finally {
      await invalid.close();
      await failing.close();
    }
  });

  it('a connection cut mid-answer and one that never answers are tried again, within three attempts', async () => {
    const cut = await standIn((n, req, res) => (n === 0 ? req.socket.destroy() : reply(res, 200, ITEM)));
    const silent = await standIn(() => undefined);
    try {
      expect(await cut.reads.getItem('t', { PK: 'k', SK: 's' })).toEqual({ PK: 'k', SK: 's', v: 1 });
      expect(cut.requests).toHaveLength(2);
      await expect(silent.reads.getItem('t', { PK: 'k', SK: 's' })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      expect(silent.requests).toHaveLength(3);
    } finally {
      await cut.close();
      await silent.close();
    }
  });

  it('BatchGetItem hands back the keys DynamoDB left unprocessed', async () => {
    const s = await standIn((_n, _req, res) =>
      reply(res, 200, {
        Responses: { t: [ITEM.Item] },
        UnprocessedKeys: { t: { Keys: [{ PK: { S: 'k' }, SK: { S: 'later' } }] } },
      }),
    );
    try {
      expect(
        await s.reads.batchGetItem('t', [
          { PK: 'k', SK: 's' },
          { PK: 'k', SK: 'later' },
        ]),
      ).toEqual({ items: [{ PK: 'k', SK: 's', v: 1 }], unprocessed: [{ PK: 'k', SK: 'later' }] });
    } finally {
      await s.close();
    }
  });
});

/** SHA-256 for the verifying signer (keyed: HMAC), as the SDK's hash constructor. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const toBytes = (d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof d === 'string'
    ? d
    : d instanceof ArrayBuffer
      ? new Uint8Array(d)
      : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
