import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogRetention, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ServiceStack } from '../../infra/service-stack';
import { StatefulStack } from '../../infra/stateful-stack';

/**
 * Acceptance checks of the synthesized service template: who may call which route, and what each function's role
 * may do. Both are written as checks over everything of a kind in the template (every route, every function), so
 * a route or function added later is covered without touching this file, and fails until it is accounted for. Each
 * check returns its findings; the mutation tests at the end show each one catches what it is meant to.
 */

type Json = Record<string, any>;

interface Synth {
  service: ServiceStack;
  stateful: StatefulStack;
  template: Json;
}

function synth(mutate?: (s: Synth) => void): Synth {
  // Bundling off: these tests look at templates, not at esbuild output.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stateful = new StatefulStack(app, 'Stateful');
  const service = new ServiceStack(app, 'Service', {
    table: stateful.table,
    secretsKey: stateful.secretsKey,
  });
  const s: Synth = { service, stateful, template: {} };
  mutate?.(s);
  s.template = Template.fromStack(service).toJSON();
  return s;
}

const resourcesOf = (t: Json, type: string): [string, Json][] =>
  Object.entries(t.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
const logicalId = (s: Synth, c: { node: { defaultChild?: unknown } }) =>
  s.service.getLogicalId(c.node.defaultChild as CfnElement);

// ---------------------------------------------------------------------------------------------------------------
// Routes

/** The only routes without the JWT authorizer, and what they have instead. */
const ROUTES_WITHOUT_JWT: Record<string, 'NONE' | 'AWS_IAM'> = {
  // Load balancers and probes; answers nothing about the data.
  'GET /healthz': 'NONE',
  'GET /livez': 'NONE',
  'GET /readyz': 'NONE',
  // Registries can neither sign nor get tokens: the handler checks the shared webhook secret.
  'POST /webhooks/{format}': 'NONE',
  // Machines with AWS credentials, SigV4.
  'ANY /iam/{proxy+}': 'AWS_IAM',
};

/** Every route of the template, checked against {@link ROUTES_WITHOUT_JWT}; every other route must use the JWT authorizer. */
function routeFindings(t: Json): string[] {
  const findings: string[] = [];
  const jwtAuthorizers = resourcesOf(t, 'AWS::ApiGatewayV2::Authorizer').filter(
    ([, a]) => a.Properties.AuthorizerType === 'JWT',
  );
  if (jwtAuthorizers.length !== 1) findings.push(`${jwtAuthorizers.length} JWT authorizers, expected 1`);
  const jwtId = jwtAuthorizers[0]?.[0];
  const seen = new Set<string>();
  for (const [id, r] of resourcesOf(t, 'AWS::ApiGatewayV2::Route')) {
    const key = String(r.Properties.RouteKey);
    seen.add(key);
    const type = r.Properties.AuthorizationType ?? 'NONE';
    const authorizer = r.Properties.AuthorizerId;
    const expected = ROUTES_WITHOUT_JWT[key] ?? 'JWT';
    if (type !== expected) findings.push(`${key} (${id}): authorization ${type}, expected ${expected}`);
    if (expected === 'JWT') {
      if (JSON.stringify(authorizer) !== JSON.stringify({ Ref: jwtId }))
        findings.push(
          `${key} (${id}): authorizer ${JSON.stringify(authorizer)}, expected the JWT authorizer`,
        );
    } else if (authorizer !== undefined) findings.push(`${key} (${id}): unexpected authorizer`);
  }
  for (const key of Object.keys(ROUTES_WITHOUT_JWT))
    if (!seen.has(key)) findings.push(`${key}: no such route`);
  return findings;
}

// ---------------------------------------------------------------------------------------------------------------
// Function roles

/**
 * Actions AWS authorizes only on `Resource: "*"` (no resource type in the Service Authorization Reference). Any
 * other action on `*` is a finding, whatever the expected table below says.
 */
const STAR_ONLY_ACTIONS = new Set([
  'ecr:GetAuthorizationToken',
  // X-Ray active tracing (every function).
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
]);

/** Symbolic names of the resources policies may name; anything else is reported as unrecognised. */
const OWN_LOG_GROUP = 'its own log group';
const TABLE = 'table';
/** Each index by name (written out: a grant on `index/*` or on another index is unrecognised). */
const TABLE_INDEXES = ['GSI1', 'GSI2', 'GSI3'].map((i) => `table index ${i}`);
const TABLE_STREAM = 'table stream';
const ECR_REPOSITORIES = 'ECR repositories';
const IMPORT_QUEUE = 'import queue';
const STREAM_DLQ = 'stream DLQ';
const SCHEDULER_DLQ = 'scheduler DLQ';
const PUSH_EVENTS_DLQ = 'push events DLQ';
const EVENT_BUS = 'event bus';
const WEBHOOK_SECRET = 'webhook secret';
const REGISTRY_TOKEN_SECRET = 'registry token key';
const SECRETS_KEY = 'secrets key';

/** A statement's Condition, with keys in a stable order, as it appears in a grant line after `if`. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/**
 * The one condition under which a function may use the secrets key: KMS requests for registry secrets (the
 * sealer's purpose, only its four context keys). A grant on the key without it, or with another, is a finding.
 */
const FOR_REGISTRY_SECRETS = ` if ${canonical({
  StringEquals: { 'kms:EncryptionContext:purpose': 'imagestreams/registry-secret' },
  'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['purpose', 'namespace', 'secret', 'uid'] },
})}`;

type Grants = Record<string, string[]>;
const on = (resources: string[], ...actions: string[]): Grants =>
  Object.fromEntries(actions.map((a) => [a, resources]));

/** Written out here, not imported from the stack's constants: widening those must fail this test. */
const LOGS = on([OWN_LOG_GROUP], 'logs:CreateLogStream', 'logs:PutLogEvents');
/** Active tracing: every function sends its segments to X-Ray (actions that exist only on "*"). */
const TRACES = on(['*'], 'xray:PutTraceSegments', 'xray:PutTelemetryRecords');
const TABLE_READ_WRITE = on(
  [TABLE, ...TABLE_INDEXES],
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
);
const ECR_PULL = {
  ...on(['*'], 'ecr:GetAuthorizationToken'),
  ...on([ECR_REPOSITORIES], 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:ListImages'),
};

/**
 * Exactly what each function's role may do, by the ServiceStack property holding the function. Lambda-managed
 * polling (the stream and queue event sources, the stream's on-failure queue) is granted by CDK on the specific
 * resource; the rest is the stack's own grants.
 */
const EXPECTED: Record<string, Grants> = {
  apiFunction: {
    ...LOGS,
    ...TRACES,
    ...TABLE_READ_WRITE,
    ...ECR_PULL,
    ...on([IMPORT_QUEUE], 'sqs:SendMessage'),
    ...on([WEBHOOK_SECRET], 'secretsmanager:GetSecretValue'),
    // Seals registry secrets on write, opens them for synchronous imports.
    ...on([SECRETS_KEY + FOR_REGISTRY_SECRETS], 'kms:GenerateDataKey', 'kms:Decrypt'),
  },
  changeProcessor: {
    ...LOGS,
    ...TRACES,
    ...on(
      [TABLE_STREAM],
      'dynamodb:ListStreams',
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
    ),
    // The watch log: reads of heads, tags and images, its records, counter and probe answers (no index).
    ...on(
      [TABLE],
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ),
    ...on([EVENT_BUS], 'events:PutEvents'),
    ...on([IMPORT_QUEUE, STREAM_DLQ], 'sqs:SendMessage'),
    // The event source's on-failure destination, as CDK grants it.
    ...on([STREAM_DLQ], 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'),
  },
  jobWorker: {
    ...LOGS,
    ...TRACES,
    ...TABLE_READ_WRITE,
    ...ECR_PULL,
    // Opens registry secrets for imports; never seals one.
    ...on([SECRETS_KEY + FOR_REGISTRY_SECRETS], 'kms:Decrypt'),
    // Sends follow-up and deferred jobs; the queue event source receives, deletes and hides messages.
    ...on(
      [IMPORT_QUEUE],
      'sqs:SendMessage',
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
    ),
  },
  watchFunction: {
    ...LOGS,
    ...TRACES,
    // Reads (watches, lists, gets, access checks) and the put of a settle probe; nothing else is written.
    ...on(
      [TABLE, ...TABLE_INDEXES],
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:ConditionCheckItem',
      'dynamodb:PutItem',
    ),
  },
  schedulerTick: {
    ...LOGS,
    ...TRACES,
    // Jobs; and its asynchronous invocations that failed after Lambda's retries (the function's DLQ).
    ...on([IMPORT_QUEUE, SCHEDULER_DLQ], 'sqs:SendMessage'),
  },
  registryFunction: {
    ...LOGS,
    ...TRACES,
    // Streams, projects, bindings and secrets; pulled manifests kept in batches. No index, no update or delete.
    ...on([TABLE], 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'),
    // Pulls images of the project's streams: manifests and layer downloads, no listing.
    ...on(['*'], 'ecr:GetAuthorizationToken'),
    ...on([ECR_REPOSITORIES], 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'),
    // Opens the project's registry secrets to pull with them; never seals one.
    ...on([SECRETS_KEY + FOR_REGISTRY_SECRETS], 'kms:Decrypt'),
    ...on([REGISTRY_TOKEN_SECRET], 'secretsmanager:GetSecretValue'),
  },
  pushEvents: {
    ...LOGS,
    ...TRACES,
    // Claims coalescing windows (a conditional update of one item); no index, no read.
    ...on([TABLE], 'dynamodb:UpdateItem'),
    // Jobs; and its asynchronous invocations that failed after Lambda's retries (the function's DLQ).
    ...on([IMPORT_QUEUE, PUSH_EVENTS_DLQ], 'sqs:SendMessage'),
  },
};

/** `action on resource` lines, sorted: the form the comparison and its failure message use. */
const lines = (g: Grants) =>
  Object.entries(g)
    .flatMap(([a, rs]) => rs.map((r) => `${a} on ${r}`))
    .sort();

/**
 * Functions CDK adds to back custom resources (log retention, bucket deployments, AwsCustomResource, provider
 * frameworks, auto-delete): whatever a custom resource names as its ServiceToken. They run only during
 * deployments; the service's own functions are never a ServiceToken.
 */
function customResourceHandlers(t: Json): Set<string> {
  const ids = new Set<string>();
  for (const r of Object.values(t.Resources as Record<string, Json>)) {
    if (!(String(r.Type).startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource'))
      continue;
    const token = r.Properties?.ServiceToken;
    if (token?.['Fn::GetAtt']?.[1] === 'Arn') ids.add(token['Fn::GetAtt'][0]);
  }
  return ids;
}

/** Names a policy's Resource entry, or says it is unrecognised (which then matches nothing expected). */
function resourceNamer(s: Synth, ownLogGroup: string | undefined): (resource: unknown) => string {
  const tableId = s.stateful.getLogicalId(s.stateful.table.node.defaultChild as CfnElement);
  const keyId = s.stateful.getLogicalId(s.stateful.secretsKey.node.defaultChild as CfnElement);
  const byGetAtt = new Map<string, string>([
    [logicalId(s, s.service.importQueue), IMPORT_QUEUE],
    [logicalId(s, s.service.streamDeadLetterQueue), STREAM_DLQ],
    [logicalId(s, s.service.schedulerDeadLetterQueue), SCHEDULER_DLQ],
    [logicalId(s, s.service.pushEventsDeadLetterQueue), PUSH_EVENTS_DLQ],
    [logicalId(s, s.service.eventBus), EVENT_BUS],
  ]);
  const secretId = logicalId(s, s.service.webhookSecret);
  const registryKeyId = logicalId(s, s.service.registryTokenSecret);
  const tableExport = (v: unknown, attribute: 'Arn' | 'StreamArn') => {
    const name = (v as Json | undefined)?.['Fn::ImportValue'];
    return typeof name === 'string' && name.includes(`FnGetAtt${tableId}${attribute}`);
  };
  const keyExport = (v: unknown) => {
    const name = (v as Json | undefined)?.['Fn::ImportValue'];
    return typeof name === 'string' && name.includes(`FnGetAtt${keyId}Arn`);
  };
  return (resource) => {
    if (resource === '*') return '*';
    const r = resource as Json;
    if (tableExport(r, 'Arn')) return TABLE;
    if (tableExport(r, 'StreamArn')) return TABLE_STREAM;
    if (keyExport(r)) return SECRETS_KEY;
    const join = r['Fn::Join'];
    if (
      join?.[0] === '' &&
      join[1]?.length === 2 &&
      tableExport(join[1][0], 'Arn') &&
      typeof join[1][1] === 'string' &&
      TABLE_INDEXES.includes(`table index ${join[1][1].replace(/^\/index\//, '')}`)
    )
      return `table index ${join[1][1].replace(/^\/index\//, '')}`;
    if (
      JSON.stringify(r) ===
      JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:*:*:repository/*']] })
    )
      return ECR_REPOSITORIES;
    if (JSON.stringify(r) === JSON.stringify({ Ref: secretId })) return WEBHOOK_SECRET;
    if (JSON.stringify(r) === JSON.stringify({ Ref: registryKeyId })) return REGISTRY_TOKEN_SECRET;
    const getAtt = r['Fn::GetAtt'];
    if (getAtt?.[1] === 'Arn') {
      if (getAtt[0] === ownLogGroup) return OWN_LOG_GROUP;
      const known = byGetAtt.get(getAtt[0]);
      if (known) return known;
    }
    return `unrecognised ${JSON.stringify(resource)}`;
  };
}

interface RoleReport {
  /** What the role may do, `action on resource` (then ` if <condition>` for a conditional grant), sorted. */
  grants: string[];
  findings: string[];
}

/** Everything the function's execution role is allowed, from every policy in the template attached to it. */
function roleReport(s: Synth, fnId: string): RoleReport {
  const t = s.template;
  const fn = t.Resources[fnId] as Json;
  const findings: string[] = [];
  const roleId = fn.Properties.Role?.['Fn::GetAtt']?.[0];
  const role: Json | undefined = roleId ? t.Resources[roleId] : undefined;
  if (role?.Type !== 'AWS::IAM::Role')
    return { grants: [], findings: [`${fnId}: its role is not a role of this template`] };
  const principals = (role.Properties.AssumeRolePolicyDocument.Statement as Json[]).map((st) =>
    JSON.stringify(st.Principal),
  );
  if (JSON.stringify(principals) !== JSON.stringify([JSON.stringify({ Service: 'lambda.amazonaws.com' })]))
    findings.push(`${fnId}: role ${roleId} is assumable by ${principals.join(', ')}`);

  const documents: Json[] = (role.Properties.Policies ?? []).map((p: Json) => p.PolicyDocument);
  for (const arn of role.Properties.ManagedPolicyArns ?? []) {
    const local = arn?.Ref && t.Resources[arn.Ref];
    if (local?.Type === 'AWS::IAM::ManagedPolicy') documents.push(local.Properties.PolicyDocument);
    else findings.push(`${fnId}: role ${roleId} has the managed policy ${JSON.stringify(arn)}`);
  }
  const attachedToRole = (p: Json) =>
    (p.Properties.Roles ?? []).some((r: unknown) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }));
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'])
    for (const [, p] of resourcesOf(t, type))
      if (attachedToRole(p)) documents.push(p.Properties.PolicyDocument);

  const ownLogGroup = fn.Properties.LoggingConfig?.LogGroup?.Ref as string | undefined;
  const name = resourceNamer(s, ownLogGroup);
  const grants = new Set<string>();
  for (const st of documents.flatMap((d) => d.Statement as Json[])) {
    if (st.Effect !== 'Allow') continue;
    if (st.NotAction || st.NotResource)
      findings.push(`${fnId}: NotAction/NotResource in ${JSON.stringify(st)}`);
    const actions = [st.Action ?? []].flat() as string[];
    const resources = [st.Resource ?? []].flat();
    const condition = st.Condition ? ` if ${canonical(st.Condition)}` : '';
    for (const action of actions) {
      if (action.includes('*')) findings.push(`${fnId}: wildcard action ${action}`);
      for (const resource of resources) {
        const named = name(resource);
        if (named === '*' && !STAR_ONLY_ACTIONS.has(action))
          findings.push(`${fnId}: ${action} on * (it has resource types: name them)`);
        grants.add(`${action} on ${named}${condition}`);
      }
    }
  }
  return { grants: [...grants].sort(), findings };
}

/** Every function of the template against {@link EXPECTED}; findings for anything more, less or unaccounted for. */
function grantFindings(s: Synth): string[] {
  const findings: string[] = [];
  const expectedIds = new Map(
    Object.keys(EXPECTED).map((prop) => {
      const fn = (s.service as unknown as Record<string, { node: { defaultChild?: unknown } }>)[prop];
      if (!fn) throw new Error(`ServiceStack has no ${prop}`);
      return [logicalId(s, fn), prop];
    }),
  );
  const helpers = customResourceHandlers(s.template);
  for (const [id] of resourcesOf(s.template, 'AWS::Lambda::Function')) {
    if (helpers.has(id) && !expectedIds.has(id)) continue;
    const prop = expectedIds.get(id);
    if (!prop) {
      findings.push(`${id}: a function with no row in the expected grants`);
      continue;
    }
    expectedIds.delete(id);
    const report = roleReport(s, id);
    findings.push(...report.findings);
    const expected = lines(EXPECTED[prop]!);
    for (const g of report.grants)
      if (!expected.includes(g)) findings.push(`${prop}: more than expected: ${g}`);
    for (const g of expected) if (!report.grants.includes(g)) findings.push(`${prop}: missing: ${g}`);
  }
  for (const prop of expectedIds.values()) findings.push(`${prop}: not in the template`);
  return findings;
}

// ---------------------------------------------------------------------------------------------------------------

describe('ServiceStack API authorization', () => {
  let s: Synth;
  beforeAll(() => {
    s = synth();
  });

  it('puts the JWT authorizer on every route but the health probes, POST /webhooks/{format} and ANY /iam/{proxy+} (IAM)', () => {
    expect(resourcesOf(s.template, 'AWS::ApiGatewayV2::Route').length).toBeGreaterThan(
      Object.keys(ROUTES_WITHOUT_JWT).length,
    );
    expect(routeFindings(s.template)).toEqual([]);
  });

  it('takes the JWT issuer and audience from the OidcIssuer / OidcAudience parameters, the token from Authorization', () => {
    const authorizers = resourcesOf(s.template, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]![1].Properties).toEqual({
      ApiId: { Ref: logicalId(s, s.service.api) },
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: { Ref: 'OidcIssuer' }, Audience: { Ref: 'OidcAudience' } },
      Name: expect.any(String),
    });
    expect(s.template.Parameters.OidcIssuer).toMatchObject({ Type: 'String' });
    expect(s.template.Parameters.OidcIssuer.Default).toBeUndefined();
    expect(s.template.Parameters.OidcAudience).toMatchObject({ Type: 'CommaDelimitedList' });
    expect(s.template.Parameters.OidcAudience.Default).toBeUndefined();
  });
});

describe('ServiceStack function roles', () => {
  let s: Synth;
  beforeAll(() => {
    s = synth();
  });

  it('gives each function exactly the actions of its row, each on the resources it needs', () => {
    expect(grantFindings(s)).toEqual([]);
  });

  it.each(Object.keys(EXPECTED))('%s: grants as expected (readable diff)', (prop) => {
    const id = logicalId(
      s,
      (s.service as unknown as Record<string, { node: { defaultChild?: unknown } }>)[prop]!,
    );
    const report = roleReport(s, id);
    expect(report.findings).toEqual([]);
    expect(report.grants).toEqual(lines(EXPECTED[prop]!));
  });

  it('has no wildcard action and no * resource outside the actions that only exist on *', () => {
    const all = resourcesOf(s.template, 'AWS::IAM::Policy').flatMap(
      ([, p]) => p.Properties.PolicyDocument.Statement as Json[],
    );
    for (const st of all) {
      const actions = [st.Action].flat() as string[];
      for (const a of actions) expect(a).not.toContain('*');
      if ([st.Resource].flat().includes('*')) for (const a of actions) expect(STAR_ONLY_ACTIONS).toContain(a);
    }
  });
});

describe('the checks themselves', () => {
  it('report a route added without an authorizer, or with the wrong one', () => {
    const s = synth(({ service }) => {
      const integration = new HttpLambdaIntegration('extra', service.apiFunction);
      service.api.addRoutes({ path: '/debug', methods: [HttpMethod.GET], integration });
      service.api.addRoutes({
        path: '/admin/{proxy+}',
        methods: [HttpMethod.ANY],
        integration,
        authorizer: new HttpIamAuthorizer(),
      });
    });
    expect(routeFindings(s.template)).toEqual([
      expect.stringMatching(/^GET \/debug .*authorization NONE, expected JWT$/),
      expect.stringMatching(/^GET \/debug .*expected the JWT authorizer$/),
      expect.stringMatching(/^ANY \/admin\/\{proxy\+\} .*authorization AWS_IAM, expected JWT$/),
      expect.stringMatching(/^ANY \/admin\/\{proxy\+\} .*expected the JWT authorizer$/),
    ]);
  });

  it('report widened grants: broader table access, wildcard actions, * resources, managed policies', () => {
    const s = synth(({ service, stateful }) => {
      stateful.table.grantReadData(service.pushEvents);
      service.schedulerTick.addToRolePolicy(new PolicyStatement({ actions: ['sqs:*'], resources: ['*'] }));
      service.jobWorker.addToRolePolicy(
        new PolicyStatement({ actions: ['ecr:BatchGetImage'], resources: ['*'] }),
      );
      service.changeProcessor.role!.addManagedPolicy(
        ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
      );
    });
    const findings = grantFindings(s);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^pushEvents: more than expected: dynamodb:Query on table$/),
        expect.stringMatching(/: wildcard action sqs:\*$/),
        expect.stringMatching(/: sqs:\* on \*/),
        expect.stringMatching(/^schedulerTick: more than expected: sqs:\* on \*$/),
        expect.stringMatching(/: ecr:BatchGetImage on \*/),
        expect.stringMatching(/^jobWorker: more than expected: ecr:BatchGetImage on \*$/),
        expect.stringMatching(/managed policy .*AWSLambdaBasicExecutionRole/),
      ]),
    );
    expect(findings.filter((f) => f.startsWith('apiFunction'))).toEqual([]);
  });

  it('report a function with no row, a missing grant, and an unrecognised resource; skip custom-resource handlers', () => {
    const s = synth(({ service }) => {
      new LambdaFunction(service, 'stray-fn', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => {};'),
      });
      // A CDK helper: a Custom::LogRetention and the function behind it, whose role logs:* on *.
      new LogRetention(service, 'retention', { logGroupName: 'example', retention: RetentionDays.ONE_DAY });
      service.apiFunction.addToRolePolicy(
        new PolicyStatement({
          actions: ['sqs:SendMessage'],
          // A queue no row names (the scheduler DLQ, used here before, is now one a function may send to).
          resources: [new Queue(service, 'stray-queue').queueArn],
        }),
      );
    });
    const helpers = customResourceHandlers(s.template);
    expect(helpers.size).toBe(1);
    const findings = grantFindings(s);
    expect(findings).toHaveLength(2);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^strayfn.*: a function with no row in the expected grants$/),
        expect.stringMatching(
          /^apiFunction: more than expected: sqs:SendMessage on unrecognised .*strayqueue/,
        ),
      ]),
    );
    expect(findings.some((f) => [...helpers].some((h) => f.includes(h)))).toBe(false);
  });

  it('report the secrets key granted without its condition, with another one, or to a function that needs none', () => {
    const s = synth(({ service, stateful }) => {
      stateful.secretsKey.grantDecrypt(service.schedulerTick);
      service.jobWorker.addToRolePolicy(
        new PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [stateful.secretsKey.keyArn] }),
      );
      service.apiFunction.addToRolePolicy(
        new PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [stateful.secretsKey.keyArn],
          conditions: { StringLike: { 'kms:EncryptionContext:purpose': '*' } },
        }),
      );
    });
    expect(grantFindings(s).sort()).toEqual([
      'apiFunction: more than expected: kms:Decrypt on secrets key if {"StringLike":{"kms:EncryptionContext:purpose":"*"}}',
      'jobWorker: more than expected: kms:GenerateDataKey on secrets key',
      'schedulerTick: more than expected: kms:Decrypt on secrets key',
    ]);
  });

  it('report a grant the table expects but the stack no longer makes', () => {
    const s = synth();
    const saved = EXPECTED.schedulerTick!;
    EXPECTED.schedulerTick = { ...saved, ...on([IMPORT_QUEUE], 'sqs:GetQueueUrl') };
    try {
      expect(grantFindings(s)).toEqual(['schedulerTick: missing: sqs:GetQueueUrl on import queue']);
    } finally {
      EXPECTED.schedulerTick = saved;
    }
  });
});
