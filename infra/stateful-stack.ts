import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { tableDefinition } from '../functions/store/table-definition';

/**
 * What must outlive deployments: the table, and the key that seals the registry secrets stored in it (without the
 * key they cannot be opened). Kept apart from the service stack so redeploying or deleting the service never
 * touches data.
 */
export class StatefulStack extends Stack {
  /** TableV2 (AWS::DynamoDB::GlobalTable) so replicas can be added later without replacing the table. */
  readonly table: TableV2;
  /**
   * Wraps the data keys of registry secrets (functions/aws/kms-sealer.ts). Customer managed, so its use is
   * logged and granted per function; rotated yearly by KMS (same ARN, older material kept for existing values).
   */
  readonly secretsKey: Key;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const d = tableDefinition;
    this.table = new TableV2(this, 'table', {
      partitionKey: { name: d.partitionKey, type: AttributeType.STRING },
      sortKey: { name: d.sortKey, type: AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          indexName: d.gsi1.indexName,
          partitionKey: { name: d.gsi1.partitionKey, type: AttributeType.STRING },
          sortKey: { name: d.gsi1.sortKey, type: AttributeType.STRING },
        },
        ...[d.gsi2, d.gsi3].map((g) => ({
          indexName: g.indexName,
          partitionKey: { name: g.partitionKey, type: AttributeType.STRING },
          sortKey: { name: g.sortKey, type: AttributeType.STRING },
          projectionType: ProjectionType.INCLUDE,
          nonKeyAttributes: [...g.include],
        })),
      ],
      timeToLiveAttribute: d.timeToLiveAttribute,
      billing: Billing.onDemand(),
      dynamoStream: StreamViewType[d.streamViewType],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.secretsKey = new Key(this, 'secrets-key', {
      description: 'imagestreams: wraps the data keys that seal registry secrets in the table',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new CfnOutput(this, 'SecretsKeyArn', {
      value: this.secretsKey.keyArn,
      description: 'KMS key sealing registry secrets (SECRETS_KMS_KEY_ARN of scripts/seal-secrets.ts)',
    });
  }
}
