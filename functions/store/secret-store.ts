import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DockerConfig } from '../registry/credentials';
import { keys } from './keys';
import { activeProjectCheck } from './project-store';

/**
 * A registry credential secret as stored. `config` is the only sensitive part: it is written once, read only by
 * {@link SecretStore.dockerConfigs} for imports, and never returned by the API nor logged. DynamoDB encrypts it
 * at rest with the table.
 */
export interface StoredSecret {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: number;
  creationTimestamp: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  type: string;
  config: DockerConfig;
  /** Who created it (audit; not shown by the API). */
  by: string;
}

export type SecretMeta = Omit<StoredSecret, 'config' | 'by'>;

/** OpenShift's rule (imagestreams/secrets): a secret with this annotation set to "true" is not used by imports. */
export const EXCLUDE_SECRET_ANNOTATION = 'openshift.io/image.excludeSecret';

/** Types whose `config` is a Docker config; the API accepts no others today, this guards older or future rows. */
const DOCKER_SECRET_TYPES = new Set(['kubernetes.io/dockerconfigjson', 'kubernetes.io/dockercfg']);

/** Every attribute but `config`: reads that answer the API never fetch the credentials at all. */
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
export class SecretStore {
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
   * The Docker configs an import in `ns` may use, ordered by secret name: every docker secret of the namespace
   * except those annotated `openshift.io/image.excludeSecret: "true"`, as OpenShift's importer selects them.
   */
  async dockerConfigs(ns: string): Promise<DockerConfig[]> {
    const configs: DockerConfig[] = [];
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_CONFIG_PAGES; page++) {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': keys.secretPk(ns) },
          ProjectionExpression: 'annotations, #t, config',
          ExpressionAttributeNames: { '#t': 'type' },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const annotations = item.annotations as Record<string, string> | undefined;
        if (annotations?.[EXCLUDE_SECRET_ANNOTATION] === 'true') continue;
        if (!DOCKER_SECRET_TYPES.has(item.type as string) || typeof item.config !== 'string') continue;
        configs.push(JSON.parse(item.config) as DockerConfig);
      }
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
    return configs;
  }
}

/** The item of a secret; the config is stored as JSON text. */
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
    config: JSON.stringify(s.config),
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
