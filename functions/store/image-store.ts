import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  type ImageRepository,
  type ImageSource,
  type ProjectImage,
  type RecordedImage,
  type StreamScope,
  scopeOf,
} from '../app/ports/images';
import type { Image } from '../core/api-types';
import { namespaceNotFound, namespaceTerminating } from '../core/errors';
import { IMAGE_SK, keys } from './keys';
import { activeProjectCheck } from './project-store';
import { sleep } from './stream-store';
import { tableDefinition } from './table-definition';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * How long this process may answer from memory for a `mapping` record: an import by the same project (in any
 * process) may replace it with verified metadata, and until then readers elsewhere see the project's own,
 * older metadata, never another project's. `import` records are never replaced, so they stay until evicted.
 */
export const MAPPING_CACHE_MS = 5_000;
/**
 * Records per transaction (DynamoDB takes 100 items, one of which is the project check). A third of that: the
 * chunks of one write go out side by side, so in DynamoDB they take no longer than one large transaction, and
 * DynamoDB Local takes far longer for one transaction of 100 items than for three of 33.
 */
const RECORDS_PER_TRANSACTION = 32;
/** DynamoDB's transaction limit is 4 MB; image documents are at most 300 KB (mappings) and usually a few KB. */
const BYTES_PER_TRANSACTION = 3 * 1024 * 1024;
/** A write that keeps losing races to other writers of the same records gives up after this many rounds. */
const MAX_WRITE_ROUNDS = 20;
/** Project records one deletion call removes before it says "more left". */
const DEFAULT_DELETE_BUDGET = 1_000;

interface CacheEntry {
  record: ProjectImage;
  /** Stream uids this entry was read through (see {@link StreamScope}). */
  streams: Set<string>;
  expiresAt: number;
}

/**
 * Images, twice:
 *
 * - **Per project** (`NSIMG#<ns>` / `<digest>`): what that project sees for a digest, and where it came from. A
 *   project reads only its own records, so metadata one project sent or imported never shows in another. An
 *   import writes the verified metadata (replacing the project's own `mapping` record, never an `import` one); a
 *   mapping writes only when the project has no record (first write wins); tagging from another project copies
 *   that project's record by the same rules. Every write checks, in the same transaction, that the project is
 *   Active, so a project deletion (which deletes these records) cannot miss one written while it runs.
 * - **Shared and verified** (`IMG#<digest>` / `IMG`): written only by imports (content addressed, write-once),
 *   read only for cluster administrators (`GET /images/{digest}`). Never copied into a project: knowing a digest
 *   is not the right to read the image.
 */
export { type ImageSource, type ProjectImage, type RecordedImage, type StreamScope, scopeOf };

export class ImageStore implements ImageRepository {
  private readonly verifiedCache = new Map<string, Image>();
  private readonly projectCache = new Map<string, CacheEntry>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly cacheSize = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  // -------------------------------------------------------------------------------------------------------------
  // Per project
  // -------------------------------------------------------------------------------------------------------------

  /** The project's own record for a digest, read through one of its streams (cached; the hot path). */
  async seenBy(scope: StreamScope, digest: string): Promise<ProjectImage | undefined> {
    const hit = this.cached(scope, digest);
    if (hit) return hit;
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.projectImagePk(scope.namespace), SK: keys.projectImageSk(digest) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? this.remember(scope, toRecord(out.Item)) : undefined;
  }

  /** {@link seenBy} for many digests: one BatchGetItem per 100 not in memory. */
  async seenByMany(scope: StreamScope, digests: string[]): Promise<Map<string, ProjectImage>> {
    const out = new Map<string, ProjectImage>();
    const missing: string[] = [];
    for (const d of new Set(digests)) {
      const hit = this.cached(scope, d);
      if (hit) out.set(d, hit);
      else missing.push(d);
    }
    for (const [d, record] of await this.readMany(scope.namespace, missing))
      out.set(d, this.remember(scope, record));
    return out;
  }

  /** The project's record as the table has it now (writes decide on this, never on memory). */
  async current(ns: string, digest: string): Promise<ProjectImage | undefined> {
    return (await this.readMany(ns, [digest])).get(digest);
  }

  /**
   * A mapping's image: stored as the project's record unless the project has one already (from an import, an
   * earlier mapping or another project's tag), in which case that one is kept and returned.
   */
  async recordMapping(ns: string, image: Image, by: string): Promise<RecordedImage> {
    const out = await this.write(ns, [{ image, source: 'mapping' }], by);
    return out.get(image.metadata.name as string)!;
  }

  /**
   * Images this project's import fetched and verified: each replaces the project's `mapping` record of that
   * digest (verified beats invented) and leaves an `import` record as it is.
   */
  async recordImports(ns: string, images: Image[], by: string): Promise<void> {
    await this.write(
      ns,
      images.map((image) => ({ image, source: 'import' as const })),
      by,
    );
  }

  /**
   * Tagging from another project (the caller proved they may pull there): the destination gets a copy of the
   * source project's records for these digests, and of the children of any manifest list among them, by the
   * rules of their source (an `import` copy upgrades a `mapping` record, a `mapping` copy only fills a gap).
   * Returns the records the destination has afterwards, by digest.
   */
  async copyBetweenProjects(
    fromNs: string,
    toNs: string,
    digests: string[],
    by: string,
  ): Promise<Map<string, ProjectImage>> {
    const records = await this.readMany(fromNs, digests);
    const children = [...records.values()].flatMap((r) =>
      (r.image.dockerImageManifests ?? []).map((m) => m.digest),
    );
    const missingChildren = children.filter((c) => !records.has(c));
    for (const [d, r] of await this.readMany(fromNs, missingChildren)) records.set(d, r);
    if (records.size === 0) return new Map();
    // Children first, so a reader of the list finds its platforms already there.
    const ordered = [...records.values()].sort(
      (a, b) =>
        Number(!!a.image.dockerImageManifests?.length) - Number(!!b.image.dockerImageManifests?.length),
    );
    const written = await this.write(toNs, ordered, by);
    return new Map([...written].map(([d, r]) => [d, r.record]));
  }

  /**
   * Deletes up to `budget` of a project's records (the project-deletion job); true when none are left.
   */
  async deleteProjectImages(ns: string, budget = DEFAULT_DELETE_BUDGET): Promise<boolean> {
    let deleted = 0;
    for (;;) {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': keys.projectImagePk(ns) },
          ProjectionExpression: 'PK, SK',
          ConsistentRead: true,
          Limit: 25,
        }),
      );
      const items = out.Items ?? [];
      if (items.length === 0) return true;
      if (deleted >= budget) return false;
      await this.batchWrite(items.map((k) => ({ DeleteRequest: { Key: { PK: k.PK, SK: k.SK } } })));
      for (const k of items) this.projectCache.delete(cacheKey(ns, k.SK as string));
      deleted += items.length;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Shared, verified
  // -------------------------------------------------------------------------------------------------------------

  /** The shared image an import verified for this digest, if any. */
  async verified(digest: string): Promise<Image | undefined> {
    const hit = this.verifiedCache.get(digest);
    if (hit) return hit;
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.imagePk(digest), SK: IMAGE_SK },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    return this.rememberVerified(JSON.parse(out.Item.doc as string) as Image);
  }

  /**
   * What a cluster administrator sees for a digest: the shared verified image, else (a digest only ever mapped)
   * one project's record of it.
   */
  async forClusterAdmin(digest: string): Promise<Image | undefined> {
    const verified = await this.verified(digest);
    if (verified) return verified;
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: tableDefinition.gsi1.indexName,
        KeyConditionExpression: `${tableDefinition.gsi1.partitionKey} = :pk`,
        ExpressionAttributeValues: { ':pk': keys.imageProjectsGsiPk(digest) },
        Limit: 1,
      }),
    );
    const item = out.Items?.[0];
    return item ? toRecord(item).image : undefined;
  }

  /**
   * Stores imported images in the shared record, skipping digests already stored (one batch read, then batch
   * writes). Two importers racing on one digest both write verified content for it, which is harmless.
   */
  async storeVerified(images: Image[]): Promise<void> {
    if (images.length === 0) return;
    const existing = new Set<string>();
    const unknown = [...new Set(images.map((i) => i.metadata.name as string))].filter((d) => {
      if (this.verifiedCache.has(d)) existing.add(d);
      return !existing.has(d);
    });
    for (let i = 0; i < unknown.length; i += 100) {
      const res = await this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [this.table]: {
              Keys: unknown.slice(i, i + 100).map((d) => ({ PK: keys.imagePk(d), SK: IMAGE_SK })),
              ProjectionExpression: 'PK',
            },
          },
        }),
      );
      for (const item of res.Responses?.[this.table] ?? []) existing.add((item.PK as string).slice(4));
      // Unprocessed keys count as missing: writing the same verified content again is harmless.
    }
    const missing = images.filter((i) => !existing.has(i.metadata.name as string));
    await this.batchWrite(
      missing.map((img) => ({
        PutRequest: {
          Item: {
            PK: keys.imagePk(img.metadata.name as string),
            SK: IMAGE_SK,
            kind: 'image',
            doc: JSON.stringify(img),
          },
        },
      })),
    );
    for (const img of missing) this.rememberVerified(img);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Writes project records by the rules of their source, all conditional so that concurrent writers keep the
   * rules too: a `mapping` record is written only where none exists; an `import` record where none exists or
   * the existing one is a `mapping`. Each transaction also checks that the project is Active.
   */
  private async write(ns: string, entries: ProjectImage[], by: string): Promise<Map<string, RecordedImage>> {
    const wanted = new Map<string, ProjectImage>();
    for (const e of entries) {
      const d = e.image.metadata.name as string;
      const prior = wanted.get(d);
      if (!prior || (prior.source === 'mapping' && e.source === 'import')) wanted.set(d, e);
    }
    const result = new Map<string, RecordedImage>();
    let pending = [...wanted.keys()];
    for (let round = 0; pending.length > 0; round++) {
      if (round >= MAX_WRITE_ROUNDS) throw new Error('could not store images: too many concurrent writers');
      if (round > 0) await sleep(Math.random() * Math.min(400, 10 * 2 ** round));
      const existing = await this.readMany(ns, pending);
      const puts: ProjectImage[] = [];
      for (const d of pending) {
        const mine = wanted.get(d)!;
        const theirs = existing.get(d);
        if (theirs && !(theirs.source === 'mapping' && mine.source === 'import'))
          result.set(d, { record: theirs, existed: true });
        else puts.push(mine);
      }
      const lost: string[] = [];
      // Chunks hold distinct digests, so their transactions cannot conflict with each other: all at once.
      const parts = chunks(puts);
      const outcomes = await Promise.all(parts.map((chunk) => this.transactPuts(ns, chunk, by)));
      parts.forEach((chunk, i) => {
        const ok = outcomes[i];
        for (const r of chunk) {
          const d = r.image.metadata.name as string;
          if (ok) result.set(d, { record: r, existed: false });
          else lost.push(d);
        }
        if (ok)
          for (const r of chunk) this.projectCache.delete(cacheKey(ns, r.image.metadata.name as string));
      });
      pending = lost;
    }
    return result;
  }

  /** One transaction of conditional puts plus the project check; false when another writer got there first. */
  private async transactPuts(ns: string, records: ProjectImage[], by: string): Promise<boolean> {
    const at = new Date(this.now()).toISOString();
    const items: TransactItem[] = records.map((r) => ({
      Put: {
        TableName: this.table,
        Item: recordItem(ns, r, by, at),
        ...(r.source === 'import'
          ? {
              ConditionExpression: 'attribute_not_exists(PK) OR src = :mapping',
              ExpressionAttributeValues: { ':mapping': 'mapping' },
            }
          : { ConditionExpression: 'attribute_not_exists(PK)' }),
      },
    }));
    items.push(activeProjectCheck(this.table, ns));
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const reasons = err.CancellationReasons ?? [];
      const guard = reasons[items.length - 1];
      if (guard?.Code === 'ConditionalCheckFailed')
        throw guard.Item ? namespaceTerminating(ns) : namespaceNotFound(ns);
      // A record condition failed or another transaction held an item: read again and decide again.
      return false;
    }
  }

  private async readMany(ns: string, digests: string[]): Promise<Map<string, ProjectImage>> {
    const out = new Map<string, ProjectImage>();
    let keysLeft = [...new Set(digests)].map((d) => ({
      PK: keys.projectImagePk(ns),
      SK: keys.projectImageSk(d),
    }));
    for (let attempt = 0; keysLeft.length > 0; attempt++) {
      if (attempt >= 10) throw new Error('could not read images: the table kept throttling');
      if (attempt > 0) await sleep(25 * 2 ** Math.min(attempt, 6));
      const next: Item[] = [];
      for (let i = 0; i < keysLeft.length; i += 100) {
        const res = await this.db.send(
          new BatchGetCommand({
            RequestItems: { [this.table]: { Keys: keysLeft.slice(i, i + 100), ConsistentRead: true } },
          }),
        );
        for (const item of res.Responses?.[this.table] ?? []) out.set(item.SK as string, toRecord(item));
        next.push(...((res.UnprocessedKeys?.[this.table]?.Keys ?? []) as Item[]));
      }
      keysLeft = next as typeof keysLeft;
    }
    return out;
  }

  /** Batches of 25 (DynamoDB's limit), sent side by side, each retrying what the table left unprocessed. */
  private async batchWrite(requests: Array<Record<string, unknown>>): Promise<void> {
    const batches: Array<Array<Record<string, unknown>>> = [];
    for (let i = 0; i < requests.length; i += 25) batches.push(requests.slice(i, i + 25));
    await Promise.all(
      batches.map(async (first) => {
        let batch = first;
        for (let attempt = 0; batch.length > 0; attempt++) {
          if (attempt >= 8) throw new Error('could not write images: the table kept throttling');
          if (attempt > 0) await sleep(50 * 2 ** attempt);
          const out = await this.db.send(
            new BatchWriteCommand({ RequestItems: { [this.table]: batch as never } }),
          );
          batch = (out.UnprocessedItems?.[this.table] ?? []) as typeof batch;
        }
      }),
    );
  }

  private cached(scope: StreamScope, digest: string): ProjectImage | undefined {
    const key = cacheKey(scope.namespace, digest);
    const hit = this.projectCache.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= this.now()) {
      this.projectCache.delete(key);
      return undefined;
    }
    return hit.streams.has(scope.uid) ? hit.record : undefined;
  }

  private remember(scope: StreamScope, record: ProjectImage): ProjectImage {
    const key = cacheKey(scope.namespace, record.image.metadata.name as string);
    const prior = this.projectCache.get(key);
    // Another stream of the project read the very same record: share the entry.
    if (prior && JSON.stringify(prior.record) === JSON.stringify(record) && prior.streams.size < 1_000) {
      prior.streams.add(scope.uid);
      return prior.record;
    }
    this.projectCache.delete(key);
    if (this.projectCache.size >= this.cacheSize) {
      const oldest = this.projectCache.keys().next().value;
      if (oldest !== undefined) this.projectCache.delete(oldest);
    }
    this.projectCache.set(key, {
      record,
      streams: new Set([scope.uid]),
      expiresAt: record.source === 'import' ? Number.POSITIVE_INFINITY : this.now() + MAPPING_CACHE_MS,
    });
    return record;
  }

  private rememberVerified(image: Image): Image {
    const name = image.metadata.name as string;
    if (this.verifiedCache.size >= this.cacheSize) {
      const oldest = this.verifiedCache.keys().next().value;
      if (oldest !== undefined) this.verifiedCache.delete(oldest);
    }
    this.verifiedCache.set(name, image);
    return image;
  }
}

function cacheKey(ns: string, digest: string): string {
  return `${ns}\n${digest}`;
}

function recordItem(ns: string, r: ProjectImage, by: string, at: string): Item {
  const digest = r.image.metadata.name as string;
  return {
    PK: keys.projectImagePk(ns),
    SK: keys.projectImageSk(digest),
    [tableDefinition.gsi1.partitionKey]: keys.imageProjectsGsiPk(digest),
    [tableDefinition.gsi1.sortKey]: ns,
    kind: 'projectImage',
    src: r.source,
    doc: JSON.stringify(r.image),
    by,
    at,
  };
}

function toRecord(item: Item): ProjectImage {
  return {
    image: JSON.parse(item.doc as string) as Image,
    source: item.src === 'import' ? 'import' : 'mapping',
  };
}

/** Transactions within DynamoDB's item and size limits. */
function chunks(records: ProjectImage[]): ProjectImage[][] {
  const out: ProjectImage[][] = [];
  let current: ProjectImage[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = JSON.stringify(r.image).length + 512;
    if (
      current.length > 0 &&
      (current.length >= RECORDS_PER_TRANSACTION || bytes + size > BYTES_PER_TRANSACTION)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
