/**
 * The one DynamoDB table, described as plain data so that CDK (infra/), local mode (DynamoDB Local) and the
 * tests all create exactly the same table. No AWS SDK or CDK imports here on purpose.
 *
 * Access patterns (see docs/architecture.md for the full chart):
 *   stream head        PK = IS#<ns>/<name>   SK = IS
 *   tag (spec+status)  PK = IS#<ns>/<name>   SK = T#<tag>
 *   history event      PK = IS#<ns>/<name>   SK = H#<tagIncarnation>#<seq, zero padded>
 *   image reference    PK = IS#<ns>/<name>   SK = R#<digest>#<tagIncarnation>
 *   image (by digest)  PK = IMG#<digest>     SK = IMG
 *   streams of a namespace: GSI1 (GSI1PK = NS#<ns>, GSI1SK = IS#<name>), sparse: only stream heads carry it.
 */
export const tableDefinition = {
  partitionKey: 'PK',
  sortKey: 'SK',
  gsi1: { indexName: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
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
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: d.streamViewType },
  };
}
