import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ManifestRepository, StoredManifest } from '../app/ports/manifests';
import { keys } from './keys';

/** Bytes of manifest per item: well below DynamoDB's 400 KB item limit, so a 4 MiB manifest is 14 items. */
const CHUNK_BYTES = 300 * 1024;
const MAX_CACHED_BYTES = 32 * 1024 * 1024;

/**
 * Manifests pulled through streams, in the project's image partition (`NSIMG#<ns>`): `M#<digest>#<nn>` chunks of
 * the raw bytes, and `L#<blob>#<manifest>` for every blob a manifest lists. Sharing the partition with the
 * project's image records means deleting a project deletes these with them. Content addressed and verified
 * before they are written, so writes are plain puts; reads are kept in memory per project (bounded by bytes).
 */
export class ManifestStore implements ManifestRepository {
  private readonly cache = new Map<string, StoredManifest>();
  private cachedBytes = 0;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(ns: string, digest: string): Promise<StoredManifest | undefined> {
    const key = `${ns}@${digest}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
        ExpressionAttributeValues: {
          ':pk': keys.projectImagePk(ns),
          ':p': keys.projectManifestPrefix(digest),
        },
        ConsistentRead: true,
      }),
    );
    const items = out.Items ?? [];
    const first = items[0];
    if (!first || items.length !== first.chunks) return undefined;
    const raw = Buffer.concat(items.map((i) => Buffer.from(i.bytes as Uint8Array)));
    const manifest: StoredManifest = {
      digest,
      mediaType: first.mediaType as string,
      raw,
      references: (first.references as string[] | undefined) ?? [],
    };
    this.remember(key, manifest);
    return manifest;
  }

  async put(ns: string, m: StoredManifest): Promise<void> {
    const pk = keys.projectImagePk(ns);
    const chunks: Buffer[] = [];
    for (let at = 0; at < m.raw.length || at === 0; at += CHUNK_BYTES)
      chunks.push(m.raw.subarray(at, at + CHUNK_BYTES));
    // The blob index first, the manifest last: a reader that finds the manifest finds its index too.
    const index = [...new Set(m.references)].map((blob) => ({
      PK: pk,
      SK: keys.projectBlobSk(blob, m.digest),
      manifest: m.digest,
    }));
    const parts = chunks.map((bytes, i) => ({
      PK: pk,
      SK: keys.projectManifestSk(m.digest, i),
      bytes,
      ...(i === 0 ? { mediaType: m.mediaType, chunks: chunks.length, references: m.references } : {}),
    }));
    for (const batch of [index, parts]) await this.writeAll(batch);
    this.remember(`${ns}@${m.digest}`, m);
  }

  async listing(ns: string, blob: string): Promise<string[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
        ExpressionAttributeValues: { ':pk': keys.projectImagePk(ns), ':p': keys.projectBlobPrefix(blob) },
        ProjectionExpression: 'manifest',
        Limit: 100,
      }),
    );
    return (out.Items ?? []).map((i) => i.manifest as string);
  }

  private async writeAll(items: Array<Record<string, unknown>>): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length; attempt++) {
        if (attempt >= 8) throw new Error('manifest store: writes were not processed');
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
        if (requests.length) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  private remember(key: string, m: StoredManifest): void {
    if (this.cache.has(key)) return;
    this.cache.set(key, m);
    this.cachedBytes += m.raw.length;
    for (const [k, v] of this.cache) {
      if (this.cachedBytes <= MAX_CACHED_BYTES) break;
      this.cache.delete(k);
      this.cachedBytes -= v.raw.length;
    }
  }
}
