import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { encryptionContext } from '../../functions/app/ports/credential-sealer';
import { readServiceConfig } from '../../functions/config';
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
    secretsKey: s.secretsKey,
    internalRegistryHostname: 'registry.example:5000',
  });
  stateful = Template.fromStack(s);
  service = Template.fromStack(svc);
});

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}
interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
}

const resources = (type: string) => Object.entries(service.findResources(type) as Record<string, Resource>);
const actionsOf = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat());

/** The logical id of the one function whose description contains `text`. */
function fn(text: string): string {
  const found = resources('AWS::Lambda::Function').filter(([, r]) =>
    String(r.Properties.Description).includes(text),
  );
  expect(found, `one function described as "${text}"`).toHaveLength(1);
  return found[0]![0];
}

function fnProps(text: string): Record<string, unknown> {
  return service.toJSON().Resources[fn(text)].Properties;
}

function envOf(text: string): Record<string, unknown> {
  return (fnProps(text).Environment as { Variables: Record<string, unknown> }).Variables;
}

/** Every statement of the inline policies attached to `roleId`. */
function roleStatements(roleId: string): Statement[] {
  return resources('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** Every statement of the function's execution role. */
function fnStatements(text: string): Statement[] {
  const role = fnProps(text).Role as { 'Fn::GetAtt': [string, string] };
  return roleStatements(role['Fn::GetAtt'][0]);
}

const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const only = (type: string) => {
  const all = resources(type);
  expect(all, type).toHaveLength(1);
  return all[0]!;
};
/** The webhook secret (the registry's token key is the other secret). */
const webhookSecretId = () => {
  const ids = Object.keys(
    service.findResources('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: { PasswordLength: 48 } },
    }),
  );
  expect(ids).toHaveLength(1);
  return ids[0]!;
};
const queueId = (pattern: RegExp) => {
  const ids = resources('AWS::SQS::Queue')
    .map(([id]) => id)
    .filter((id) => pattern.test(id));
  expect(ids, String(pattern)).toHaveLength(1);
  return ids[0]!;
};

const SHARED_SETTINGS = {
  RUNTIME_MODE: 'aws',
  INTERNAL_REGISTRY_HOSTNAME: 'registry.example:5000',
  IMPORT_INTERVAL_SECONDS: '900',
  SCHEDULER_TICK_SECONDS: '60',
  SCHEDULED_IMPORTS_PER_MINUTE: '60',
  SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE: '60',
  PUSH_COALESCE_SECONDS: '2',
  CLUSTER_ADMIN_GROUPS: { Ref: 'ClusterAdminGroups' },
  PROJECT_REQUESTER_GROUPS: { Ref: 'ProjectRequesterGroups' },
};
const TABLE_NAME = { 'Fn::ImportValue': Match.stringLikeRegexp('Stateful') };
const TABLE_ARN = { 'Fn::ImportValue': expect.stringMatching(/^Stateful:.*table[0-9A-F]{8}Arn/) };
const SECRETS_KEY_ARN = { 'Fn::ImportValue': expect.stringMatching(/^Stateful:.*secretskey[0-9A-F]{8}Arn/) };
/** The only use of the secrets key any function gets: registry secrets' encryption context (kms-sealer.ts). */
const FOR_REGISTRY_SECRETS = {
  StringEquals: { 'kms:EncryptionContext:purpose': 'imagestreams/registry-secret' },
  'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['purpose', 'namespace', 'secret', 'uid'] },
};
const STREAM_ACTIONS = [
  'dynamodb:ListStreams',
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
];

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
          { AttributeName: d.gsi2.partitionKey, AttributeType: 'S' },
          { AttributeName: d.gsi3.partitionKey, AttributeType: 'S' },
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
          ...[d.gsi2, d.gsi3].map((g) => ({
            IndexName: g.indexName,
            KeySchema: [
              { AttributeName: g.partitionKey, KeyType: 'HASH' },
              { AttributeName: g.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...g.include] },
          })),
        ],
        TimeToLiveSpecification: { AttributeName: d.timeToLiveAttribute, Enabled: true },
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

describe('StatefulStack secrets key', () => {
  it('is a customer-managed KMS key, rotated, retained like the table, administered by the account only', () => {
    stateful.resourceCountIs('AWS::KMS::Key', 1);
    stateful.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        EnableKeyRotation: true,
        KeySpec: Match.absent(),
        KeyUsage: Match.absent(),
      }),
    });
    const [key] = Object.values(stateful.findResources('AWS::KMS::Key')) as Resource[];
    // The default key policy: the account (its IAM policies) decides; no other principal is named in it.
    const statements = (key!.Properties.KeyPolicy as { Statement: Array<Record<string, unknown>> }).Statement;
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'kms:*', Resource: '*' });
    expect(JSON.stringify(statements[0]!.Principal)).toMatch(
      /^\{"AWS":\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":iam::",\{"Ref":"AWS::AccountId"\},":root"\]\]\}\}$/,
    );
    stateful.hasOutput('SecretsKeyArn', {});
  });
});

describe('ServiceStack', () => {
  it('runs every function as a Node 22 arm64 bundle with its own log group', () => {
    const fns = resources('AWS::Lambda::Function');
    expect(fns).toHaveLength(7);
    for (const [, f] of fns) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: expect.anything() },
      });
    }
    service.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('runs the API with its environment', () => {
    service.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('HTTP API'),
      Timeout: 29,
      MemorySize: 1024,
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          ...SHARED_SETTINGS,
          TABLE_NAME,
          IMPORT_QUEUE_URL: ref(queueId(/^importqueue/)),
          WEBHOOK_SECRET_ARN: ref(webhookSecretId()),
          SECRETS_KMS_KEY_ARN: { 'Fn::ImportValue': Match.stringLikeRegexp('Stateful:.*secretskey') },
        },
      },
    });
  });

  it('lets the API seal and open registry secrets, the job worker only open them, and nothing else use the key', () => {
    const kmsStatements = (f: string) =>
      fnStatements(f).filter((s) => actionsOf([s]).some((a) => a.startsWith('kms:')));
    expect(kmsStatements('HTTP API')).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: SECRETS_KEY_ARN,
        Condition: FOR_REGISTRY_SECRETS,
      },
    ]);
    expect(kmsStatements('job worker')).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: SECRETS_KEY_ARN, Condition: FOR_REGISTRY_SECRETS },
    ]);
    for (const other of ['change processor', 'scheduler tick', 'push events']) {
      expect(kmsStatements(other), other).toEqual([]);
      expect(envOf(other), other).not.toHaveProperty('SECRETS_KMS_KEY_ARN');
    }
    expect(envOf('job worker').SECRETS_KMS_KEY_ARN).toEqual(envOf('HTTP API').SECRETS_KMS_KEY_ARN);
    // Exactly the context the sealer sends (functions/app/ports/credential-sealer.ts).
    expect(Object.keys(encryptionContext({ namespace: 'n', name: 's', uid: 'u' }))).toEqual(
      FOR_REGISTRY_SECRETS['ForAllValues:StringEquals']['kms:EncryptionContextKeys'],
    );
    expect(encryptionContext({ namespace: 'n', name: 's', uid: 'u' }).purpose).toBe(
      FOR_REGISTRY_SECRETS.StringEquals['kms:EncryptionContext:purpose'],
    );
  });

  it('grants the API function exactly the DynamoDB actions the store uses, on the table and its indexes', () => {
    const all = fnStatements('HTTP API');
    const dynamo = all.filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect(actionsOf(dynamo).sort()).toEqual([...tableActions.RW].sort());
    const resources = JSON.stringify(dynamo[0]!.Resource);
    // Each index by name (no index/* wildcard: cdk-nag IAM5).
    for (const index of ['GSI1', 'GSI2', 'GSI3']) expect(resources).toContain(`/index/${index}"`);
    expect(resources).not.toContain('/index/*');
    expect(resources).not.toContain('"*"');
    expect(JSON.stringify(service.toJSON())).not.toContain('dynamodb:*');
  });

  it('authorizes /{proxy+} with a JWT from the stack parameters, /iam/{proxy+} with IAM, on payload format 2.0', () => {
    service.hasParameter('OidcIssuer', { Type: 'String', AllowedPattern: Match.stringLikeRegexp('https') });
    service.hasParameter('OidcAudience', { Type: 'CommaDelimitedList' });
    service.hasParameter('OidcGroupsClaim', { Type: 'String', Default: 'groups' });
    service.hasParameter('OidcUserClaim', { Type: 'String', Default: 'sub' });
    const [authorizerId] = only('AWS::ApiGatewayV2::Authorizer');
    service.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: { Ref: 'OidcIssuer' }, Audience: { Ref: 'OidcAudience' } },
    });
    service.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ANY /{proxy+}',
      AuthorizationType: 'JWT',
      AuthorizerId: ref(authorizerId),
    });
    service.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ANY /iam/{proxy+}',
      AuthorizationType: 'AWS_IAM',
      AuthorizerId: Match.absent(),
    });
    service.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
    service.hasOutput('ApiUrl', {});
  });

  it('leaves only the health probes and the webhooks without an authorizer', () => {
    const byKey = Object.fromEntries(
      resources('AWS::ApiGatewayV2::Route').map(([, r]) => [
        r.Properties.RouteKey,
        [r.Properties.AuthorizationType ?? 'NONE', r.Properties.AuthorizerId === undefined ? 'no id' : 'id'],
      ]),
    );
    expect(byKey).toEqual({
      'ANY /{proxy+}': ['JWT', 'id'],
      'ANY /iam/{proxy+}': ['AWS_IAM', 'no id'],
      'GET /healthz': ['NONE', 'no id'],
      'GET /livez': ['NONE', 'no id'],
      'GET /readyz': ['NONE', 'no id'],
      'POST /webhooks/{format}': ['NONE', 'no id'],
    });
  });

  it('takes cluster administrators and project requesters from parameters, for every function with an app context', () => {
    service.hasParameter('ClusterAdminGroups', { Type: 'String', Default: '' });
    service.hasParameter('ProjectRequesterGroups', { Type: 'String', Default: 'system:authenticated' });
    for (const f of ['HTTP API', 'job worker', 'scheduler tick', 'push events'])
      expect(envOf(f), f).toMatchObject({
        CLUSTER_ADMIN_GROUPS: { Ref: 'ClusterAdminGroups' },
        PROJECT_REQUESTER_GROUPS: { Ref: 'ProjectRequesterGroups' },
      });
    // The change processor builds no app context (it makes no access decisions).
    expect(envOf('change processor')).not.toHaveProperty('CLUSTER_ADMIN_GROUPS');
  });

  it('makes no token holder a cluster administrator by default: an empty ClusterAdminGroups is a reserved group', () => {
    const config = (env: Record<string, string>) => readServiceConfig({ TABLE_NAME: 't', ...env });
    // CloudFormation hands the functions the parameter's default as an empty string; the config reads it as unset.
    expect(
      config({ CLUSTER_ADMIN_GROUPS: '', PROJECT_REQUESTER_GROUPS: 'system:authenticated' }),
    ).toMatchObject({
      CLUSTER_ADMIN_GROUPS: ['system:cluster-admins'],
      PROJECT_REQUESTER_GROUPS: ['system:authenticated'],
    });
    expect(
      config({
        CLUSTER_ADMIN_GROUPS: 'platform-admins, arn:aws:iam::123456789012:role/ops',
        PROJECT_REQUESTER_GROUPS: 'developers',
      }),
    ).toMatchObject({
      CLUSTER_ADMIN_GROUPS: ['platform-admins', 'arn:aws:iam::123456789012:role/ops'],
      PROJECT_REQUESTER_GROUPS: ['developers'],
    });
  });

  it('reads the secrets key ARN, refusing anything but a KMS key ARN with a message naming the variable', () => {
    const config = (env: Record<string, string>) => readServiceConfig({ TABLE_NAME: 't', ...env });
    const arn = 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(config({ SECRETS_KMS_KEY_ARN: arn }).SECRETS_KMS_KEY_ARN).toBe(arn);
    expect(config({ SECRETS_KMS_KEY_ARN: '' }).SECRETS_KMS_KEY_ARN).toBeUndefined();
    for (const bad of [
      'alias/imagestreams',
      'arn:aws:kms:eu-central-1:123456789012:alias/x',
      '1234abcd-12ab',
    ])
      expect(() => config({ SECRETS_KMS_KEY_ARN: bad })).toThrow(
        /SECRETS_KMS_KEY_ARN: must be a KMS key ARN/,
      );
  });

  it.each([
    ['ClusterAdminGroups', '', true],
    ['ClusterAdminGroups', 'platform-admins', true],
    ['ClusterAdminGroups', 'platform-admins, arn:aws:iam::123456789012:role/ops', true],
    ['ClusterAdminGroups', 'Domain Admins', false],
    ['ClusterAdminGroups', 'a,,b', false],
    ['ProjectRequesterGroups', 'system:authenticated', true],
    ['ProjectRequesterGroups', 'developers,system:iam', true],
    ['ProjectRequesterGroups', '', false],
    ['ProjectRequesterGroups', ' ', false],
  ])('parameter %s accepts "%s": %s', (name, value, accepted) => {
    // CloudFormation's patterns are Java regular expressions; this one means the same in JavaScript.
    const pattern = service.toJSON().Parameters[name].AllowedPattern as string;
    expect(new RegExp(pattern).test(value)).toBe(accepted);
  });

  it('tells the API function the JWT claim names from the parameters', () => {
    expect(envOf('HTTP API')).toMatchObject({
      JWT_USER_CLAIM: { Ref: 'OidcUserClaim' },
      JWT_GROUPS_CLAIM: { Ref: 'OidcGroupsClaim' },
    });
  });

  it('logs access and throttles the unauthenticated webhook route on the stage, created after the route', () => {
    const [webhookRoute] = resources('AWS::ApiGatewayV2::Route').find(
      ([, r]) => r.Properties.RouteKey === 'POST /webhooks/{format}',
    )!;
    service.hasResource('AWS::ApiGatewayV2::Stage', {
      DependsOn: Match.arrayWith([webhookRoute]),
      Properties: Match.objectLike({
        StageName: '$default',
        AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
        RouteSettings: {
          // CloudFormation's property names (the L1 passes this JSON map through untouched).
          'POST /webhooks/{format}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
        },
      }),
    });
  });

  it('keeps a generated webhook secret the API may read, and outputs its ARN only', () => {
    const secretId = webhookSecretId();
    service.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
    });
    const reads = fnStatements('HTTP API').filter((s) =>
      actionsOf([s]).includes('secretsmanager:GetSecretValue'),
    );
    expect(reads).toHaveLength(1);
    expect(reads[0]!.Resource).toEqual(ref(secretId));
    for (const other of ['change processor', 'job worker', 'scheduler tick', 'push events'])
      expect(actionsOf(fnStatements(other)).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    // The registry reads its own token key, never the webhook secret.
    for (const st of fnStatements('registry: pulls'))
      if (actionsOf([st]).some((a) => a.startsWith('secretsmanager:')))
        expect(st.Resource).not.toEqual(ref(secretId));
    service.hasOutput('WebhookSecretArn', { Value: ref(secretId) });
    expect(JSON.stringify(service.toJSON().Outputs)).not.toContain('SecretString');
  });

  it('queues jobs: encrypted, TLS-only queues; the job queue has a DLQ and visibility above the worker timeout', () => {
    service.resourceCountIs('AWS::SQS::Queue', 5);
    for (const [, q] of resources('AWS::SQS::Queue')) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    for (const id of ['importdlq', 'streamdlq', 'schedulerdlq', 'pusheventsdlq'])
      expect(service.toJSON().Resources[queueId(new RegExp(`^${id}[0-9A-F]{8}$`))].Properties).toMatchObject({
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
    service.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 1800,
      RedrivePolicy: { deadLetterTargetArn: arnOf(queueId(/^importdlq/)), maxReceiveCount: 5 },
    });
    service.resourceCountIs('AWS::SQS::QueuePolicy', 5);
    service.allResourcesProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('publishes to its own event bus, archived for replay, with name and ARN as outputs', () => {
    const [busId] = only('AWS::Events::EventBus');
    service.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: arnOf(busId),
      EventPattern: { source: ['io.imagestreams'] },
      RetentionDays: Match.anyValue(),
    });
    const days = only('AWS::Events::Archive')[1].Properties.RetentionDays as number;
    expect(days).toBeGreaterThanOrEqual(7);
    expect(days).toBeLessThanOrEqual(30);
    service.hasOutput('EventBusName', { Value: ref(busId) });
    service.hasOutput('EventBusArn', { Value: arnOf(busId) });
  });

  it('gives the change processor the bus, the source, the queue and the registry hostnames', () => {
    expect(envOf('change processor')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      RUNTIME_MODE: 'aws',
      TABLE_NAME: expect.objectContaining({ 'Fn::ImportValue': expect.stringContaining('Stateful') }),
      INTERNAL_REGISTRY_HOSTNAME: 'registry.example:5000',
      IMPORT_QUEUE_URL: ref(queueId(/^importqueue/)),
      // The ARN: the publisher takes partition, region and account for the events' resources from it.
      EVENT_BUS_NAME: arnOf(only('AWS::Events::EventBus')[0]),
      EVENT_SOURCE: 'io.imagestreams',
    });
  });

  it('lets the change processor put events on the bus and send jobs, read the stream, and keep the watch log', () => {
    const statements = fnStatements('change processor');
    const put = statements.filter((s) => actionsOf([s]).includes('events:PutEvents'));
    expect(put).toHaveLength(1);
    expect(put[0]!.Resource).toEqual(arnOf(only('AWS::Events::EventBus')[0]));
    const onStream = statements.filter((s) => JSON.stringify(s.Resource).includes('StreamArn'));
    expect(actionsOf(onStream).sort()).toEqual([...STREAM_ACTIONS].sort());
    // The watch log: reads by key and its own writes, on the table alone (no index, no delete).
    const onTable = statements.filter(
      (s) =>
        actionsOf([s]).some((a) => a.startsWith('dynamodb:')) &&
        !JSON.stringify(s.Resource).includes('StreamArn'),
    );
    expect(actionsOf(onTable).sort()).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ].sort(),
    );
    expect(JSON.stringify(onTable.map((s) => s.Resource))).not.toContain('/index/');
    const sends = statements.filter((s) => actionsOf([s]).includes('sqs:SendMessage')).map((s) => s.Resource);
    expect(sends).toEqual(
      expect.arrayContaining([arnOf(queueId(/^importqueue/)), arnOf(queueId(/^streamdlq/))]),
    );
  });

  it('feeds tag records, stream heads and watch-log probes to the change processor, failures to the stream DLQ', () => {
    service.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(fn('change processor')),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: Match.anyValue(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: arnOf(queueId(/^streamdlq/)) } },
      FilterCriteria: {
        Filters: [
          { Pattern: JSON.stringify({ dynamodb: { Keys: { SK: { S: [{ prefix: 'T#' }] } } } }) },
          { Pattern: JSON.stringify({ dynamodb: { Keys: { SK: { S: ['IS'] } } } }) },
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { Keys: { PK: { S: ['WATCH'] }, SK: { S: [{ prefix: 'PROBE#' }] } } },
            }),
          },
        ],
      },
    });
    const [, mapping] = resources('AWS::Lambda::EventSourceMapping').find(
      ([, m]) => JSON.stringify(m.Properties.FunctionName) === JSON.stringify(ref(fn('change processor'))),
    )!;
    // Under the stream's 24 h retention, so the DLQ's pointers still name readable records.
    expect(mapping.Properties.MaximumRecordAgeInSeconds as number).toBeLessThan(24 * 3600);
  });

  it('runs jobs from the queue in the job worker, with the shared settings', () => {
    service.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(fn('job worker')),
      EventSourceArn: arnOf(queueId(/^importqueue/)),
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(fnProps('job worker')).toMatchObject({ Timeout: 300 });
    expect(envOf('job worker')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      ...SHARED_SETTINGS,
      TABLE_NAME: expect.objectContaining({ 'Fn::ImportValue': expect.stringContaining('Stateful') }),
      IMPORT_QUEUE_URL: ref(queueId(/^importqueue/)),
      IMPORT_TIMEOUT_SECONDS: '240',
      SECRETS_KMS_KEY_ARN: SECRETS_KEY_ARN,
    });
    const actions = actionsOf(fnStatements('job worker'));
    expect(actions).toEqual(
      expect.arrayContaining([...tableActions.RW, 'sqs:SendMessage', 'ecr:BatchGetImage']),
    );
  });

  it('ticks the scheduler every minute with the nominal time, retries, and a DLQ', () => {
    const tick = fn('scheduler tick');
    const [, schedule] = only('AWS::Scheduler::Schedule');
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Target: {
        Arn: arnOf(tick),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 300 },
        DeadLetterConfig: { Arn: arnOf(queueId(/^schedulerdlq/)) },
      },
    });
    const target = schedule.Properties.Target as {
      Input: string;
      RoleArn: { 'Fn::GetAtt': [string, string] };
    };
    expect(JSON.parse(target.Input)).toEqual({
      scheduledTime: '<aws.scheduler.scheduled-time>',
      executionId: '<aws.scheduler.execution-id>',
    });

    const role = target.RoleArn['Fn::GetAtt'][0];
    service.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })],
      },
    });
    const statements = roleStatements(role);
    const invoke = statements.filter((s) => actionsOf([s]).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.Resource).toEqual([
      arnOf(tick),
      { 'Fn::Join': ['', [arnOf(tick), ':*']] }, // the function's versions and aliases
    ]);
    expect(actionsOf(statements).sort()).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage']);
  });

  it('gives the scheduler tick the queue and the shared settings, and no table access', () => {
    expect(fnProps('scheduler tick')).toMatchObject({ Timeout: 30 });
    expect(envOf('scheduler tick')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      ...SHARED_SETTINGS,
      TABLE_NAME: expect.objectContaining({ 'Fn::ImportValue': expect.stringContaining('Stateful') }),
      IMPORT_QUEUE_URL: ref(queueId(/^importqueue/)),
    });
    const statements = fnStatements('scheduler tick').filter(
      (s) => !actionsOf([s]).every((a) => a.startsWith('logs:') || a.startsWith('xray:')),
    );
    // The job queue, and its own dead-letter queue (failed asynchronous invocations).
    expect(statements).toHaveLength(2);
    expect(statements).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arnOf(queueId(/^importqueue/)) },
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arnOf(queueId(/^schedulerdlq/)) },
      ]),
    );
  });

  it('sends successful ECR pushes and deletes on the default bus to the push-events function', () => {
    const push = fn('push events');
    const [, rule] = only('AWS::Events::Rule');
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: { result: ['SUCCESS'], 'action-type': ['PUSH', 'DELETE'] },
    });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: arnOf(push),
        RetryPolicy: expect.objectContaining({ MaximumRetryAttempts: expect.any(Number) }),
        DeadLetterConfig: { Arn: arnOf(queueId(/^pusheventsdlq/)) },
      }),
    ]);
    service.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: arnOf(push),
      Principal: 'events.amazonaws.com',
    });
    expect(envOf('push events')).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      ...SHARED_SETTINGS,
      TABLE_NAME: expect.objectContaining({ 'Fn::ImportValue': expect.stringContaining('Stateful') }),
      IMPORT_QUEUE_URL: ref(queueId(/^importqueue/)),
    });
    // Only the coalescing window's conditional update, on the table (no index); test/infra/least-privilege.test.ts
    // has every function's exact grants.
    const statements = fnStatements('push events');
    const dynamo = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([{ Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: TABLE_ARN }]);
    expect(actionsOf(statements)).toContain('sqs:SendMessage');
    expect(actionsOf(statements).filter((a) => a.startsWith('ecr:'))).toEqual([]);
  });

  it('lets only the functions that queue jobs send to the queue, and only API, worker and registry pull from ECR', () => {
    const queue = JSON.stringify(arnOf(queueId(/^importqueue/)));
    const senders = ['HTTP API', 'change processor', 'job worker', 'scheduler tick', 'push events'];
    for (const f of senders) {
      const sends = fnStatements(f).filter((s) => actionsOf([s]).includes('sqs:SendMessage'));
      expect(
        sends.map((s) => JSON.stringify(s.Resource)),
        f,
      ).toContain(queue);
    }
    const all = resources('AWS::IAM::Policy').flatMap(
      ([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );
    expect(actionsOf(all).filter((a) => a === 'ecr:GetAuthorizationToken')).toHaveLength(3);
    expect(actionsOf(fnStatements('HTTP API'))).toContain('ecr:BatchGetImage');
    expect(actionsOf(all)).not.toContain('sqs:*');
  });
});

describe('ServiceStack settings', () => {
  const synth = (props: Partial<ConstructorParameters<typeof ServiceStack>[2]>) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const s = new StatefulStack(app, 'Stateful');
    return new ServiceStack(app, 'Service', { table: s.table, secretsKey: s.secretsKey, ...props });
  };

  it('passes the event source and the scheduling settings to the functions', () => {
    const t = Template.fromStack(
      synth({
        eventSource: 'example.imagestreams',
        eventBusName: 'imagestreams',
        importIntervalSeconds: 300,
        scheduledImportsPerMinute: 120,
        scheduledImportsPerRegistryPerMinute: 30,
        pushCoalesceSeconds: 5,
      }),
    );
    t.hasResourceProperties('AWS::Events::EventBus', { Name: 'imagestreams' });
    t.hasResourceProperties('AWS::Events::Archive', { EventPattern: { source: ['example.imagestreams'] } });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EVENT_SOURCE: 'example.imagestreams' }) },
    });
    const settings = Match.objectLike({
      IMPORT_INTERVAL_SECONDS: '300',
      SCHEDULER_TICK_SECONDS: '60',
      SCHEDULED_IMPORTS_PER_MINUTE: '120',
      SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE: '30',
      PUSH_COALESCE_SECONDS: '5',
    });
    const withSettings = t.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: settings } },
    });
    expect(Object.keys(withSettings)).toHaveLength(6);
  });

  it('serves the registry from a streaming function URL, pull specs naming its host, ECR narrowed on request', () => {
    const t = Template.fromStack(
      synth({
        pullThroughEcrRepositoryArns: ['arn:aws:ecr:us-east-1:123456789012:repository/team/*'],
        registryReservedConcurrency: 7,
      }),
    );
    const registry = Object.entries(
      t.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('registry: pulls') },
      }),
    );
    expect(registry).toHaveLength(1);
    const [registryId, fnResource] = registry[0]!;
    expect(fnResource.Properties).toMatchObject({
      ReservedConcurrentExecutions: 7,
      Timeout: 180,
      Environment: {
        Variables: {
          OIDC_ISSUER: { Ref: 'OidcIssuer' },
          OIDC_AUDIENCE: { 'Fn::Join': [',', { Ref: 'OidcAudience' }] },
          MAX_STREAMED_BLOB_BYTES: String(200 * 1024 * 1024 - 64 * 1024),
          REGISTRY_TOKEN_SECRET_ARN: { Ref: expect.stringMatching(/^registrytokenkey/) },
        },
      },
    });
    // Its own host comes from the request: an env var naming its own URL would be a dependency cycle.
    expect(fnResource.Properties.Environment.Variables.INTERNAL_REGISTRY_HOSTNAME).toBeUndefined();
    t.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      InvokeMode: 'RESPONSE_STREAM',
      TargetFunctionArn: { 'Fn::GetAtt': [registryId, 'Arn'] },
    });
    // Without a configured hostname, the API hands out pull specs naming the function URL's host.
    const urlId = Object.keys(
      t.findResources('AWS::Lambda::Url', {
        Properties: { TargetFunctionArn: { 'Fn::GetAtt': [registryId, 'Arn'] } },
      }),
    )[0]!;
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('HTTP API'),
      Environment: {
        Variables: Match.objectLike({
          INTERNAL_REGISTRY_HOSTNAME: {
            'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [urlId, 'FunctionUrl'] }] }],
          },
        }),
      },
    });
    const roleId = fnResource.Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const ecr = statements.filter((st) => actionsOf([st]).includes('ecr:BatchGetImage'));
    expect(ecr).toHaveLength(1);
    expect(ecr[0]!.Resource).toBe('arn:aws:ecr:us-east-1:123456789012:repository/team/*');
    expect(actionsOf(ecr)).toEqual(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);
    t.hasOutput('RegistryUrl', { Value: { 'Fn::GetAtt': [urlId, 'FunctionUrl'] } });
  });

  it('refuses settings the functions would reject at start', () => {
    expect(() => synth({ eventSource: 'aws.ecr' })).toThrow(/eventSource/);
    expect(() => synth({ eventSource: 'has space' })).toThrow(/eventSource/);
    expect(() => synth({ importIntervalSeconds: 0 })).toThrow(/importIntervalSeconds/);
    expect(() => synth({ pushCoalesceSeconds: 301 })).toThrow(/pushCoalesceSeconds/);
    expect(() => synth({ scheduledImportsPerMinute: 1.5 })).toThrow(/scheduledImportsPerMinute/);
  });
});
