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

  it('queues spec-driven imports: encrypted queue with a dead-letter queue, visibility above the worker timeout', () => {
    service.resourceCountIs('AWS::SQS::Queue', 2);
    service.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
    service.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 1800,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
    service.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('feeds only tag records of the table stream to the change processor, and the queue to the worker', () => {
    service.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ dynamodb: { Keys: { SK: { S: [{ prefix: 'T#' }] } } } }) }],
      },
    });
    service.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    service.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('import worker'),
      Timeout: 300,
      Runtime: 'nodejs22.x',
      Environment: {
        Variables: Match.objectLike({ IMPORT_QUEUE_URL: Match.anyValue(), IMPORT_TIMEOUT_SECONDS: '240' }),
      },
    });
  });

  it('lets the change processor and worker send to the queue, and API and worker pull from ECR', () => {
    const policies = service.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } } })
          .Properties.PolicyDocument.Statement,
    );
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => a === 'sqs:SendMessage').length).toBeGreaterThanOrEqual(2);
    expect(actions.filter((a) => a === 'ecr:GetAuthorizationToken')).toHaveLength(2);
    expect(actions).toContain('dynamodb:GetRecords');
    expect(actions).not.toContain('sqs:*');
  });
});
