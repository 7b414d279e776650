import { App } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableDefinition as d } from '../../functions/store/table-definition';
import { tableActions } from '../../infra/constructs/app-function';
import { ServiceStack } from '../../infra/service-stack';
import { StatefulStack } from '../../infra/stateful-stack';

let stateful: Template;
let service: Template;

beforeAll(() => {
  // Bundling off: these tests look at templates, not at esbuild output (test/infra/bundle-size.test.ts does that).
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const s = new StatefulStack(app, 'Stateful');
  const svc = new ServiceStack(app, 'Service', {
    table: s.table,
    internalRegistryHostname: 'registry.example:5000',
  });
  stateful = Template.fromStack(s);
  service = Template.fromStack(svc);
});

describe('StatefulStack', () => {
  it('derives the table from the shared definition, with streams, PITR, deletion protection and retain', () => {
    stateful.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    stateful.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: d.billingMode,
        KeySchema: [
          { AttributeName: d.partitionKey, KeyType: 'HASH' },
          { AttributeName: d.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: d.partitionKey, AttributeType: 'S' },
          { AttributeName: d.gsi1.partitionKey, AttributeType: 'S' },
        ]),
        GlobalSecondaryIndexes: [
          {
            IndexName: d.gsi1.indexName,
            KeySchema: [
              { AttributeName: d.gsi1.partitionKey, KeyType: 'HASH' },
              { AttributeName: d.gsi1.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        StreamSpecification: { StreamViewType: d.streamViewType },
        Replicas: [
          Match.objectLike({
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      }),
    });
  });
});

describe('ServiceStack', () => {
  it('runs the API as a Node 22 arm64 ESM bundle with its environment', () => {
    service.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 29,
      MemorySize: 1024,
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          RUNTIME_MODE: 'aws',
          INTERNAL_REGISTRY_HOSTNAME: 'registry.example:5000',
          TABLE_NAME: { 'Fn::ImportValue': Match.stringLikeRegexp('Stateful') },
        },
      },
      LoggingConfig: { LogGroup: Match.anyValue() },
    });
    service.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('grants the API function exactly the DynamoDB actions the store uses, on the table and its indexes', () => {
    const statements = new Capture();
    service.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: statements } });
    const all = statements.asArray() as Array<{ Action: string | string[]; Resource: unknown }>;
    const dynamo = all.filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect([dynamo[0]!.Action].flat().sort()).toEqual([...tableActions.RW].sort());
    const resources = JSON.stringify(dynamo[0]!.Resource);
    expect(resources).toContain('/index/*');
    expect(resources).not.toContain('"*"');
    expect(JSON.stringify(all)).not.toContain('dynamodb:*');
  });

  it('protects every route with IAM except the health check, on payload format 2.0', () => {
    service.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ANY /{proxy+}',
      AuthorizationType: 'AWS_IAM',
    });
    service.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /healthz',
      AuthorizationType: 'NONE',
    });
    service.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    service.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
    service.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
    service.hasOutput('ApiUrl', {});
  });
});
