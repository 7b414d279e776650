import { randomUUID } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  FIRST_POSITION,
  type LoggedObject,
  loggedAfter,
  type WatchEntry,
  type WatchEventType,
  type WatchLog,
  type WatchRecord,
  type WatchResource,
} from '../app/ports/watch';
import { HEAD_SK, keys } from './keys';

/** DynamoDB's item limit is 400 KB; an object larger than this is logged without its body (readers fetch it). */
const MAX_OBJECT_BYTES = 300 * 1024;

type Item = Record<string, unknown>;

const lastSk = (resource: WatchResource, name: string) =>
  resource === 'imagestreams' ? HEAD_SK : keys.tagSk(name.slice(name.indexOf(':') + 1));

const streamOf = (resource: WatchResource, name: string) =>
  resource === 'imagestreams' ? name : name.slice(0, name.indexOf(':'));

/**
 * The watch log on the table (functions/app/ports/watch.ts): records `WATCH` / `E#<position>` in one partition, a
 * counter `WATCH` / `HEAD` that hands out positions, and per object what was last logged (`WLAST#<ns>/<stream>`),
 * so a change the processor sees twice (a retried batch, several head changes already folded into one read) is
 * logged once. Records expire (`expiresAt`) after the retention; readers treat older ones as gone already.
 */
export class WatchLogStore implements WatchLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async head(): Promise<number> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.watchLogPk, SK: keys.watchCounterSk },
        ConsistentRead: true,
      }),
    );
    return FIRST_POSITION + Number(out.Item?.count ?? 0);
  }

  async readAfter(seq: number, limit: number): Promise<WatchRecord[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.watchLogPk,
          ':from': keys.watchRecordSk(seq + 1),
          ':to': `${keys.watchRecordPrefix}~`,
        },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(toRecord);
  }

  async recordAt(seq: number): Promise<WatchRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.watchLogPk, SK: keys.watchRecordSk(seq) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async probe(timeoutMs: number): Promise<void> {
    const token = `${keys.watchProbePrefix}${this.now()}#${randomUUID()}`;
    const key = { PK: keys.watchLogPk, SK: token };
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...key, expiresAt: Math.ceil(this.now() / 1000) + 3600 },
      }),
    );
    const deadline = Date.now() + timeoutMs;
    for (let wait = 20; Date.now() < deadline; wait = Math.min(wait * 2, 200)) {
      await new Promise((r) => setTimeout(r, wait));
      const out = await this.db.send(
        new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
      );
      if (out.Item?.answered) return;
    }
    throw new Error(`the change processor did not catch up within ${timeoutMs} ms`);
  }

  async answerProbe(token: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: keys.watchLogPk, SK: token },
          UpdateExpression: 'SET answered = :t',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':t': true },
        }),
      )
      .catch((e: Error) => {
        // A probe that expired meanwhile has no reader left.
        if (e.name !== 'ConditionalCheckFailedException') throw e;
      });
  }

  async lastLogged(resource: WatchResource, ns: string, name: string): Promise<LoggedObject | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.watchLastPk(ns, streamOf(resource, name)), SK: lastSk(resource, name) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toLogged(out.Item) : undefined;
  }

  async presentTags(ns: string, stream: string): Promise<Array<{ name: string; logged: LoggedObject }>> {
    return [...(await this.loggedTags(ns, stream))]
      .filter(([, logged]) => logged.present)
      .map(([name, logged]) => ({ name, logged }));
  }

  async loggedTags(ns: string, stream: string): Promise<Map<string, LoggedObject>> {
    const found = new Map<string, LoggedObject>();
    let start: Item | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :t)',
          ExpressionAttributeValues: { ':pk': keys.watchLastPk(ns, stream), ':t': keys.tagPrefix },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? [])
        found.set(`${stream}:${String(item.SK).slice(keys.tagPrefix.length)}`, toLogged(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return found;
  }

  async append(entry: WatchEntry, known?: { last: LoggedObject | undefined }): Promise<number | undefined> {
    const last = known ? known.last : await this.lastLogged(entry.resource, entry.namespace, entry.name);
    const type = eventType(entry, last);
    if (!type) return undefined;
    const counter = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { PK: keys.watchLogPk, SK: keys.watchCounterSk },
        UpdateExpression: 'ADD #c :one',
        ExpressionAttributeNames: { '#c': 'count' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const seq = FIRST_POSITION + Number(counter.Attributes?.count);
    const at = this.now();
    const body = entry.object ? JSON.stringify(entry.object) : undefined;
    const after = loggedAfter(entry);
    const lastKey = {
      PK: keys.watchLastPk(entry.namespace, streamOf(entry.resource, entry.name)),
      SK: lastSk(entry.resource, entry.name),
    };
    // The object's entry moves only forward: a second processor that logged the same change first wins, and this
    // position stays a gap (readers then wait briefly, and a watch that cannot see past it lists again).
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.table,
              Key: lastKey,
              UpdateExpression: 'SET suid = :u, srv = :rv, present = :p, labels = :l',
              ConditionExpression: last
                ? 'suid = :lu AND srv = :lrv AND present = :lp'
                : 'attribute_not_exists(PK)',
              ExpressionAttributeValues: {
                ':u': after.streamUid,
                ':rv': after.version,
                ':p': after.present,
                ':l': after.labels,
                ...(last ? { ':lu': last.streamUid, ':lrv': last.version, ':lp': last.present } : {}),
              },
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: {
                PK: keys.watchLogPk,
                SK: keys.watchRecordSk(seq),
                seq,
                at,
                expiresAt: Math.ceil((at + this.retentionMs) / 1000) + 3600,
                type,
                resource: entry.resource,
                ns: entry.namespace,
                name: entry.name,
                suid: entry.streamUid,
                srv: entry.version,
                labels: entry.labels,
                ...(last?.present ? { prev: last.labels } : {}),
                ...(body && Buffer.byteLength(body) <= MAX_OBJECT_BYTES ? { obj: body } : {}),
              },
            },
          },
        ],
      }),
    );
    return seq;
  }
}

/**
 * The event an entry makes, given what was logged last; undefined when the log already says as much: an object the
 * log shows absent is ADDED whatever its version (a tag deleted and created again starts its versions afresh), one
 * it shows present is MODIFIED by a later version or another stream incarnation, and a deletion is news only for
 * an object the log shows present.
 */
export function eventType(entry: WatchEntry, last: LoggedObject | undefined): WatchEventType | undefined {
  const sameStream = last?.streamUid === entry.streamUid;
  if (entry.deleted) {
    // A stale deletion (the object came back later in the same stream) is no news either.
    if (!last?.present || (sameStream && entry.version < last.version)) return undefined;
    return 'DELETED';
  }
  if (!last?.present) return 'ADDED';
  return sameStream && entry.version <= last.version ? undefined : 'MODIFIED';
}

function toLogged(item: Item): LoggedObject {
  return {
    streamUid: String(item.suid),
    version: Number(item.srv),
    present: item.present === true,
    labels: (item.labels as Record<string, string> | undefined) ?? {},
  };
}

function toRecord(item: Item): WatchRecord {
  return {
    seq: Number(item.seq),
    at: Number(item.at),
    type: item.type as WatchEventType,
    resource: item.resource as WatchResource,
    namespace: String(item.ns),
    name: String(item.name),
    streamUid: String(item.suid),
    version: Number(item.srv),
    deleted: item.type === 'DELETED',
    labels: (item.labels as Record<string, string> | undefined) ?? {},
    ...(item.prev ? { previousLabels: item.prev as Record<string, string> } : {}),
    ...(typeof item.obj === 'string' ? { object: JSON.parse(item.obj) as Record<string, unknown> } : {}),
  };
}
