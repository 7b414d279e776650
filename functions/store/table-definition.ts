/**
 * The one DynamoDB table, described as plain data so that CDK (infra/), local mode (DynamoDB Local) and the
 * tests all create exactly the same table. No AWS SDK or CDK imports here on purpose.
 *
 * Access patterns (see docs/architecture.md for the full chart):
 *   stream head        PK = IS#<ns>/<name>   SK = IS
 *   tag (spec+status)  PK = IS#<ns>/<name>   SK = T#<tag>
 *   history event      PK = IS#<ns>/<name>   SK = H#<tagIncarnation>#<seq, zero padded>
 *   image reference    PK = IS#<ns>/<name>   SK = R#<digest>#<tagIncarnation>
 *   image (by digest)  PK = IMG#<digest>     SK = IMG   (verified by an import; cluster administrators read it)
 *   project's image    PK = NSIMG#<ns>      SK = <digest>   (what that project sees; GSI1PK = IMGNS#<digest>,
 *                      GSI1SK = <ns>: the projects that know a digest)
 *   streams of a namespace: GSI1 (GSI1PK = NS#<ns>, GSI1SK = IS#<name>), sparse: only stream heads carry it.
 *   scheduled tags: GSI2 (GSI2PK = SCHED#<shard>, GSI2SK = <slot>#<stream key>#<tag>), sparse: only tags the
 *     scheduler re-checks carry it (core/schedule/scheduling.ts).
 *   tracking tags by source: GSI3 (GSI3PK = SRC#<registry>/<repository>, GSI3SK = <source tag>#<stream key>#<tag>),
 *     sparse: push notifications find the tags that follow a repository:tag.
 *   project            PK = PRJ#<ns>           SK = PRJ   (GSI1PK = PROJECTS, GSI1SK = <ns>: every project)
 *   role binding       PK = PRJ#<ns>           SK = RB#<name>
 *   subject index      PK = SUBJ#<kind>:<name> SK = <ns>#<binding>   (which projects a user or group is bound in)
 *   scheduler bookkeeping: PK = BUDGET#<scope> SK = <minute>, PK = BACKOFF#<registry> SK = BACKOFF (expire by TTL).
 *   write intent       PK = INTENT#<shard 0-15> SK = <epoch ms, 15 digits>#<token>   (records written ahead of the
 *     transaction that makes them reachable; released by that transaction, swept when abandoned: stream-store.ts)
 */
export const tableDefinition = {
  partitionKey: 'PK',
  sortKey: 'SK',
  gsi1: { indexName: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
  /** Keys only plus the stream uid: the scheduler needs no more to queue an import job. */
  gsi2: { indexName: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK', include: ['suid'] },
  gsi3: { indexName: 'GSI3', partitionKey: 'GSI3PK', sortKey: 'GSI3SK', include: ['suid'] },
  /** Epoch seconds after which DynamoDB may delete a bookkeeping item. */
  timeToLiveAttribute: 'expiresAt',
  /** Change processing (events, spec-driven imports) reads old and new images of every record. */
  streamViewType: 'NEW_AND_OLD_IMAGES',
  billingMode: 'PAY_PER_REQUEST',
} as const;

/** The CreateTable input for DynamoDB Local and tests, derived from {@link tableDefinition}. */
export function createTableInput(tableName: string) {
  const d = tableDefinition;
  return {
    TableName: tableName,
    BillingMode: d.billingMode,
    AttributeDefinitions: [
      { AttributeName: d.partitionKey, AttributeType: 'S' as const },
      { AttributeName: d.sortKey, AttributeType: 'S' as const },
      { AttributeName: d.gsi1.partitionKey, AttributeType: 'S' as const },
      { AttributeName: d.gsi1.sortKey, AttributeType: 'S' as const },
      { AttributeName: d.gsi2.partitionKey, AttributeType: 'S' as const },
      { AttributeName: d.gsi2.sortKey, AttributeType: 'S' as const },
      { AttributeName: d.gsi3.partitionKey, AttributeType: 'S' as const },
      { AttributeName: d.gsi3.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: d.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: d.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: d.gsi1.indexName,
        KeySchema: [
          { AttributeName: d.gsi1.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: d.gsi1.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      },
      ...[d.gsi2, d.gsi3].map((g) => ({
        IndexName: g.indexName,
        KeySchema: [
          { AttributeName: g.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: g.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...g.include] },
      })),
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: d.streamViewType },
  };
}
