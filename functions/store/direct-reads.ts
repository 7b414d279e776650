import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { crc32 } from 'node:zlib';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';

type Item = Record<string, unknown>;
type WireItem = Record<string, WireValue>;
/** An attribute value as DynamoDB's JSON protocol carries it (binary as base64 text). */
type WireValue = { [type: string]: unknown };

/** What of the SDK client's resolved configuration says where its calls go. */
interface SdkEndpointConfig {
  isCustomEndpoint?: boolean;
  endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>;
  ignoreConfiguredEndpointUrls?: boolean;
  serviceConfiguredEndpoint?: () => Promise<string | undefined>;
  useFipsEndpoint: () => Promise<boolean>;
  useDualstackEndpoint: () => Promise<boolean>;
  endpointProvider: (params: Record<string, unknown>) => { url: URL };
}

/**
 * Where the SDK client would send a call, resolved as it resolves it: a configured endpoint (DynamoDB Local), else
 * one from the environment or config file (AWS_ENDPOINT_URL_DYNAMODB), else the service's endpoint rules for the
 * region (FIPS and dual-stack as configured).
 */
async function endpointOf(config: SdkEndpointConfig & { region: () => Promise<string> }): Promise<URL> {
  if (config.isCustomEndpoint && config.endpoint) {
    const e = await config.endpoint();
    return new URL(`${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path || '/'}`);
  }
  const configured = config.ignoreConfiguredEndpointUrls
    ? undefined
    : await config.serviceConfiguredEndpoint?.();
  if (configured) return new URL(configured);
  const { url } = config.endpointProvider({
    Region: await config.region(),
    UseFIPS: await config.useFipsEndpoint(),
    UseDualStack: await config.useDualstackEndpoint(),
  });
  return new URL(url.href);
}

/** Wraps one call in a trace (an X-Ray subsegment in Lambda); the operation names it. */
export type TraceCall = <T>(operation: string, run: () => Promise<T>) => Promise<T>;

/** Attempts per read, as the SDK client is configured (functions/store/dynamodb-client.ts). */
const MAX_ATTEMPTS = 3;
/** A read that has not answered in this long is abandoned and tried again (a half-dead keep-alive socket). */
const REQUEST_TIMEOUT_MS = 5_000;
/** Backoff base between attempts (full jitter, doubling), as the SDK's standard retry strategy. */
const RETRY_BASE_MS = 100;
/** DynamoDB's answers that another attempt may cure. */
const RETRYABLE_TYPES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
]);

/**
 * The stream store's point reads (GetItem, BatchGetItem), sent as DynamoDB's JSON protocol over a keep-alive
 * connection, signed by the SDK's own SigV4 signer with the document client's credentials, region and hash. These
 * are the reads every stream request starts with; through the SDK's middleware stack each cost about 0.8 ms of CPU
 * against 0.4 ms this way (measured on DynamoDB Local: a GetItem answered in 0.83 ms against 1.24 ms), which is what
 * keeps a GET of an imagestreamtag within 1.5 times a bare GetItem (docs/architecture.md, "Why this shape").
 * Everything else (queries, writes, transactions) goes through the SDK. Answers are checked as the SDK checks them (the body's
 * CRC32), throttles, server errors, timeouts and broken connections are tried again with backoff, and errors carry
 * the exception name DynamoDB gave, as the SDK's do.
 */
export class DirectReads {
  private readonly signer: SignatureV4;
  private readonly endpoint: Promise<URL>;
  private agent: HttpAgent | undefined;
  private readonly trace: TraceCall;
  private readonly timeoutMs: number;
  private readonly retryBaseMs: number;

  /** Reads where `db` reads: its endpoint (as the SDK resolves it), credentials, region and hash. */
  constructor(
    db: DynamoDBDocumentClient,
    options: { trace?: TraceCall | undefined; timeoutMs?: number; retryBaseMs?: number } = {},
  ) {
    this.trace = options.trace ?? ((_op, run) => run());
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.retryBaseMs = options.retryBaseMs ?? RETRY_BASE_MS;
    const config = db.config as typeof db.config & SdkEndpointConfig;
    this.signer = new SignatureV4({
      credentials: config.credentials,
      region: config.region,
      service: 'dynamodb',
      sha256: config.sha256,
    });
    this.endpoint = endpointOf(config);
    // Settled when first awaited; a rejection here is reported by that read, not as an unhandled one.
    this.endpoint.catch(() => undefined);
  }

  async getItem(table: string, key: Item): Promise<Item | undefined> {
    const out = (await this.call('GetItem', {
      TableName: table,
      Key: marshall(key),
      ConsistentRead: true,
    })) as { Item?: WireItem };
    return out.Item ? fromWire(out.Item) : undefined;
  }

  /** One BatchGetItem (at most 100 keys): the items found, and the keys DynamoDB left for another call. */
  async batchGetItem(table: string, keys: Item[]): Promise<{ items: Item[]; unprocessed: Item[] }> {
    const out = (await this.call('BatchGetItem', {
      RequestItems: { [table]: { Keys: keys.map((k) => marshall(k)), ConsistentRead: true } },
    })) as {
      Responses?: Record<string, WireItem[]>;
      UnprocessedKeys?: Record<string, { Keys?: WireItem[] }>;
    };
    return {
      items: (out.Responses?.[table] ?? []).map(fromWire),
      unprocessed: (out.UnprocessedKeys?.[table]?.Keys ?? []).map(fromWire),
    };
  }

  destroy(): void {
    this.agent?.destroy();
  }

  private call(operation: string, input: object): Promise<unknown> {
    return this.trace(operation, async () => {
      const body = JSON.stringify(input);
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.send(operation, body);
        } catch (e) {
          if (attempt >= MAX_ATTEMPTS || !retryable(e)) throw e;
          await new Promise((r) =>
            setTimeout(r, Math.random() * Math.min(20_000, this.retryBaseMs * 2 ** attempt)),
          );
        }
      }
    });
  }

  private async send(operation: string, body: string): Promise<unknown> {
    const url = await this.endpoint;
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname || '/',
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDB_20120810.${operation}`,
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    });
    const res = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>(
      (resolve, reject) => {
        const https = url.protocol === 'https:';
        this.agent ??= https
          ? new HttpsAgent({ keepAlive: true, maxSockets: 50 })
          : new HttpAgent({ keepAlive: true, maxSockets: 50 });
        const req = (https ? httpsRequest : httpRequest)(
          {
            agent: this.agent,
            protocol: url.protocol,
            hostname: url.hostname,
            port: url.port || undefined,
            method: 'POST',
            path: url.pathname || '/',
            headers: signed.headers,
            timeout: this.timeoutMs,
          },
          (r) => {
            const chunks: Buffer[] = [];
            r.on('data', (c: Buffer) => chunks.push(c));
            r.on('end', () =>
              resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }),
            );
            r.on('error', reject);
          },
        );
        req.on('timeout', () =>
          req.destroy(Object.assign(new Error(`DynamoDB ${operation} timed out`), { name: 'TimeoutError' })),
        );
        req.on('error', reject);
        req.end(body);
      },
    );
    const expected = res.headers['x-amz-crc32'];
    if (typeof expected === 'string' && crc32(res.body) >>> 0 !== Number(expected))
      throw Object.assign(new Error(`DynamoDB ${operation}: the answer does not match its CRC32`), {
        name: 'CRC32MismatchError',
        retryable: true,
      });
    const parsed = res.body.length ? (JSON.parse(res.body.toString('utf8')) as Record<string, unknown>) : {};
    if (res.status === 200) return parsed;
    // `__type` is "<namespace>#<ExceptionName>"; the SDK names its errors by the part after the '#'.
    const type = String(parsed.__type ?? `HTTP${res.status}`)
      .split('#')
      .pop()!;
    const message = String(
      parsed.message ?? parsed.Message ?? `DynamoDB ${operation} answered ${res.status}`,
    );
    throw Object.assign(new Error(message), {
      name: type,
      $fault: res.status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: res.status, requestId: res.headers['x-amzn-requestid'] },
      retryable: res.status >= 500 || RETRYABLE_TYPES.has(type),
    });
  }
}

function retryable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if ((e as { retryable?: boolean }).retryable) return true;
  // A keep-alive connection the server closed, or one that stopped answering.
  const code = (e as { code?: string }).code;
  return e.name === 'TimeoutError' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNREFUSED';
}

/** An item from the protocol's JSON to plain values, as the document client unmarshalls it (binary as bytes). */
function fromWire(item: WireItem): Item {
  return unmarshall(attributesOf(item));
}

function attributesOf(map: WireItem): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(map)) out[name] = attributeOf(value);
  return out;
}

/** Plain bytes, as the SDK hands binary values on (not a Buffer). */
const bytesOf = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));

/** Binary travels as base64 text; the SDK hands it on as bytes, in maps and lists too. */
function attributeOf(value: WireValue): AttributeValue {
  if (typeof value.B === 'string') return { B: bytesOf(value.B) };
  if (Array.isArray(value.BS)) return { BS: (value.BS as string[]).map(bytesOf) };
  if (value.M && typeof value.M === 'object') return { M: attributesOf(value.M as WireItem) };
  if (Array.isArray(value.L)) return { L: (value.L as WireValue[]).map(attributeOf) };
  return value as unknown as AttributeValue;
}
