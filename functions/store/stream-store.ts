import { randomBytes, randomInt } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type CommitPlan,
  ConcurrentWriteError,
  type ImageRefMatch,
  type StreamRepository,
} from '../app/ports/streams';
import type { TagEvent, TagEventCondition, TagReference } from '../core/api-types';
import { namespaceNotFound, namespaceTerminating, StatusError, tooLarge } from '../core/errors';
import {
  isVacant,
  type StoredManager,
  type StreamHead,
  type StreamState,
  type TagRecord,
} from '../core/imagestream/model';
import { canonical } from '../core/imagestream/spec-rules';
import type { FieldsV1 } from '../core/managed-fields';
import { DirectReads, type TraceCall } from './direct-reads';
import { itemBytes, MAX_ITEM_BYTES } from './item-size';
import { HEAD_SK, keys, scheduleIndexAttributes, seqFromHistorySk } from './keys';
import { activeProjectCheck } from './project-store';
import { tableDefinition } from './table-definition';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
/** An audit stamp (`by`, optionally `at`) written onto a record just before it is deleted, under the delete's condition. */
interface Stamp {
  key: Item;
  condition: string;
  values: Record<string, unknown>;
  set: { by: string; at?: string };
}

/** DynamoDB's limit on items in one TransactWriteItems call. */
export const MAX_ITEMS_PER_TRANSACTION = 100;
/**
 * DynamoDB refuses a TransactWriteItems call over 4 MB (tag records carry up to 64 KB of annotations each, so 100
 * records can exceed it). Items are budgeted by their JSON size, which counts more than DynamoDB does for the data;
 * the rest of 4 MiB is headroom for the wire encoding.
 */
export const MAX_TRANSACTION_BYTES = 4_000_000;
/** Batch writes one writer keeps in flight at once. */
const BATCH_WRITERS = 8;
const bytesOf = (item: TransactItem) => Buffer.byteLength(JSON.stringify(item));

/**
 * A record over DynamoDB's item limit would fail the whole write with an error the caller cannot act on: the write
 * is refused first, with what is too large. Labels (64 KB) and annotations (256 KB) each fit, but together with the
 * field managers that own them a stream's head can outgrow one record.
 */
function refuseOversizedRecords(
  head: StreamHead,
  actor: string,
  headItem: TransactItem,
  items: TransactItem[],
): void {
  // A whole-stream write puts the head as planned; a tag write updates a few attributes of it in place.
  const headBytes = itemBytes(headItem.Put?.Item ?? headToItem(head, actor));
  if (headBytes > MAX_ITEM_BYTES)
    throw tooLarge(
      `imagestream "${head.name}" would take ${headBytes} bytes stored, more than the ${MAX_ITEM_BYTES} one record may hold: its labels, annotations and managedFields are too large together`,
    );
  for (const item of items) {
    const record = item.Put?.Item;
    if (!record) continue;
    const bytes = itemBytes(record);
    if (bytes > MAX_ITEM_BYTES)
      throw tooLarge(
        typeof record.tag === 'string'
          ? `imagestreamtag "${head.name}:${record.tag}" would take ${bytes} bytes stored, more than the ${MAX_ITEM_BYTES} one record may hold: its annotations, conditions and field managers are too large together`
          : `a record of imagestream "${head.name}" would take ${bytes} bytes stored, more than the ${MAX_ITEM_BYTES} one record may hold`,
      );
  }
}

/** `items` in consecutive chunks of at most `maxItems` items and {@link MAX_TRANSACTION_BYTES} bytes each. */
function chunked(items: TransactItem[], maxItems: number, reservedBytes: number): TransactItem[][] {
  const chunks: TransactItem[][] = [];
  let current: TransactItem[] = [];
  let bytes = reservedBytes;
  for (const item of items) {
    const size = bytesOf(item);
    if (current.length > 0 && (current.length >= maxItems || bytes + size > MAX_TRANSACTION_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = reservedBytes;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
/**
 * A create still pending after this long, or any write intent this old, was abandoned by a writer that crashed:
 * a create may take the name over, and the sweep of abandoned writes removes what the intent wrote ahead.
 */
export const ABANDONED_WRITE_MS = 5 * 60_000;
/** Write intents are spread over this many partitions (keys.intentPk), so no one partition takes every writer's. */
const INTENT_SHARDS = 16;

/**
 * A write intent: put before any record that only a later transaction makes reachable (history and image
 * references written ahead of their tags; everything of a large create), and deleted by that very transaction,
 * under the condition that no sweep has fenced it. An intent that outlives its writer therefore names records
 * that can never become reachable, and {@link StreamStore.sweepAbandonedWrites} removes them.
 */
interface WriteIntent {
  PK: string;
  SK: string;
  kind: 'intent';
  /** `create`: a large create (everything under the stream uid `suid`); `tags`: new tag incarnations `tids`. */
  of: 'create' | 'tags';
  /** The stream partition written to. */
  pk: string;
  suid: string;
  tids?: string[];
  at: number;
  /** The process that wrote it (local mode), so a restart can tell its own dead intents at once. */
  writer?: string;
  fenced?: number;
}

/**
 * Audit attributes. `by` (who wrote the record last) is on stream heads, tag records, history entries and image
 * references; `at` (when) on tag records. Both are DynamoDB reserved words, so expressions name them through
 * these placeholders. A record about to be deleted is first stamped with its deleter (a MODIFY that moves no pull
 * spec, hence no event), because the table stream's REMOVE record carries only the old image: the change
 * processor reads the deleter from there.
 */
export const AUDIT = {
  names: { '#by': 'by', '#at': 'at' },
} as const;

function headToItem(h: StreamHead, by: string): Item {
  return {
    PK: keys.streamPk(h.namespace, h.name),
    SK: HEAD_SK,
    [tableDefinition.gsi1.partitionKey]: keys.namespaceGsiPk(h.namespace),
    [tableDefinition.gsi1.sortKey]: keys.namespaceGsiSk(h.name),
    kind: 'stream',
    ns: h.namespace,
    name: h.name,
    uid: h.uid,
    rv: h.resourceVersion,
    gen: h.generation,
    created: h.creationTimestamp,
    labels: h.labels,
    annotations: h.annotations,
    lookupLocal: h.lookupPolicy.local,
    repo: h.dockerImageRepository,
    ...(h.managedFields?.length ? { mf: h.managedFields } : {}),
    by,
  };
}

export function itemToHead(item: Item): StreamHead {
  return {
    namespace: item.ns as string,
    name: item.name as string,
    uid: item.uid as string,
    resourceVersion: item.rv as number,
    generation: item.gen as number,
    creationTimestamp: item.created as string,
    labels: (item.labels as Record<string, string>) ?? {},
    annotations: (item.annotations as Record<string, string>) ?? {},
    lookupPolicy: { local: Boolean(item.lookupLocal) },
    dockerImageRepository: (item.repo as string) ?? '',
    ...(item.mf ? { managedFields: item.mf as StoredManager[] } : {}),
  };
}

function tagToItem(h: StreamHead, t: TagRecord, version: number, audit: { by: string; at: string }): Item {
  const pk = keys.streamPk(h.namespace, h.name);
  return {
    PK: pk,
    SK: keys.tagSk(t.name),
    kind: 'tag',
    suid: h.uid,
    tag: t.name,
    tid: t.tid,
    ver: version,
    spec: t.spec,
    recent: t.recent,
    topSeq: t.topSeq,
    conds: t.conditions,
    aliases: t.aliases,
    ...(t.owners ? { owners: t.owners } : {}),
    by: audit.by,
    at: audit.at,
    ...scheduleIndexAttributes(pk, t),
  };
}

export function itemToTag(item: Item): TagRecord {
  return {
    name: item.tag as string,
    tid: item.tid as string,
    version: item.ver as number,
    spec: (item.spec as TagReference | null) ?? null,
    recent: (item.recent as TagEvent[]) ?? [],
    topSeq: (item.topSeq as number) ?? 0,
    conditions: (item.conds as TagEventCondition[]) ?? [],
    aliases: (item.aliases as string[]) ?? [],
    ...(item.owners ? { owners: item.owners as Record<string, FieldsV1> } : {}),
  };
}

/** A head that is still being created (large creates are written in several transactions) is not visible. */
function isLiveHead(item: Item | undefined): item is Item {
  return !!item && item.pending === undefined;
}

export { type CommitMode, type CommitPlan, ConcurrentWriteError } from '../app/ports/streams';

export class StreamStore implements StreamRepository {
  /** Names this process in the write intents it puts (local mode: see functions/local/service.ts). */
  private readonly writer: string | undefined;
  private readonly largeCreateBudgetMs: number | undefined;
  /** Heads and tag records by key: the reads every stream request starts with, kept off the SDK's stack. */
  private readonly reads: DirectReads;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    options: {
      writer?: string | undefined;
      /**
       * How long a create too large for one transaction may take before it is taken back (undefined: no limit).
       * Behind API Gateway, a create still running when the gateway cuts the request would commit after the client
       * was told it failed; one that gives up first removes what it wrote and says so.
       */
      largeCreateBudgetMs?: number | undefined;
      /** Traces each point read (an X-Ray subsegment in Lambda, as the SDK's calls have). */
      traceRead?: TraceCall | undefined;
    } = {},
  ) {
    this.writer = options.writer;
    this.largeCreateBudgetMs = options.largeCreateBudgetMs;
    this.reads = new DirectReads(db, { trace: options.traceRead });
  }

  async getHead(ns: string, name: string): Promise<StreamHead | undefined> {
    const item = await this.reads.getItem(this.table, { PK: keys.streamPk(ns, name), SK: HEAD_SK });
    return isLiveHead(item) ? itemToHead(item) : undefined;
  }

  /**
   * The head and the named tags in one round trip (BatchGetItem). Tag records of an older incarnation of the
   * stream (deleted and re-created under the same name) are ignored.
   */
  async getHeadAndTags(
    ns: string,
    name: string,
    tags: string[],
  ): Promise<{ head: StreamHead | undefined; tags: Map<string, TagRecord> }> {
    const pk = keys.streamPk(ns, name);
    const wanted = [
      { PK: pk, SK: HEAD_SK },
      ...[...new Set(tags)].map((t) => ({ PK: pk, SK: keys.tagSk(t) })),
    ];
    const items = await this.batchGet(wanted);
    const headItem = items.find((i) => i.SK === HEAD_SK);
    const head = isLiveHead(headItem) ? itemToHead(headItem) : undefined;
    const out = new Map<string, TagRecord>();
    if (head) {
      for (const i of items)
        if (i.SK !== HEAD_SK && i.suid === head.uid) out.set(i.tag as string, itemToTag(i));
    }
    return { head, tags: out };
  }

  async getTags(head: StreamHead, tags: string[]): Promise<Map<string, TagRecord>> {
    const pk = keys.streamPk(head.namespace, head.name);
    const items = await this.batchGet([...new Set(tags)].map((t) => ({ PK: pk, SK: keys.tagSk(t) })));
    const out = new Map<string, TagRecord>();
    for (const i of items) if (i.suid === head.uid) out.set(i.tag as string, itemToTag(i));
    return out;
  }

  private async batchGet(keysToGet: Item[]): Promise<Item[]> {
    const out: Item[] = [];
    for (let i = 0; i < keysToGet.length; i += 100) {
      let pending: Item[] | undefined = keysToGet.slice(i, i + 100);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 8) throw new Error('BatchGetItem kept returning unprocessed keys');
        if (attempt > 0) await sleep(Math.random() * 20 * 2 ** attempt);
        const res = await this.reads.batchGetItem(this.table, pending);
        out.push(...res.items);
        pending = res.unprocessed;
      }
    }
    return out;
  }

  /** A page of tag records in tag-name order (`limit` undefined = every tag). */
  async queryTags(
    head: StreamHead,
    opts: { limit?: number; after?: string } = {},
  ): Promise<{ tags: TagRecord[]; last?: string }> {
    const tags: TagRecord[] = [];
    let start: Item | undefined = opts.after
      ? { PK: keys.streamPk(head.namespace, head.name), SK: keys.tagSk(opts.after) }
      : undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
          ExpressionAttributeValues: {
            ':pk': keys.streamPk(head.namespace, head.name),
            ':p': keys.tagPrefix,
          },
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ...(opts.limit ? { Limit: opts.limit - tags.length } : {}),
        }),
      );
      for (const i of res.Items ?? []) if (i.suid === head.uid) tags.push(itemToTag(i));
      start = res.LastEvaluatedKey;
    } while (start && (!opts.limit || tags.length < opts.limit));
    const lastTag = tags.at(-1)?.name;
    return { tags, ...(start && lastTag !== undefined ? { last: lastTag } : {}) };
  }

  async loadStream(ns: string, name: string): Promise<StreamState | undefined> {
    const head = await this.getHead(ns, name);
    if (!head) return undefined;
    const { tags } = await this.queryTags(head);
    return { head, tags: new Map(tags.map((t) => [t.name, t])), complete: true };
  }

  /** Stream heads of a namespace in name order (GSI1), `limit` at most, after the stream named `after`. */
  async listHeads(
    ns: string,
    opts: { limit: number; after?: string },
  ): Promise<{ heads: StreamHead[]; more: boolean }> {
    const heads: StreamHead[] = [];
    let start: Item | undefined = opts.after
      ? {
          PK: keys.streamPk(ns, opts.after),
          SK: HEAD_SK,
          [tableDefinition.gsi1.partitionKey]: keys.namespaceGsiPk(ns),
          [tableDefinition.gsi1.sortKey]: keys.namespaceGsiSk(opts.after),
        }
      : undefined;
    let more = false;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: tableDefinition.gsi1.indexName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': tableDefinition.gsi1.partitionKey },
          ExpressionAttributeValues: { ':pk': keys.namespaceGsiPk(ns) },
          ExclusiveStartKey: start,
          Limit: opts.limit + 1 - heads.length,
        }),
      );
      for (const i of res.Items ?? []) if (isLiveHead(i)) heads.push(itemToHead(i));
      start = res.LastEvaluatedKey;
    } while (start && heads.length <= opts.limit);
    if (heads.length > opts.limit) {
      heads.length = opts.limit;
      more = true;
    } else if (start) more = true;
    return { heads, more };
  }

  /** A tag's history, newest first, starting below sequence number `beforeSeq` (exclusive). */
  async history(
    head: StreamHead,
    tag: TagRecord,
    opts: { limit: number; beforeSeq?: number },
  ): Promise<{ events: Array<{ seq: number; event: TagEvent; by?: string }> }> {
    const pk = keys.streamPk(head.namespace, head.name);
    const upper = opts.beforeSeq ?? tag.topSeq + 1;
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :lo AND :hi',
        ExpressionAttributeValues: {
          ':pk': pk,
          ':lo': keys.historySk(tag.tid, 0),
          ':hi': keys.historySk(tag.tid, Math.max(upper - 1, 0)),
        },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: opts.limit,
      }),
    );
    return {
      events: (res.Items ?? []).map((i) => ({
        seq: seqFromHistorySk(i.SK as string),
        event: i.ev as TagEvent,
        ...(typeof i.by === 'string' ? { by: i.by } : {}),
      })),
    };
  }

  /**
   * Distinct images referenced by live history entries of this stream whose digest matches `id`
   * (OpenShift's DigestOrImageMatch: a prefix of the hex or of the full `algorithm:hex` name).
   */
  async findImages(head: StreamHead, id: string, max = 2): Promise<ImageRefMatch[]> {
    const pk = keys.streamPk(head.namespace, head.name);
    const prefixes = new Set<string>([id.includes(':') ? id : `sha256:${id}`]);
    if ('sha256:'.startsWith(id)) prefixes.add(id);
    const candidates = new Map<string, Array<{ tag: string; tid: string; ref: string }>>();
    for (const prefix of prefixes) {
      let start: Item | undefined;
      let scanned = 0;
      do {
        const res = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
            ExpressionAttributeValues: { ':pk': pk, ':p': keys.refPrefix(prefix) },
            ConsistentRead: true,
            ExclusiveStartKey: start,
            Limit: 200,
          }),
        );
        for (const i of res.Items ?? []) {
          if (i.suid !== head.uid) continue;
          const list = candidates.get(i.image as string) ?? [];
          list.push({ tag: i.tag as string, tid: i.tid as string, ref: i.ref as string });
          candidates.set(i.image as string, list);
        }
        scanned += res.Items?.length ?? 0;
        start = res.LastEvaluatedKey;
        // Enough distinct images to answer "ambiguous", or a bounded scan: stop.
      } while (start && candidates.size <= max && scanned < 5000);
    }
    // A reference only counts while the tag incarnation that wrote it is alive.
    const tagNames = [...new Set([...candidates.values()].flat().map((c) => c.tag))];
    const live = await this.getTags(head, tagNames);
    const out: ImageRefMatch[] = [];
    for (const [image, refs] of candidates) {
      const alive = refs.find((r) => live.get(r.tag)?.tid === r.tid);
      if (alive) out.push({ image, dockerImageReference: alive.ref, tag: alive.tag });
      if (out.length >= max) break;
    }
    return out;
  }

  /** Writes the difference between `before` and `after` atomically, or throws ConcurrentWriteError. */
  async commit(plan: CommitPlan): Promise<void> {
    const { items, headItem, sideItems, stamps } = this.planItems(plan);
    refuseOversizedRecords(plan.after.head, plan.actor, headItem, items);
    // A create also checks its project (one more item); records written ahead add the release of their intent.
    const guard = plan.mode === 'create' ? [this.projectGuard(plan.after.head.namespace)] : [];
    const ns = plan.mode === 'create' ? plan.after.head.namespace : undefined;
    const intentItems = sideItems.length > 0 ? 1 : 0;
    if (items.length + 1 + intentItems > MAX_ITEMS_PER_TRANSACTION && plan.mode !== 'create')
      throw tooLarge(
        `this change writes ${items.length + 1 + intentItems} records and one update may write at most ${MAX_ITEMS_PER_TRANSACTION}; change fewer tags per request (for example one imagestreamtag at a time)`,
      );
    const bytes = [headItem, ...items].reduce((sum, item) => sum + bytesOf(item), 0);
    if (bytes > MAX_TRANSACTION_BYTES && plan.mode !== 'create')
      throw tooLarge(
        `this change writes ${bytes} bytes and one update may write at most ${MAX_TRANSACTION_BYTES}; change fewer tags per request (for example one imagestreamtag at a time)`,
      );
    // The deleter goes onto each tag record this commit deletes, under the delete's own condition: a record
    // someone else moved in the meantime is left alone (and the commit then loses the race anyway).
    const stamped = await Promise.all(
      stamps.map((s) => this.stampIfStill(s.key, s.condition, s.values, s.set)),
    );
    if (stamped.includes(false)) throw new ConcurrentWriteError('tag');
    if (
      plan.mode === 'create' &&
      (items.length + 1 + intentItems + guard.length > MAX_ITEMS_PER_TRANSACTION ||
        bytes > MAX_TRANSACTION_BYTES)
    ) {
      await this.commitLargeCreate(plan.after, items, sideItems, plan.actor);
      return;
    }
    const pk = keys.streamPk(plan.after.head.namespace, plan.after.head.name);
    const intent = sideItems.length
      ? await this.putIntent('tags', pk, plan.after.head.uid, [
          ...new Set(sideItems.map((i) => i.tid as string)),
        ])
      : undefined;
    try {
      await this.batchPut(sideItems);
      await this.transact(
        [headItem, ...items, ...(intent ? [this.releaseIntent(intent)] : []), ...guard],
        ns,
      );
    } catch (e) {
      // A cancelled transaction (not an unknown outcome such as a timeout, which may have committed): the history
      // and references written ahead belong to tag incarnations that now never existed, since a retry makes new
      // ones. Remove them now; if that fails too, their intent stays and the sweep of abandoned writes does it.
      if (intent && isCancellation(e) && (await this.batchDelete(sideItems).catch(() => false)))
        await this.dropIntent(intent).catch(() => undefined);
      throw e;
    }
  }

  /**
   * A create too large for one transaction: put an intent, claim the name with a pending head (invisible to
   * readers), write the history ahead, then the tag records in chunks that each re-check the claim, and reveal
   * the head in the transaction that releases the intent. A crash leaves only invisible records, all under the
   * stream uid the intent names, and the pending head: the sweep of abandoned writes removes them.
   */
  private async commitLargeCreate(
    after: StreamState,
    items: TransactItem[],
    sideItems: Array<Record<string, unknown>>,
    actor: string,
  ): Promise<void> {
    const head = headToItem({ ...after.head, resourceVersion: 1 }, actor);
    const pk = head.PK as string;
    const token = after.head.uid;
    const deadline =
      this.largeCreateBudgetMs === undefined ? Infinity : Date.now() + this.largeCreateBudgetMs;
    const inTime = () => {
      if (Date.now() > deadline)
        throw new StatusError(
          500,
          'ServerTimeout',
          `imagestreams.image.openshift.io "${after.head.name}" was not created: its ${after.tags.size} tags could not be written within ${Math.round(this.largeCreateBudgetMs! / 1000)} s, so what was written has been removed; create the stream with fewer tags and add the rest in later updates`,
          { name: after.head.name, group: 'image.openshift.io', kind: 'imagestreams', retryAfterSeconds: 2 },
        );
    };
    const existing = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { PK: pk, SK: HEAD_SK }, ConsistentRead: true }),
    );
    const abandoned =
      existing.Item?.pending !== undefined &&
      Date.now() - Number(existing.Item.pendingSince ?? 0) > ABANDONED_WRITE_MS;
    const intent = await this.putIntent('create', pk, token, []);
    try {
      await this.transact(
        [
          {
            Put: {
              TableName: this.table,
              Item: { ...head, pending: token, pendingSince: Date.now() },
              ConditionExpression: abandoned ? 'pending = :old' : 'attribute_not_exists(PK)',
              ...(abandoned ? { ExpressionAttributeValues: { ':old': existing.Item?.pending } } : {}),
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          this.projectGuard(after.head.namespace),
        ],
        after.head.namespace,
      );
    } catch (e) {
      // Refused: nothing was written under this uid.
      if (isCancellation(e)) await this.dropIntent(intent).catch(() => undefined);
      throw e;
    }
    try {
      await this.batchPut(sideItems, inTime);
      inTime();
      const check: TransactItem = {
        ConditionCheck: {
          TableName: this.table,
          Key: { PK: pk, SK: HEAD_SK },
          ConditionExpression: 'pending = :t',
          ExpressionAttributeValues: { ':t': token },
        },
      };
      for (const chunk of chunked(items, MAX_ITEMS_PER_TRANSACTION - 1, bytesOf(check))) {
        inTime();
        await this.transact([check, ...chunk]);
      }
      inTime();
      await this.transact(
        [
          {
            Update: {
              TableName: this.table,
              Key: { PK: pk, SK: HEAD_SK },
              UpdateExpression: 'REMOVE pending, pendingSince',
              ConditionExpression: 'pending = :t',
              ExpressionAttributeValues: { ':t': token },
            },
          },
          this.releaseIntent(intent),
          // Revealed only into a project that is still Active (deletion jobs do not see pending heads).
          this.projectGuard(after.head.namespace),
        ],
        after.head.namespace,
      );
    } catch (e) {
      // The create failed for good: take back what it wrote (the sweep would, later). Even if a sweep fenced the
      // intent meanwhile, records this writer put after that sweep are still its own to remove.
      if (
        isCancellation(e) &&
        (await this.removeWrittenAhead(intent, Date.now() + 60_000).catch(() => undefined)) !== undefined
      )
        await this.dropIntent(intent).catch(() => undefined);
      throw e;
    }
  }

  private planItems(plan: CommitPlan): {
    headItem: TransactItem;
    items: TransactItem[];
    sideItems: Array<Record<string, unknown>>;
    stamps: Stamp[];
  } {
    const { before, after, mode, actor } = plan;
    const at = plan.at ?? new Date().toISOString();
    const h = after.head;
    const pk = keys.streamPk(h.namespace, h.name);
    let headItem: TransactItem;
    if (mode === 'create') {
      headItem = {
        Put: {
          TableName: this.table,
          Item: headToItem({ ...h, resourceVersion: 1 }, actor),
          ConditionExpression: 'attribute_not_exists(PK)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      };
    } else if (mode === 'stream') {
      headItem = {
        Put: {
          TableName: this.table,
          Item: headToItem({ ...h, resourceVersion: (before?.head.resourceVersion ?? 0) + 1 }, actor),
          ConditionExpression: 'rv = :rv AND uid = :uid AND attribute_not_exists(pending)',
          ExpressionAttributeValues: { ':rv': before?.head.resourceVersion, ':uid': h.uid },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      };
    } else {
      // Tag-level writes count themselves on the head without comparing it, so writers of different tags never
      // conflict; the generation moves by one when the spec changed (docs/semantics.md#generations).
      const names: Record<string, string> = { '#by': AUDIT.names['#by'] };
      const values: Record<string, unknown> = { ':one': 1, ':uid': h.uid, ':by': actor };
      const sets = ['rv = rv + :one', '#by = :by'];
      if (plan.specChanged) sets.push('gen = gen + :one');
      const prevAnn = before?.head.annotations ?? {};
      let n = 0;
      for (const [k, v] of Object.entries(h.annotations)) {
        if (prevAnn[k] === v) continue;
        names[`#a${n}`] = k;
        values[`:a${n}`] = v;
        sets.push(`annotations.#a${n} = :a${n}`);
        n++;
      }
      headItem = {
        Update: {
          TableName: this.table,
          Key: { PK: pk, SK: HEAD_SK },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'uid = :uid AND attribute_not_exists(pending)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      };
    }

    const items: TransactItem[] = [];
    const sideItems: Array<Record<string, unknown>> = [];
    const stamps: Stamp[] = [];
    const names = new Set([...after.tags.keys(), ...(before?.tags.keys() ?? [])]);
    for (const name of names) {
      const old = mode === 'create' ? undefined : before?.tags.get(name);
      const next = after.tags.get(name);
      const oldVersion = old?.version ?? 0;
      const versionCondition =
        oldVersion > 0
          ? { ConditionExpression: 'ver = :v', ExpressionAttributeValues: { ':v': oldVersion } }
          : {
              ConditionExpression: 'attribute_not_exists(PK) OR suid <> :uid',
              ExpressionAttributeValues: { ':uid': h.uid },
            };
      if (!next || isVacant(next)) {
        if (oldVersion > 0) {
          const key = { PK: pk, SK: keys.tagSk(name) };
          stamps.push({
            key,
            condition: versionCondition.ConditionExpression,
            values: versionCondition.ExpressionAttributeValues,
            set: { by: actor, at },
          });
          items.push({ Delete: { TableName: this.table, Key: key, ...versionCondition } });
        }
        continue;
      }
      // Compared by value, not by key order: DynamoDB gives map attributes back in an order of its own, and an
      // unchanged record read back must not count as a change (a whole-stream write would rewrite every tag).
      if (old && canonical(old) === canonical(next)) continue;
      items.push({
        Put: {
          TableName: this.table,
          Item: tagToItem(h, next, oldVersion + 1, { by: actor, at }),
          ...versionCondition,
        },
      });
      const history = this.historyItems(
        pk,
        h.uid,
        old?.tid === next.tid ? old : undefined,
        next,
        actor,
        plan.childImages,
      );
      // A record never stored before has a tag incarnation id no other writer can hold, so its history and image
      // references cannot collide with anyone's: they are written ahead in batches (cheaper than in the
      // transaction) and stay unreachable unless the transaction makes that incarnation live.
      if (oldVersion === 0) sideItems.push(...history.map((i) => i.Put!.Item as Record<string, unknown>));
      else items.push(...history);
    }
    return { headItem, items, sideItems, stamps };
  }

  /** History entries (and image references) the change adds or rewrites for one tag. */
  private historyItems(
    pk: string,
    suid: string,
    old: TagRecord | undefined,
    next: TagRecord,
    by: string,
    childImages?: Map<string, string[]>,
  ): TransactItem[] {
    const out: TransactItem[] = [];
    const oldTop = old?.topSeq ?? 0;
    const firstChanged = Math.max(1, Math.min(oldTop, next.topSeq));
    for (let seq = next.topSeq; seq >= firstChanged; seq--) {
      const ev = next.recent[next.topSeq - seq];
      if (!ev) break;
      const prior = old && seq <= oldTop ? old.recent[oldTop - seq] : undefined;
      if (prior && JSON.stringify(prior) === JSON.stringify(ev)) continue;
      const cond = {
        ConditionExpression: 'attribute_not_exists(PK) OR tid = :tid',
        ExpressionAttributeValues: { ':tid': next.tid },
      };
      out.push({
        Put: {
          TableName: this.table,
          Item: {
            PK: pk,
            SK: keys.historySk(next.tid, seq),
            kind: 'history',
            suid,
            tid: next.tid,
            tag: next.name,
            ev,
            by,
          },
          ...cond,
        },
      });
      if (ev.image && ev.image !== prior?.image) {
        const repo = ev.dockerImageReference.replace(/@[^@]*$/, '');
        for (const [image, ref] of [
          [ev.image, ev.dockerImageReference],
          ...(childImages?.get(ev.image) ?? []).map((c) => [c, `${repo}@${c}`]),
        ] as Array<[string, string]>)
          out.push({
            Put: {
              TableName: this.table,
              Item: {
                PK: pk,
                SK: keys.refSk(image, next.tid),
                kind: 'ref',
                suid,
                tid: next.tid,
                tag: next.name,
                image,
                ref,
                by,
              },
              ...cond,
            },
          });
      }
    }
    return out;
  }

  /** Unconditional puts in batches of 25 (DynamoDB's limit), retrying what the table leaves unprocessed. */
  /**
   * Puts in batches of 25, at most BATCH_WRITERS at a time (a thousand-tag create must not queue a hundred
   * requests ahead of every other caller's on the shared connection pool). `inTime` runs before each batch, so a
   * write past its deadline stops early and leaves less to take back.
   */
  private async batchPut(
    items: Array<Record<string, unknown>>,
    inTime: () => void = () => {},
  ): Promise<void> {
    const batches: Array<Array<Record<string, unknown>>> = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
    let next = 0;
    const writer = async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        inTime();
        let pending = batch.map((Item) => ({ PutRequest: { Item } }));
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt >= 8) throw new Error('could not write history records: the table kept throttling');
          if (attempt > 0) await sleep(25 * 2 ** attempt);
          const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
          pending = (out.UnprocessedItems?.[this.table] ?? []) as typeof pending;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_WRITERS, batches.length) }, writer));
  }

  /**
   * Deletes in batches of 25; used only for records no committed tag refers to. Resolves false when the table kept
   * some of them unprocessed.
   */
  private async batchDelete(items: Array<Record<string, unknown>>): Promise<boolean> {
    const batches: Array<Array<Record<string, unknown>>> = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
    const done = await Promise.all(
      batches.map(async (batch) => {
        let pending = batch.map((i) => ({ DeleteRequest: { Key: { PK: i.PK, SK: i.SK } } }));
        for (let attempt = 0; pending.length > 0 && attempt < 8; attempt++) {
          if (attempt > 0) await sleep(25 * 2 ** attempt);
          const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
          pending = (out.UnprocessedItems?.[this.table] ?? []) as typeof pending;
        }
        return pending.length === 0;
      }),
    );
    return done.every(Boolean);
  }

  /** Puts the intent to write records ahead of the transaction that will make them reachable. */
  private async putIntent(
    of: WriteIntent['of'],
    pk: string,
    suid: string,
    tids: string[],
  ): Promise<WriteIntent> {
    const at = Date.now();
    const intent: WriteIntent = {
      PK: keys.intentPk(randomInt(INTENT_SHARDS)),
      SK: keys.intentSk(at, randomBytes(9).toString('base64url')),
      kind: 'intent',
      of,
      pk,
      suid,
      ...(tids.length ? { tids } : {}),
      at,
      ...(this.writer ? { writer: this.writer } : {}),
    };
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: intent,
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return intent;
  }

  /**
   * The transaction item that deletes an intent as its records become reachable; it fails (and with it the whole
   * transaction) once a sweep has fenced the intent, so nothing a sweep removes can be revealed afterwards.
   */
  private releaseIntent(intent: WriteIntent): TransactItem {
    return {
      Delete: {
        TableName: this.table,
        Key: { PK: intent.PK, SK: intent.SK },
        ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(fenced)',
      },
    };
  }

  private async dropIntent(intent: Pick<WriteIntent, 'PK' | 'SK'>): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { PK: intent.PK, SK: intent.SK } }));
  }

  /**
   * Removes what abandoned writers wrote ahead: every intent older than {@link ABANDONED_WRITE_MS}, and those of
   * `deadWriter` (a local process that has since restarted) written before it restarted. Each is fenced first, so
   * its writer can no longer reveal anything, then the records it names are deleted, then the intent. Runs within
   * a time budget; `done` is false when intents are left for another run.
   */
  async sweepAbandonedWrites(opts: {
    budgetMs: number;
    deadWriter?: { writer: string; before: number };
    now?: number;
  }): Promise<{ abandoned: number; removed: number; done: boolean }> {
    const deadline = Date.now() + opts.budgetMs;
    const cutoff = (opts.now ?? Date.now()) - ABANDONED_WRITE_MS;
    const dead = opts.deadWriter;
    const upTo = Math.max(cutoff, dead?.before ?? 0);
    let abandoned = 0;
    let removed = 0;
    for (let shard = 0; shard < INTENT_SHARDS; shard++) {
      let start: Item | undefined;
      do {
        if (Date.now() > deadline) return { abandoned, removed, done: false };
        const res = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'PK = :pk AND SK < :upTo',
            ExpressionAttributeValues: { ':pk': keys.intentPk(shard), ':upTo': keys.intentBefore(upTo) },
            ConsistentRead: true,
            ExclusiveStartKey: start,
            Limit: 100,
          }),
        );
        for (const item of (res.Items ?? []) as WriteIntent[]) {
          const gone =
            item.at < cutoff || (dead !== undefined && item.writer === dead.writer && item.at < dead.before);
          if (!gone) continue;
          const r = await this.abandonIntent(item, deadline);
          if (r === undefined) return { abandoned, removed, done: false };
          abandoned++;
          removed += r;
        }
        start = res.LastEvaluatedKey;
      } while (start);
    }
    return { abandoned, removed, done: true };
  }

  /**
   * Fences one intent and deletes what it wrote ahead; returns how many records went, or undefined when the
   * deadline came first (the fenced intent stays, and the next sweep carries on).
   */
  private async abandonIntent(intent: WriteIntent, deadline: number): Promise<number | undefined> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: intent.PK, SK: intent.SK },
          UpdateExpression: 'SET fenced = :now',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':now': Date.now() },
        }),
      );
    } catch (e) {
      // Released meanwhile: its transaction committed and everything it wrote is reachable.
      if ((e as Error).name === 'ConditionalCheckFailedException') return 0;
      throw e;
    }
    const removed = await this.removeWrittenAhead(intent, deadline);
    if (removed !== undefined) await this.dropIntent(intent);
    return removed;
  }

  /**
   * Deletes what a fenced (or failed) intent's writer wrote: for a create, its pending head and every record under
   * its stream uid; otherwise the history and references of its tag incarnations. Those uids and tids were made
   * fresh for that one write, so nothing else can own such a record and plain batch deletes are safe.
   */
  private async removeWrittenAhead(intent: WriteIntent, deadline: number): Promise<number | undefined> {
    if (intent.of === 'create') {
      // The pending head first: the name is free again at once, and a takeover (another uid) is not disturbed.
      await this.deleteIfStill({ PK: intent.pk, SK: HEAD_SK }, 'pending = :t', { ':t': intent.suid });
      return this.deleteInPartition(intent.pk, deadline, (i) => i.SK !== HEAD_SK && i.suid === intent.suid);
    }
    const tids = new Set(intent.tids ?? []);
    return this.deleteInPartition(
      intent.pk,
      deadline,
      (i) => (i.kind === 'history' || i.kind === 'ref') && tids.has(i.tid as string),
    );
  }

  /** Deletes the records of one partition that `doomed` picks; undefined when the deadline came first. */
  private async deleteInPartition(
    pk: string,
    deadline: number,
    doomed: (i: Item) => boolean,
  ): Promise<number | undefined> {
    let removed = 0;
    let start: Item | undefined;
    do {
      if (Date.now() > deadline) return undefined;
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ProjectionExpression: 'PK, SK, suid, tid, kind',
          ExclusiveStartKey: start,
          Limit: 1000,
        }),
      );
      const garbage = (res.Items ?? []).filter(doomed);
      if (!(await this.batchDelete(garbage))) return undefined;
      removed += garbage.length;
      start = res.LastEvaluatedKey;
    } while (start);
    return removed;
  }

  /**
   * The ConditionCheck that makes a stream's creation and its project's state one transaction: a project being
   * deleted (or gone) cannot gain a stream its deletion job will never see.
   */
  private projectGuard(ns: string): TransactItem {
    return activeProjectCheck(this.table, ns);
  }

  private async transact(items: TransactItem[], guardedNamespace?: string): Promise<void> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      // DynamoDB answers 500 InternalServerError for transient faults, and DynamoDB Local does when a transaction
      // waited too long for a lock under load. Every write here is conditional on the versions it read, so a
      // re-read and retry is safe whether or not this attempt committed.
      if ((err as Error).name === 'InternalServerError')
        throw new ConcurrentWriteError('transaction', false, false, true);
      if (!(err instanceof TransactionCanceledException)) throw err;
      const reasons = err.CancellationReasons ?? [];
      // The project guard is always the last item.
      const guard = guardedNamespace === undefined ? undefined : reasons[items.length - 1];
      if (guard?.Code === 'ConditionalCheckFailed')
        throw guard.Item ? namespaceTerminating(guardedNamespace!) : namespaceNotFound(guardedNamespace!);
      const headReason = reasons[0];
      if (headReason?.Code === 'ConditionalCheckFailed') {
        const item = headReason.Item;
        throw new ConcurrentWriteError('head', !item, !!item);
      }
      if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) throw new ConcurrentWriteError('tag');
      if (reasons.some((r) => r.Code === 'TransactionConflict'))
        throw new ConcurrentWriteError('transaction');
      throw err;
    }
  }

  /**
   * Removes the head of a stream; its tag, history and reference records become unreachable at once (they carry
   * the old uid) and are swept afterwards.
   */
  async deleteHead(
    head: StreamHead,
    preconditions: { uid?: string; resourceVersion?: number },
    actor: string,
  ): Promise<void> {
    const values: Record<string, unknown> = { ':uid': preconditions.uid ?? head.uid };
    let cond = 'uid = :uid AND attribute_not_exists(pending)';
    if (preconditions.resourceVersion !== undefined) {
      cond += ' AND rv = :rv';
      values[':rv'] = preconditions.resourceVersion;
    }
    const key = { PK: keys.streamPk(head.namespace, head.name), SK: HEAD_SK };
    // The head's REMOVE record (old image only) is what queues the sweep: it names the deleter through `by`,
    // stamped under the delete's own condition (no rv change, so a resourceVersion precondition still holds).
    await this.transact([
      {
        Update: {
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET #by = :by',
          ConditionExpression: cond,
          ExpressionAttributeNames: { '#by': AUDIT.names['#by'] },
          ExpressionAttributeValues: { ...values, ':by': actor },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ]);
    await this.transact([
      {
        Delete: {
          TableName: this.table,
          Key: key,
          ConditionExpression: cond,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ]);
  }

  /**
   * Writes an audit stamp onto a record if `condition` still holds (never creates one). Returns false when the
   * record changed or vanished meanwhile.
   */
  private async stampIfStill(
    key: Item,
    condition: string,
    values: Record<string, unknown>,
    set: Stamp['set'],
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression:
            set.at !== undefined ? 'SET #by = :stampBy, #at = :stampAt' : 'SET #by = :stampBy',
          ConditionExpression: condition,
          ExpressionAttributeNames: set.at !== undefined ? { ...AUDIT.names } : { '#by': AUDIT.names['#by'] },
          ExpressionAttributeValues: {
            ...values,
            ':stampBy': set.by,
            ...(set.at !== undefined ? { ':stampAt': set.at } : {}),
          },
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }

  /** A housekeeping delete that loses gracefully: if the record changed since it was judged garbage, keep it. */
  private async deleteIfStill(key: Item, condition: string, values: Record<string, unknown>): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: key,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
  }

  /**
   * Deletes the history and image references of one dead tag incarnation (a deleted tag), within a time budget.
   * Returns true when nothing of it is left. Deletes are conditional on the record still belonging to `tid`.
   */
  async sweepTagIncarnation(ns: string, name: string, tid: string, budgetMs = 2_000): Promise<boolean> {
    const deadline = Date.now() + budgetMs;
    const pk = keys.streamPk(ns, name);
    let start: Item | undefined;
    do {
      if (Date.now() > deadline) return false;
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
          ExpressionAttributeValues: { ':pk': pk, ':p': keys.historyPrefix(tid) },
          ExclusiveStartKey: start,
          Limit: 200,
        }),
      );
      const doomed = (res.Items ?? []).flatMap((i) => {
        const image = (i.ev as TagEvent | undefined)?.image;
        return [i.SK as string, ...(image ? [keys.refSk(image, tid)] : [])];
      });
      await Promise.all(
        [...new Set(doomed)].map((sk) =>
          this.deleteIfStill({ PK: pk, SK: sk }, 'attribute_not_exists(PK) OR tid = :t', { ':t': tid }),
        ),
      );
      start = res.LastEvaluatedKey;
    } while (start);
    return true;
  }

  /**
   * Deletes records no live head or tag incarnation reaches any more, within a time budget. Returns true when
   * the partition is clean. Each delete is conditional on the record still being the unreachable one. Tag
   * records are first stamped with `deletedBy` (who deleted the stream), under the same condition, so the
   * `deleted` event each removal yields names them.
   */
  async sweep(ns: string, name: string, budgetMs: number, deletedBy: string): Promise<boolean> {
    const deadline = Date.now() + budgetMs;
    const pk = keys.streamPk(ns, name);
    const headRes = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { PK: pk, SK: HEAD_SK }, ConsistentRead: true }),
    );
    const uid = headRes.Item?.uid as string | undefined;
    // A pending head is a large create in flight: its records are its writer's (or, if it was abandoned, the
    // sweep of abandoned writes takes them), none of them garbage yet.
    const creating = headRes.Item?.pending !== undefined;
    const liveTids = new Set<string>();
    if (headRes.Item && uid && !creating) {
      const { tags } = await this.queryTags(itemToHead(headRes.Item));
      for (const t of tags) liveTids.add(t.tid);
    }
    let start: Item | undefined;
    do {
      if (Date.now() > deadline) return false;
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ProjectionExpression: 'PK, SK, suid, tid, kind, #by',
          ExpressionAttributeNames: { '#by': AUDIT.names['#by'] },
          ExclusiveStartKey: start,
          Limit: 500,
        }),
      );
      const garbage = (res.Items ?? []).filter((i) => {
        if (i.SK === HEAD_SK) return false;
        if (i.suid !== uid) return true;
        if (creating) return false;
        return (i.kind === 'history' || i.kind === 'ref') && !liveTids.has(i.tid as string);
      });
      const at = new Date().toISOString();
      await Promise.all(
        garbage.map(async (i) => {
          const key = { PK: i.PK, SK: i.SK };
          const cond = 'suid = :s AND (attribute_not_exists(tid) OR tid = :t)';
          const values = { ':s': i.suid, ':t': i.tid ?? '' };
          if (
            i.kind === 'tag' &&
            i.by !== deletedBy &&
            !(await this.stampIfStill(key, cond, values, { by: deletedBy, at }))
          )
            return;
          await this.deleteIfStill(key, cond, values);
        }),
      );
      start = res.LastEvaluatedKey;
    } while (start);
    return true;
  }
}

/** A write the table refused outright (nothing of it was applied), as opposed to one whose outcome is unknown. */
function isCancellation(e: unknown): boolean {
  return (e instanceof ConcurrentWriteError && !e.outcomeUnknown) || e instanceof StatusError;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
