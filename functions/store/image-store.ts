import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Image } from '../core/api-types';
import { IMAGE_SK, keys } from './keys';

/**
 * Images are content addressed (name = manifest digest) and immutable once written, so they are stored once per
 * digest, shared by every stream, and cached in process without invalidation.
 */
export class ImageStore {
  private readonly cache = new Map<string, Image>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly cacheSize = 2_000,
  ) {}

  async get(digest: string): Promise<Image | undefined> {
    const hit = this.cache.get(digest);
    if (hit) return hit;
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.imagePk(digest), SK: IMAGE_SK },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    return this.remember(JSON.parse(out.Item.doc as string) as Image);
  }

  async getMany(digests: string[]): Promise<Map<string, Image>> {
    const out = new Map<string, Image>();
    const missing = [...new Set(digests)].filter((d) => {
      const hit = this.cache.get(d);
      if (hit) out.set(d, hit);
      return !hit;
    });
    for (let i = 0; i < missing.length; i += 100) {
      const res = await this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [this.table]: {
              Keys: missing.slice(i, i + 100).map((d) => ({ PK: keys.imagePk(d), SK: IMAGE_SK })),
            },
          },
        }),
      );
      for (const item of res.Responses?.[this.table] ?? []) {
        const img = this.remember(JSON.parse(item.doc as string) as Image);
        out.set(img.metadata.name as string, img);
      }
      // Unprocessed keys are simply fetched one by one.
      for (const k of res.UnprocessedKeys?.[this.table]?.Keys ?? []) {
        const d = (k.PK as string).slice(4);
        const img = await this.get(d);
        if (img) out.set(d, img);
      }
    }
    return out;
  }

  /** Stores the image unless an image with that digest exists already (which is success: same content). */
  async putIfAbsent(image: Image): Promise<Image> {
    const digest = image.metadata.name as string;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { PK: keys.imagePk(digest), SK: IMAGE_SK, kind: 'image', doc: JSON.stringify(image) },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return this.remember(image);
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
      return (await this.get(digest)) ?? image;
    }
  }

  /**
   * Stores many images, skipping digests already stored (one batch read, then batch writes). Two importers racing
   * on one digest both write the same content-addressed image, which is harmless; order is kept (children first).
   */
  async putAllIfAbsent(images: Image[]): Promise<void> {
    if (images.length === 0) return;
    const existing = await this.getMany(images.map((i) => i.metadata.name as string));
    const missing = images.filter((i) => !existing.has(i.metadata.name as string));
    for (let i = 0; i < missing.length; i += 25) {
      let requests = missing.slice(i, i + 25).map((img) => ({
        PutRequest: {
          Item: {
            PK: keys.imagePk(img.metadata.name as string),
            SK: IMAGE_SK,
            kind: 'image',
            doc: JSON.stringify(img),
          },
        },
      }));
      for (let attempt = 0; requests.length > 0 && attempt < 8; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      }
      if (requests.length > 0) throw new Error('could not store images: the table kept throttling');
    }
    for (const img of missing) this.remember(img);
  }

  private remember(image: Image): Image {
    const name = image.metadata.name as string;
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(name, image);
    return image;
  }
}
