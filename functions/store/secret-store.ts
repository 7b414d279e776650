import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SealedCredential } from '../app/ports/credential-sealer';
import type {
  SecretCredentials,
  SecretMeta,
  SecretRepository,
  StoredSecret,
  UnsealedRecord,
} from '../app/ports/secrets';
import { keys } from './keys';
import { activeProjectCheck } from './project-store';

/** OpenShift's rule (imagestreams/secrets): a secret with this annotation set to "true" is not used by imports. */
export const EXCLUDE_SECRET_ANNOTATION = 'openshift.io/image.excludeSecret';

/** Types whose `config` is a Docker config; the API accepts no others today, this guards older or future rows. */
const DOCKER_SECRET_TYPES = new Set(['kubernetes.io/dockerconfigjson', 'kubernetes.io/dockercfg']);

/** Every attribute but the credentials: reads that answer the API never fetch them at all. */
const META_PROJECTION = {
  ProjectionExpression: '#ns, #n, uid, #rv, created, labels, annotations, #t',
  ExpressionAttributeNames: { '#ns': 'namespace', '#n': 'name', '#rv': 'rv', '#t': 'type' },
};

/** Bounds the work of one dockerConfigs call (a Query page is at most 1 MB, so at least ~15 secrets a page). */
const MAX_CONFIG_PAGES = 100;

/**
 * Secrets live in the single table as one item each: PK `SEC#<ns>`, SK `<name>` (see keys.ts). A namespace's
 * secrets are therefore one Query, in name order, and never mix with image stream records (`IS#…`, `IMG#…`).
 */
export type { SecretCredentials, SecretMeta, StoredSecret, UnsealedRecord };

export class SecretStore implements SecretRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Writes a new secret in an Active project: 'exists' (nothing written) when one with that name exists,
   * 'no-project' when the project is gone or being deleted (the check and the write are one transaction, so a
   * project deletion cannot miss a secret created while it runs).
   */
  async create(s: StoredSecret): Promise<'created' | 'exists' | 'no-project'> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            activeProjectCheck(this.table, s.namespace),
            {
              Put: {
                TableName: this.table,
                Item: secretItem(s),
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
          ],
        }),
      );
      return 'created';
    } catch (e) {
      if (e instanceof TransactionCanceledException || (e as Error).name === 'TransactionCanceledException') {
        const reasons = (e as TransactionCanceledException).CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'no-project';
        if (reasons[1]?.Code === 'ConditionalCheckFailed') return 'exists';
      }
      throw e;
    }
  }

  /** Replaces a secret still at `expectedRv`; false (nothing written) when it changed or is gone meanwhile. */
  async replace(s: StoredSecret, expectedRv: number): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: secretItem(s),
          ConditionExpression: 'rv = :rv AND uid = :uid',
          ExpressionAttributeValues: { ':rv': expectedRv, ':uid': s.uid },
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }

  /** Removes every secret of a namespace (project deletion), a batch of 25 at a time. */
  async deleteAll(ns: string): Promise<void> {
    for (let round = 0; round < MAX_CONFIG_PAGES; round++) {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': keys.secretPk(ns) },
          ProjectionExpression: 'PK, SK',
          Limit: 25,
        }),
      );
      const items = out.Items ?? [];
      if (items.length === 0) return;
      let requests: Array<Record<string, unknown>> = items.map((k) => ({
        DeleteRequest: { Key: { PK: k.PK, SK: k.SK } },
      }));
      for (let attempt = 0; requests.length > 0 && attempt < 10; attempt++) {
        const res = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.table]: requests as never } }),
        );
        requests = (res.UnprocessedItems?.[this.table] as Array<Record<string, unknown>> | undefined) ?? [];
      }
    }
  }

  async get(ns: string, name: string): Promise<SecretMeta | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.secretPk(ns), SK: keys.secretSk(name) },
        ConsistentRead: true,
        ...META_PROJECTION,
      }),
    );
    return out.Item ? toMeta(out.Item) : undefined;
  }

  /**
   * One page of a namespace's secrets in name order, starting after `after`. `more` is true only when another
   * secret follows, so the last page never carries a continue token. Keeps querying while DynamoDB's 1 MB page
   * limit cuts a page short, so callers get `limit` items whenever that many remain.
   */
  async list(
    ns: string,
    opts: { limit: number; after?: string | undefined },
  ): Promise<{ items: SecretMeta[]; more: boolean }> {
    const items: SecretMeta[] = [];
    let start: Record<string, unknown> | undefined = opts.after
      ? { PK: keys.secretPk(ns), SK: keys.secretSk(opts.after) }
      : undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': keys.secretPk(ns) },
          ...(start ? { ExclusiveStartKey: start } : {}),
          // One more than needed tells whether another page exists.
          Limit: opts.limit + 1 - items.length,
          ConsistentRead: true,
          ...META_PROJECTION,
        }),
      );
      items.push(...(out.Items ?? []).map(toMeta));
      start = out.LastEvaluatedKey;
    } while (start && items.length <= opts.limit);
    const more = items.length > opts.limit;
    if (more) items.length = opts.limit;
    return { items, more };
  }

  /** Removes a secret and returns what it was (metadata only), or undefined when there was none. */
  async delete(ns: string, name: string): Promise<SecretMeta | undefined> {
    const out = await this.db.send(
      new DeleteCommand({
        TableName: this.table,
        Key: { PK: keys.secretPk(ns), SK: keys.secretSk(name) },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes ? toMeta(out.Attributes) : undefined;
  }

  /**
   * The credentials an import in `ns` may use, ordered by secret name: every docker secret of the namespace
   * except those annotated `openshift.io/image.excludeSecret: "true"`, as OpenShift's importer selects them.
   * Still sealed: functions/app/access/secrets.ts opens them.
   */
  async credentials(ns: string): Promise<SecretCredentials[]> {
    const found: SecretCredentials[] = [];
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_CONFIG_PAGES; page++) {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': keys.secretPk(ns) },
          ProjectionExpression: '#n, uid, annotations, #t, sealed, config',
          ExpressionAttributeNames: { '#n': 'name', '#t': 'type' },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const annotations = item.annotations as Record<string, string> | undefined;
        if (annotations?.[EXCLUDE_SECRET_ANNOTATION] === 'true') continue;
        if (!DOCKER_SECRET_TYPES.has(item.type as string)) continue;
        const owner = { namespace: ns, name: item.name as string, uid: item.uid as string };
        if (item.sealed) found.push({ ...owner, sealed: toSealed(item.sealed as Record<string, unknown>) });
        else if (typeof item.config === 'string') found.push({ ...owner, legacyConfig: item.config });
      }
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
    return found;
  }

  /**
   * Pages of secrets whose config is still in clear (written before sealing existed), in any namespace. A Scan of
   * the whole table, for a one-off migration (local start, scripts/seal-secrets.ts), never for requests.
   */
  async *unsealedRecords(pageSize = 100): AsyncGenerator<UnsealedRecord[]> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'begins_with(PK, :sec) AND attribute_exists(config)',
          ExpressionAttributeValues: { ':sec': keys.secretPk('') },
          ProjectionExpression: '#ns, #n, uid, #rv, config',
          ExpressionAttributeNames: { '#ns': 'namespace', '#n': 'name', '#rv': 'rv' },
          Limit: pageSize,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const page = (out.Items ?? [])
        .filter((i) => typeof i.config === 'string')
        .map((i) => ({
          namespace: i.namespace as string,
          name: i.name as string,
          uid: i.uid as string,
          resourceVersion: i.rv as number,
          legacyConfig: i.config as string,
        }));
      if (page.length) yield page;
      start = out.LastEvaluatedKey;
    } while (start);
  }

  /**
   * Replaces a clear config with its sealed form, unless the secret changed since it was read (false, nothing
   * written). The resourceVersion stays: the content is the same.
   */
  async sealInPlace(r: UnsealedRecord, sealed: SealedCredential): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: keys.secretPk(r.namespace), SK: keys.secretSk(r.name) },
          UpdateExpression: 'SET sealed = :sealed REMOVE config',
          ConditionExpression: 'rv = :rv AND uid = :uid AND attribute_exists(config)',
          ExpressionAttributeValues: {
            ':sealed': sealedItem(sealed),
            ':rv': r.resourceVersion,
            ':uid': r.uid,
          },
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }
}

function sealedItem(s: SealedCredential): Record<string, unknown> {
  return { v: s.v, kid: s.kid, wk: s.wk, iv: s.iv, ct: s.ct };
}

function toSealed(item: Record<string, unknown>): SealedCredential {
  return {
    v: item.v as number,
    kid: item.kid as string,
    wk: item.wk as Uint8Array,
    iv: item.iv as Uint8Array,
    ct: item.ct as Uint8Array,
  };
}

/** The item of a secret: metadata in clear, the credentials only sealed. */
function secretItem(s: StoredSecret): Record<string, unknown> {
  return {
    PK: keys.secretPk(s.namespace),
    SK: keys.secretSk(s.name),
    namespace: s.namespace,
    name: s.name,
    uid: s.uid,
    rv: s.resourceVersion,
    created: s.creationTimestamp,
    labels: s.labels,
    annotations: s.annotations,
    type: s.type,
    sealed: sealedItem(s.sealed),
    by: s.by,
  };
}

function toMeta(item: Record<string, unknown>): SecretMeta {
  return {
    namespace: item.namespace as string,
    name: item.name as string,
    uid: item.uid as string,
    resourceVersion: item.rv as number,
    creationTimestamp: item.created as string,
    labels: (item.labels as Record<string, string> | undefined) ?? {},
    annotations: (item.annotations as Record<string, string> | undefined) ?? {},
    type: item.type as string,
  };
}
