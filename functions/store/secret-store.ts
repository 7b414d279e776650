import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DockerConfig } from '../registry/credentials';
import { keys } from './keys';

/** A registry credential secret as stored; `config` is the only sensitive part and never leaves the service. */
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
}

export type SecretMeta = Omit<StoredSecret, 'config'>;

const EXCLUDE_SECRET = 'openshift.io/image.excludeSecret';

/** One item per secret under the namespace's partition, so a namespace's credentials are one Query. */
export class SecretStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Returns false when a secret with that name exists. */
  async create(s: StoredSecret): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            PK: keys.secretPk(s.namespace),
            SK: s.name,
            kind: 'secret',
            ...s,
            config: JSON.stringify(s.config),
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }

  async get(ns: string, name: string): Promise<SecretMeta | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.secretPk(ns), SK: name },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toMeta(out.Item) : undefined;
  }

  async list(ns: string, opts: { limit: number; after?: string | undefined }) {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: opts.after ? 'PK = :pk AND SK > :after' : 'PK = :pk',
        ExpressionAttributeValues: {
          ':pk': keys.secretPk(ns),
          ...(opts.after ? { ':after': opts.after } : {}),
        },
        ProjectionExpression:
          'namespace, #n, uid, resourceVersion, creationTimestamp, labels, annotations, #t',
        ExpressionAttributeNames: { '#n': 'name', '#t': 'type' },
        Limit: opts.limit,
        ConsistentRead: true,
      }),
    );
    return { items: (out.Items ?? []).map(toMeta), more: !!out.LastEvaluatedKey };
  }

  async delete(ns: string, name: string): Promise<boolean> {
    const out = await this.db.send(
      new DeleteCommand({
        TableName: this.table,
        Key: { PK: keys.secretPk(ns), SK: name },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return !!out.Attributes;
  }

  /** The Docker configs an import may use: every docker secret of the namespace not excluded (imagestreams/secrets). */
  async dockerConfigs(ns: string): Promise<DockerConfig[]> {
    const configs: DockerConfig[] = [];
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < 100; page++) {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': keys.secretPk(ns) },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        if ((item.annotations as Record<string, string> | undefined)?.[EXCLUDE_SECRET] === 'true') continue;
        configs.push(JSON.parse(item.config as string) as DockerConfig);
      }
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
    return configs;
  }
}

function toMeta(item: Record<string, unknown>): SecretMeta {
  return {
    namespace: item.namespace as string,
    name: item.name as string,
    uid: item.uid as string,
    resourceVersion: item.resourceVersion as number,
    creationTimestamp: item.creationTimestamp as string,
    labels: (item.labels as Record<string, string>) ?? {},
    annotations: (item.annotations as Record<string, string>) ?? {},
    type: item.type as string,
  };
}
