import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type BindingRecord,
  type ProjectAccessRecord,
  type ProjectPhase,
  type ProjectRecord,
  type ProjectRepository,
  ProjectWriteConflict,
} from '../app/ports/projects';
import { type Subject, serviceAccountUser } from '../core/access/rules';
import { keys } from './keys';
import { tableDefinition } from './table-definition';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * The ConditionCheck every write that creates content in a project carries (streams, secrets, bindings): the
 * project exists and is Active, in the same transaction as the write, so a project deletion cannot miss it. On
 * failure the old item comes back, which tells a Terminating project (item) from a missing one (none).
 */
export function activeProjectCheck(table: string, ns: string): TransactItem {
  return {
    ConditionCheck: {
      TableName: table,
      Key: { PK: keys.projectPk(ns), SK: keys.projectSk },
      ConditionExpression: 'phase = :active',
      ExpressionAttributeValues: { ':active': 'Active' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/**
 * A subject as the key of the subject index (`SUBJ#User:alice`). A service account is keyed as the user it
 * authenticates as, so one lookup by user name finds both kinds of binding.
 */
export const subjectKey = (s: Subject) =>
  s.kind === 'ServiceAccount'
    ? `User:${serviceAccountUser(s.namespace ?? '', s.name)}`
    : `${s.kind}:${s.name}`;

/** Bounds reading one project's bindings (a Query page is 1 MB, so this is far beyond any real project). */
const MAX_PAGES = 50;

/** Namespaces whose access reads are remembered at once (least recently read are dropped first). */
const ACCESS_CACHE_ENTRIES = 1000;

export {
  type BindingRecord,
  type ProjectAccessRecord,
  type ProjectPhase,
  type ProjectRecord,
  ProjectWriteConflict,
};

/**
 * Projects and RoleBindings in the single table. One consistent Query of `PRJ#<ns>` returns a project and all
 * its bindings, which is what an access check needs. A subject index (PK `SUBJ#<kind>:<name>`, SK
 * `<ns>#<binding>`, written in the same transaction as its binding) answers "which projects can this caller
 * see" without a scan; GSI1 (`PROJECTS` / `<ns>`) lists every project for cluster administrators.
 */
export class ProjectStore implements ProjectRepository {
  /** Recent access reads by namespace, for reads that accept {@link access}'s `maxAgeMs`. */
  private readonly recent = new Map<string, { at: number; value: Promise<ProjectAccessRecord> }>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * The project and its bindings in one consistent read; project undefined when it does not exist. With
   * `maxAgeMs`, a read made by this process within that time may answer instead (Kubernetes' authorizers cache
   * the same way); this process's own binding and project writes drop the namespace's entry at once.
   */
  async access(ns: string, opts: { maxAgeMs?: number } = {}): Promise<ProjectAccessRecord> {
    const maxAge = opts.maxAgeMs ?? 0;
    if (maxAge <= 0) return this.readAccess(ns);
    const now = Date.now();
    const hit = this.recent.get(ns);
    if (hit && now - hit.at <= maxAge) return hit.value;
    const value = this.readAccess(ns);
    this.recent.delete(ns);
    this.recent.set(ns, { at: now, value });
    if (this.recent.size > ACCESS_CACHE_ENTRIES) this.recent.delete(this.recent.keys().next().value!);
    // A failed read is not remembered.
    value.catch(() => {
      if (this.recent.get(ns)?.value === value) this.recent.delete(ns);
    });
    return value;
  }

  /** Runs a write to `ns`'s project or bindings; no read remembered from before it survives it. */
  private async changing<T>(ns: string, write: () => Promise<T>): Promise<T> {
    this.recent.delete(ns);
    try {
      return await write();
    } finally {
      this.recent.delete(ns);
    }
  }

  private async readAccess(ns: string): Promise<ProjectAccessRecord> {
    let project: ProjectRecord | undefined;
    const bindings: BindingRecord[] = [];
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': keys.projectPk(ns) },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        if (item.SK === keys.projectSk) project = toProject(item);
        else if (String(item.SK).startsWith(keys.bindingPrefix)) bindings.push(toBinding(item));
      }
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
    return { ...(project ? { project } : {}), bindings };
  }

  async getProject(ns: string): Promise<ProjectRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.projectPk(ns), SK: keys.projectSk },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toProject(out.Item) : undefined;
  }

  /** Creates a project together with its first bindings (the requester's admin binding). */
  async createProject(p: ProjectRecord, bindings: BindingRecord[]): Promise<void> {
    return this.changing(p.name, async () => {
      await this.transact(
        [
          {
            Put: {
              TableName: this.table,
              Item: projectItem(p),
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
          ...bindings.flatMap((b) => this.bindingPuts(b)),
        ],
        'exists',
      );
    });
  }

  /**
   * One page of every project in name order (GSI1, eventually consistent like any list), for cluster
   * administrators.
   */
  async listAll(opts: {
    limit: number;
    after?: string | undefined;
  }): Promise<{ items: ProjectRecord[]; more: boolean }> {
    const g = tableDefinition.gsi1;
    return this.page(
      {
        IndexName: g.indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': g.partitionKey },
        ExpressionAttributeValues: { ':pk': keys.projectsGsiPk },
      },
      opts.after
        ? {
            PK: keys.projectPk(opts.after),
            SK: keys.projectSk,
            [g.partitionKey]: keys.projectsGsiPk,
            [g.sortKey]: opts.after,
          }
        : undefined,
      opts.limit,
      toProject,
    );
  }

  /**
   * One page of `limit` items of a Query in key order, from `start` on; `more` is true only when another item
   * follows. Keeps querying while DynamoDB's 1 MB page limit cuts a page short (bounded).
   */
  private async page<T>(
    query: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>,
    start: Record<string, unknown> | undefined,
    limit: number,
    map: (item: Record<string, unknown>) => T,
  ): Promise<{ items: T[]; more: boolean }> {
    const items: T[] = [];
    let from = start;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await this.db.send(
        new QueryCommand({
          ...query,
          TableName: this.table,
          // One more than asked tells whether another page exists.
          Limit: limit + 1 - items.length,
          ...(from ? { ExclusiveStartKey: from } : {}),
        }),
      );
      items.push(...(out.Items ?? []).map(map));
      from = out.LastEvaluatedKey;
      if (!from || items.length > limit) break;
    }
    const more = items.length > limit;
    if (more) items.length = limit;
    return { items, more };
  }

  /** The namespaces where any of `subjects` is bound, with the roles bound there. */
  async bindingsOf(subjects: Subject[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    await Promise.all(
      subjects.map(async (s) => {
        let start: Record<string, unknown> | undefined;
        for (let page = 0; page < MAX_PAGES; page++) {
          const res = await this.db.send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: 'PK = :pk',
              ExpressionAttributeValues: { ':pk': keys.subjectPk(subjectKey(s)) },
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          );
          for (const item of res.Items ?? []) {
            const ns = item.ns as string;
            if (!out.has(ns)) out.set(ns, new Set());
            out.get(ns)!.add(item.role as string);
          }
          start = res.LastEvaluatedKey;
          if (!start) break;
        }
      }),
    );
    return out;
  }

  /** Marks a project Terminating (from then on nothing new may be created in it); returns the new record. */
  async markTerminating(ns: string, by: string): Promise<ProjectRecord> {
    return this.changing(ns, async () => {
      try {
        const out = await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { PK: keys.projectPk(ns), SK: keys.projectSk },
            UpdateExpression: 'SET phase = :t, rv = rv + :one, #by = :by',
            ConditionExpression: 'attribute_exists(PK)',
            ExpressionAttributeNames: { '#by': 'by' },
            ExpressionAttributeValues: { ':t': 'Terminating', ':one': 1, ':by': by },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return toProject(out.Attributes!);
      } catch (e) {
        if ((e as Error).name === 'ConditionalCheckFailedException')
          throw new ProjectWriteConflict('missing');
        throw e;
      }
    });
  }

  /** The last step of a project's deletion: its bindings, their subject index entries, then the project. */
  async removeProject(ns: string): Promise<void> {
    return this.changing(ns, async () => {
      const { project, bindings } = await this.access(ns);
      for (const b of bindings) await this.deleteBinding(b).catch(ignoreConflict);
      if (!project) return;
      await this.transact(
        [
          {
            Delete: {
              TableName: this.table,
              Key: { PK: keys.projectPk(ns), SK: keys.projectSk },
              ConditionExpression: 'phase = :t',
              ExpressionAttributeValues: { ':t': 'Terminating' },
            },
          },
        ],
        'changed',
      ).catch(ignoreConflict);
    });
  }

  /** A ConditionCheck that the project exists and is Active, for writes that create content in it. */
  activeProjectCheck(ns: string): TransactItem {
    return activeProjectCheck(this.table, ns);
  }

  async getBinding(ns: string, name: string): Promise<BindingRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { PK: keys.projectPk(ns), SK: keys.bindingSk(name) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toBinding(out.Item) : undefined;
  }

  /** A new binding in an Active project; ProjectWriteConflict('exists') when the name is taken. */
  async createBinding(b: BindingRecord): Promise<void> {
    return this.changing(b.namespace, async () => {
      await this.transact([this.activeProjectCheck(b.namespace), ...this.bindingPuts(b, true)], 'exists');
    });
  }

  /** Replaces `old` (still at its resourceVersion) with `next`, moving the subject index entries. */
  async updateBinding(old: BindingRecord, next: BindingRecord): Promise<void> {
    return this.changing(old.namespace, async () => {
      const kept = new Set(next.subjects.map(subjectKey));
      const items: TransactItem[] = [
        {
          Put: {
            TableName: this.table,
            Item: bindingItem(next),
            ConditionExpression: 'rv = :rv',
            ExpressionAttributeValues: { ':rv': old.resourceVersion },
          },
        },
        ...uniqueSubjects(old.subjects)
          .filter((s) => !kept.has(subjectKey(s)))
          .map(
            (s): TransactItem => ({
              Delete: { TableName: this.table, Key: subjectIndexKey(s, old.namespace, old.name) },
            }),
          ),
        ...uniqueSubjects(next.subjects).map(
          (s): TransactItem => ({ Put: { TableName: this.table, Item: subjectItem(s, next) } }),
        ),
      ];
      await this.transact(items, 'changed');
    });
  }

  /** Removes a binding (at its resourceVersion) and its subject index entries. */
  async deleteBinding(b: BindingRecord): Promise<void> {
    return this.changing(b.namespace, async () => {
      await this.transact(
        [
          {
            Delete: {
              TableName: this.table,
              Key: { PK: keys.projectPk(b.namespace), SK: keys.bindingSk(b.name) },
              ConditionExpression: 'rv = :rv',
              ExpressionAttributeValues: { ':rv': b.resourceVersion },
            },
          },
          ...uniqueSubjects(b.subjects).map(
            (s): TransactItem => ({
              Delete: { TableName: this.table, Key: subjectIndexKey(s, b.namespace, b.name) },
            }),
          ),
        ],
        'changed',
      );
    });
  }

  /** A page of a project's bindings in name order. */
  async listBindings(
    ns: string,
    opts: { limit: number; after?: string | undefined },
  ): Promise<{ items: BindingRecord[]; more: boolean }> {
    return this.page(
      {
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :rb)',
        ExpressionAttributeValues: { ':pk': keys.projectPk(ns), ':rb': keys.bindingPrefix },
        ConsistentRead: true,
      },
      opts.after ? { PK: keys.projectPk(ns), SK: keys.bindingSk(opts.after) } : undefined,
      opts.limit,
      toBinding,
    );
  }

  private bindingPuts(b: BindingRecord, mustBeNew = true): TransactItem[] {
    return [
      {
        Put: {
          TableName: this.table,
          Item: bindingItem(b),
          ...(mustBeNew ? { ConditionExpression: 'attribute_not_exists(PK)' } : {}),
        },
      },
      ...uniqueSubjects(b.subjects).map(
        (s): TransactItem => ({ Put: { TableName: this.table, Item: subjectItem(s, b) } }),
      ),
    ];
  }

  private async transact(items: TransactItem[], onConflict: ProjectWriteConflict['reason']): Promise<void> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (e) {
      if (e instanceof TransactionCanceledException || (e as Error).name === 'TransactionCanceledException') {
        const reasons = (e as TransactionCanceledException).CancellationReasons ?? [];
        // A failed ConditionCheck on the project (the first item of binding writes) means it is not Active.
        if (items[0]?.ConditionCheck && reasons[0]?.Code === 'ConditionalCheckFailed')
          throw new ProjectWriteConflict('terminating');
        if (reasons.some((r) => r.Code === 'ConditionalCheckFailed'))
          throw new ProjectWriteConflict(onConflict);
      }
      throw e;
    }
  }
}

function ignoreConflict(e: unknown): void {
  if (!(e instanceof ProjectWriteConflict)) throw e;
}

function uniqueSubjects(subjects: Subject[]): Subject[] {
  const seen = new Map<string, Subject>();
  for (const s of subjects) seen.set(subjectKey(s), s);
  return [...seen.values()];
}

function projectItem(p: ProjectRecord): Record<string, unknown> {
  const g = tableDefinition.gsi1;
  return {
    PK: keys.projectPk(p.name),
    SK: keys.projectSk,
    [g.partitionKey]: keys.projectsGsiPk,
    [g.sortKey]: p.name,
    kind: 'project',
    name: p.name,
    uid: p.uid,
    rv: p.resourceVersion,
    created: p.creationTimestamp,
    requester: p.requester,
    displayName: p.displayName,
    description: p.description,
    phase: p.phase,
    by: p.by,
  };
}

function toProject(item: Record<string, unknown>): ProjectRecord {
  return {
    name: item.name as string,
    uid: item.uid as string,
    resourceVersion: item.rv as number,
    creationTimestamp: item.created as string,
    requester: (item.requester as string) ?? '',
    displayName: (item.displayName as string) ?? '',
    description: (item.description as string) ?? '',
    phase: (item.phase as ProjectPhase) ?? 'Active',
    by: (item.by as string) ?? '',
  };
}

function bindingItem(b: BindingRecord): Record<string, unknown> {
  return {
    PK: keys.projectPk(b.namespace),
    SK: keys.bindingSk(b.name),
    kind: 'rolebinding',
    ns: b.namespace,
    name: b.name,
    uid: b.uid,
    rv: b.resourceVersion,
    created: b.creationTimestamp,
    role: b.role,
    subjects: b.subjects,
    labels: b.labels,
    annotations: b.annotations,
    by: b.by,
  };
}

function toBinding(item: Record<string, unknown>): BindingRecord {
  return {
    namespace: item.ns as string,
    name: item.name as string,
    uid: item.uid as string,
    resourceVersion: item.rv as number,
    creationTimestamp: item.created as string,
    role: item.role as string,
    subjects: (item.subjects as Subject[]) ?? [],
    labels: (item.labels as Record<string, string>) ?? {},
    annotations: (item.annotations as Record<string, string>) ?? {},
    by: (item.by as string) ?? '',
  };
}

const subjectIndexKey = (s: Subject, ns: string, binding: string) => ({
  PK: keys.subjectPk(subjectKey(s)),
  SK: keys.subjectSk(ns, binding),
});

function subjectItem(s: Subject, b: BindingRecord): Record<string, unknown> {
  return { ...subjectIndexKey(s, b.namespace, b.name), kind: 'subject', ns: b.namespace, role: b.role };
}
