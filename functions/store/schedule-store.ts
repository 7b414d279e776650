import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Backoff, IndexedTag, ScheduleRepository } from '../app/ports/schedule';
import { slotKey } from '../core/schedule/scheduling';
import { keys } from './keys';
import { tableDefinition } from './table-definition';

const PAGE = 1_000;
/** Bound on one lookup: a repository followed by more tags than this is re-checked on the next schedule. */
const MAX_TRACKING_TAGS = 20_000;

/**
 * The scheduler's view of the table: the sparse GSI2 (tags due in a slot range of a shard), GSI3 (tags that
 * follow a source repository:tag), and small bookkeeping items for budgets and registry back-off.
 */
export type { Backoff, IndexedTag };

export class ScheduleStore implements ScheduleRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Tags of one shard whose slot lies in [from, to), page by page (GSI reads: eventually consistent). */
  dueTags(shard: number, from: number, to: number): AsyncGenerator<IndexedTag[]> {
    return this.pages(tableDefinition.gsi2, '#sk BETWEEN :a AND :b', {
      ':pk': keys.schedulePk(shard),
      ':a': slotKey(from),
      // '#' follows every slot key inside the range; '$' sorts right after it.
      ':b': `${slotKey(to - 1)}$`,
    });
  }

  /** Tags that follow `repository:tag` (or any tag of the repository when `tag` is undefined). */
  async trackingTags(repository: string, tag: string | undefined): Promise<IndexedTag[]> {
    const out: IndexedTag[] = [];
    const pages = this.pages(tableDefinition.gsi3, tag ? 'begins_with(#sk, :t)' : undefined, {
      ':pk': keys.sourcePk(repository),
      ...(tag ? { ':t': `${tag}#` } : {}),
    });
    for await (const page of pages) {
      out.push(...page);
      if (out.length >= MAX_TRACKING_TAGS) break;
    }
    return out;
  }

  /** Pages of one sparse index partition (`:pk`), optionally narrowed by a condition on the sort key (`#sk`). */
  private async *pages(
    g: { indexName: string; partitionKey: string; sortKey: string },
    sortCondition: string | undefined,
    values: Record<string, unknown>,
  ): AsyncGenerator<IndexedTag[]> {
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: g.indexName,
          KeyConditionExpression: sortCondition ? `#pk = :pk AND ${sortCondition}` : '#pk = :pk',
          ExpressionAttributeNames: { '#pk': g.partitionKey, ...(sortCondition ? { '#sk': g.sortKey } : {}) },
          ExpressionAttributeValues: values,
          ExclusiveStartKey: start,
          Limit: PAGE,
        }),
      );
      yield (res.Items ?? []).flatMap(indexedTag);
      start = res.LastEvaluatedKey;
    } while (start);
  }

  /**
   * Takes `n` tokens from a per-minute budget; false when the minute's budget is spent. One conditional update
   * on a counter item per scope and minute (expired by TTL).
   */
  async takeTokens(scope: string, limit: number, nowMs: number, n = 1): Promise<boolean> {
    if (n > limit) return false;
    const minute = Math.floor(nowMs / 60_000);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: keys.budgetPk(scope), SK: String(minute) },
          UpdateExpression: 'ADD used :n SET expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(used) OR used <= :max',
          ExpressionAttributeValues: { ':n': n, ':max': limit - n, ':exp': minute * 60 + 3_600 },
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }

  /**
   * Claims a time window for a key: true for the first caller, false while the window is open (expired by TTL).
   * Used to coalesce bursts of notifications into one job.
   */
  async claimWindow(key: string, nowMs: number, windowMs: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: `WINDOW#${key}`, SK: 'WINDOW' },
          UpdateExpression: 'SET #u = :u, expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(#u) OR #u <= :now',
          ExpressionAttributeNames: { '#u': 'until' },
          ExpressionAttributeValues: {
            ':u': nowMs + windowMs,
            ':now': nowMs,
            ':exp': Math.ceil((nowMs + windowMs) / 1000) + 3_600,
          },
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }

  async getBackoff(registry: string): Promise<Backoff | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { PK: keys.backoffPk(registry), SK: 'BACKOFF' } }),
    );
    if (!res.Item) return undefined;
    return { until: Number(res.Item.until ?? 0), strikes: Number(res.Item.strikes ?? 0) };
  }

  /**
   * Records a rate-limit answer: one more strike, and no scheduled import to the registry before
   * max(the registry's Retry-After, 5 s × 2^strikes), capped at `maxMs`.
   */
  async recordRateLimit(
    registry: string,
    retryAfterMs: number,
    nowMs: number,
    maxMs: number,
  ): Promise<Backoff> {
    const prev = await this.getBackoff(registry);
    const strikes = Math.min((prev?.strikes ?? 0) + 1, 10);
    const wait = Math.min(maxMs, Math.max(retryAfterMs, 5_000 * 2 ** (strikes - 1)));
    const until = Math.max(prev?.until ?? 0, nowMs + wait);
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { PK: keys.backoffPk(registry), SK: 'BACKOFF' },
        UpdateExpression: 'SET #u = :u, strikes = :s, expiresAt = :exp',
        ExpressionAttributeNames: { '#u': 'until' },
        ExpressionAttributeValues: { ':u': until, ':s': strikes, ':exp': Math.ceil(until / 1000) + 86_400 },
      }),
    );
    return { until, strikes };
  }

  /**
   * Leaves a registry alone until `untilMs` without counting a strike: it said its quota is nearly spent, but has
   * not refused anything yet.
   */
  async pause(registry: string, untilMs: number): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: keys.backoffPk(registry), SK: 'BACKOFF' },
          UpdateExpression: 'SET #u = :u, strikes = if_not_exists(strikes, :z), expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(#u) OR #u < :u',
          ExpressionAttributeNames: { '#u': 'until' },
          ExpressionAttributeValues: { ':u': untilMs, ':z': 0, ':exp': Math.ceil(untilMs / 1000) + 86_400 },
        }),
      )
      .catch((e: Error) => {
        if (e.name !== 'ConditionalCheckFailedException') throw e;
      });
  }

  /** A registry that answered normally again loses its strikes (only written when it had some). */
  async clearBackoff(registry: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: keys.backoffPk(registry), SK: 'BACKOFF' },
          UpdateExpression: 'SET strikes = :z',
          ConditionExpression: 'strikes > :z',
          ExpressionAttributeValues: { ':z': 0 },
        }),
      )
      .catch((e: Error) => {
        if (e.name !== 'ConditionalCheckFailedException') throw e;
      });
  }
}

function indexedTag(item: Record<string, unknown>): IndexedTag[] {
  const pk = item.PK;
  const sk = item.SK;
  if (typeof pk !== 'string' || typeof sk !== 'string' || typeof item.suid !== 'string') return [];
  const body = pk.slice(3);
  const slash = body.indexOf('/');
  if (!pk.startsWith('IS#') || slash <= 0 || !sk.startsWith(keys.tagPrefix)) return [];
  return [{ namespace: body.slice(0, slash), name: body.slice(slash + 1), uid: item.suid, tag: sk.slice(2) }];
}
