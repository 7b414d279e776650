import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient, ensureTable } from '../../functions/local/dynamodb-local';
import { buildLambdaBundle, lambdaEntries } from '../../infra/bundle-entries';
import { contractErrors } from '../support/events';
import { type RecordedCall, startFakeAws } from '../support/fake-aws';

/**
 * Each Lambda bundle, built as CDK builds it, invoked in a fresh Node process with AWS's documented event shapes,
 * against DynamoDB Local and a recording fake of SQS, EventBridge, KMS and Secrets Manager (the SDK's
 * AWS_ENDPOINT_URL_* overrides). What an on-call engineer relies on is checked on the real output: structured log
 * lines with the trigger's id and cold start, EMF metrics, PutEvents entries valid against docs/events/v1, and none
 * of the secrets the requests carried anywhere in it.
 */

const ACCOUNT = '123456789012';
const KMS_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;
const WEBHOOK_SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:webhook-AbCdEf`;
const WEBHOOK_SECRET = 'webhook-shared-secret-7f3a9c2e41d8b6';
const REGISTRY_PASSWORD = 'registry-pa55word-e9d1c4b7';
const REGISTRY_AUTH = Buffer.from(`robot:${REGISTRY_PASSWORD}`).toString('base64');
// A JWT-shaped bearer token as a client sends it (API Gateway has verified it and passes its claims).
const JWT = [
  Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url'),
  Buffer.from(JSON.stringify({ sub: 'alice', groups: ['system:cluster-admins'] })).toString('base64url'),
  'c2lnbmF0dXJlLW9mLXRoZS1pZGVudGl0eS1wcm92aWRlcg',
].join('.');
const DIGEST = `sha256:${createHash('sha256').update('handler-invocation').digest('hex')}`;

const dir = mkdtempSync(join(tmpdir(), 'imagestreams-invoke-'));
const table = `invoke${Math.random().toString(36).slice(2, 8)}`;
let aws: Awaited<ReturnType<typeof startFakeAws>>;
let env: Record<string, string>;
/** What the functions sent to the X-Ray daemon address (a loopback UDP socket): segment documents. */
const traceDocuments: Array<Record<string, any>> = [];
let daemon: Socket;
const registryAuthorizations: string[] = [];
/** Everything every invocation printed, for the secret search at the end. */
const everything: string[] = [];

beforeAll(async () => {
  aws = await startFakeAws({
    secrets: { [WEBHOOK_SECRET_ARN]: WEBHOOK_SECRET },
    // A registry that wants Basic credentials and has no such manifest.
    registry: (req, res) => {
      if (req.headers.authorization) registryAuthorizations.push(req.headers.authorization);
      if (!req.headers.authorization)
        return res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
      if (req.url === '/v2/')
        return res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    },
  });
  daemon = createSocket('udp4');
  daemon.on('message', (msg) => {
    // Each datagram is a header line and one segment document.
    const [, body] = msg.toString('utf8').split('\n');
    if (body) traceDocuments.push(JSON.parse(body));
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  const ddb = createDynamoDbClient(inject('dynamodbEndpoint'));
  await ensureTable(ddb, table);
  ddb.destroy();
  env = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key-for-the-loopback-endpoint',
    AWS_ENDPOINT_URL_SQS: aws.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: aws.url,
    AWS_ENDPOINT_URL_KMS: aws.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    TABLE_NAME: table,
    DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
    IMPORT_QUEUE_URL: `${aws.url}/${ACCOUNT}/imagestreams-jobs`,
    EVENT_BUS_NAME: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/imagestreams`,
    SECRETS_KMS_KEY_ARN: KMS_KEY,
    WEBHOOK_SECRET_ARN,
    ALLOWED_PRIVATE_REGISTRIES: aws.host,
    INSECURE_REGISTRIES: aws.host,
    REGISTRY_TIMEOUT_SECONDS: '5',
    // What Lambda sets for a traced function: the daemon's address (here a loopback socket) and the task root.
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
    LAMBDA_TASK_ROOT: dir,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    _HANDLER: 'index.handler',
  };
}, 120_000);

afterAll(async () => {
  daemon?.close();
  await aws?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Invocation {
  logs: Array<Record<string, any>>;
  emf: Array<Record<string, any>>;
  results: unknown[];
  output: string;
}

/** Builds one function's bundle as CDK does and runs `events` through its handler in one fresh process. */
async function invoke(name: keyof typeof lambdaEntries, events: unknown[]): Promise<Invocation> {
  const bundle = join(dir, `${name}.mjs`);
  await buildLambdaBundle(lambdaEntries[name], bundle);
  const eventsFile = join(dir, `${name}-events.json`);
  writeFileSync(eventsFile, JSON.stringify(events));
  const driver = join(dir, `${name}-driver.mjs`);
  writeFileSync(
    driver,
    `import { readFileSync } from 'node:fs';
const { handler } = await import(${JSON.stringify(bundle)});
const events = JSON.parse(readFileSync(${JSON.stringify(eventsFile)}, 'utf8'));
for (const [i, event] of events.entries()) {
  const context = {
    functionName: 'imagestreams-${name}', functionVersion: '$LATEST', memoryLimitInMB: '512',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:${ACCOUNT}:function:imagestreams-${name}',
    awsRequestId: 'lambda-request-' + i, logGroupName: '/aws/lambda/imagestreams-${name}', logStreamName: 's',
    callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 30000,
  };
  // Lambda sets the invocation's trace header before each invocation.
  process.env._X_AMZN_TRACE_ID = 'Root=${traceId(name, 0).slice(0, -8)}' + String(i).padStart(8, '0') + ';Parent=53995c3f42cd8ad8;Sampled=1';
  const result = await handler(event, context);
  process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n');
}
// Segments go to the daemon over UDP: let the last datagrams leave before the process ends.
setTimeout(() => process.exit(0), 200);
`,
  );
  const node = join(process.cwd(), 'node_modules/.bin/node');
  const output = await new Promise<string>((resolve, reject) =>
    execFile(
      node,
      [driver],
      { env: { ...env, AWS_LAMBDA_FUNCTION_NAME: `imagestreams-${name}` }, timeout: 60_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${name}: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout + stderr),
    ),
  );
  everything.push(output);
  const lines = output.split('\n').filter((l) => l.trim());
  const results = lines.filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)));
  const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  // Nothing else: every line a function prints is structured.
  expect(lines.filter((l) => !l.startsWith('RESULT ') && !l.startsWith('{'))).toEqual([]);
  return { logs: json.filter((j) => !j._aws), emf: json.filter((j) => j._aws), results, output };
}

/** The X-Ray trace id the driver gives invocation `i` of function `name`. */
function traceId(name: string, i: number): string {
  return `1-6754a1b0-${createHash('md5').update(name).digest('hex').slice(0, 16)}${String(i).padStart(8, '0')}`;
}

/** The segment documents of one invocation, by name, each with the handler subsegment as its parent. */
function traceOf(name: keyof typeof lambdaEntries, i: number) {
  const docs = traceDocuments.filter((d) => d.trace_id === traceId(name, i));
  const root = docs.find((d) => d.name === '## index.handler');
  expect(root, `${name} invocation ${i} traced`).toBeDefined();
  const children = docs.filter((d) => d !== root);
  for (const c of children) expect(c.parent_id, c.name).toBe(root!.id);
  return { root: root!, names: children.map((c) => c.name), children };
}

/** The values EMF documents gave `metric` (each document's dimension values must match `dimensions`). */
function emitted(inv: Invocation, metric: string, dimensions: Record<string, string> = {}): number[] {
  const out: number[] = [];
  for (const doc of inv.emf) {
    const [directive] = doc._aws.CloudWatchMetrics;
    if (directive.Namespace !== 'ImageStreams') continue;
    if (!directive.Metrics.some((m: { Name: string }) => m.Name === metric)) continue;
    expect(directive.Dimensions[0]).toContain('service');
    expect(doc.service).toBe('imagestreams');
    if (Object.entries(dimensions).some(([k, v]) => doc[k] !== v)) continue;
    out.push(...[doc[metric]].flat());
  }
  return out;
}

function apiEvent(
  method: string,
  path: string,
  opts: { body?: unknown; user?: string; groups?: string[]; query?: string; id: string },
) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: opts.query ?? '',
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      ...(opts.user ? { authorization: `Bearer ${JWT}` } : {}),
    },
    ...(opts.query ? { queryStringParameters: Object.fromEntries(new URLSearchParams(opts.query)) } : {}),
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: opts.id,
      routeKey: '$default',
      stage: '$default',
      time: '06/Dec/2026:12:00:00 +0000',
      timeEpoch: 1_796_558_400_000,
      ...(opts.user
        ? {
            authorizer: {
              jwt: {
                claims: { sub: opts.user, groups: `[${(opts.groups ?? []).join(' ')}]` },
                scopes: null,
              },
            },
          }
        : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body), isBase64Encoded: false } : {}),
  };
}

const admin = { user: 'alice', groups: ['system:cluster-admins'] };

describe('the bundled handlers, invoked as Lambda invokes them', () => {
  let api: Invocation;

  it('API: one request line per request with its request id and caller, denials and imports counted', async () => {
    api = await invoke('api', [
      apiEvent('POST', '/apis/project.openshift.io/v1/projectrequests', {
        ...admin,
        id: 'apigw-1',
        body: { kind: 'ProjectRequest', apiVersion: 'project.openshift.io/v1', metadata: { name: 'demo' } },
      }),
      apiEvent('POST', '/api/v1/namespaces/demo/secrets', {
        ...admin,
        id: 'apigw-2',
        body: {
          kind: 'Secret',
          apiVersion: 'v1',
          metadata: { name: 'pull' },
          type: 'kubernetes.io/dockerconfigjson',
          data: {
            '.dockerconfigjson': Buffer.from(
              JSON.stringify({ auths: { [aws.host]: { auth: REGISTRY_AUTH } } }),
            ).toString('base64'),
          },
        },
      }),
      apiEvent('POST', '/apis/image.openshift.io/v1/namespaces/demo/imagestreams', {
        ...admin,
        id: 'apigw-3',
        body: { kind: 'ImageStream', apiVersion: 'image.openshift.io/v1', metadata: { name: 'app' } },
      }),
      apiEvent('POST', '/apis/image.openshift.io/v1/namespaces/demo/imagestreammappings', {
        ...admin,
        id: 'apigw-4',
        body: {
          kind: 'ImageStreamMapping',
          apiVersion: 'image.openshift.io/v1',
          metadata: { name: 'app', namespace: 'demo' },
          tag: 'v1',
          image: { metadata: { name: DIGEST }, dockerImageReference: `quay.io/x/y@${DIGEST}` },
        },
      }),
      apiEvent('POST', '/apis/image.openshift.io/v1/namespaces/demo/imagestreamimports', {
        ...admin,
        id: 'apigw-5',
        body: {
          kind: 'ImageStreamImport',
          apiVersion: 'image.openshift.io/v1',
          metadata: { name: 'app' },
          spec: {
            import: true,
            images: [
              {
                from: { kind: 'DockerImage', name: `${aws.host}/team/app:v2` },
                to: { name: 'v2' },
                importPolicy: { insecure: true },
              },
            ],
          },
        },
      }),
      apiEvent('GET', '/apis/image.openshift.io/v1/namespaces/demo/imagestreams', {
        user: 'mallory',
        groups: [],
        id: 'apigw-6',
      }),
      apiEvent('POST', '/webhooks/distribution', {
        id: 'apigw-7',
        query: `token=${WEBHOOK_SECRET}`,
        body: { events: [] },
      }),
    ]);
    expect(api.results.map((r: any) => r.statusCode)).toEqual([201, 201, 201, 201, 201, 403, 202]);
    const requests = api.logs.filter((l) => l.message === 'request');
    expect(requests).toHaveLength(7);
    requests.forEach((line, i) => {
      expect(line).toMatchObject({
        level: 'INFO',
        service: 'imagestreams',
        function_name: 'imagestreams-api',
        function_request_id: `lambda-request-${i}`,
        correlation_id: `apigw-${i + 1}`,
        cold_start: i === 0,
      });
      expect(typeof line.timestamp).toBe('string');
    });
    // The webhook's query is logged, its token masked.
    expect(requests[6]!.query).toBe('token=[REDACTED]');
    expect(requests.map((l) => l.user)).toEqual([
      'alice',
      'alice',
      'alice',
      'alice',
      'alice',
      'mallory',
      undefined,
    ]);
    // The import went to the registry with the secret's credentials, and failed there.
    expect(registryAuthorizations).toContain(`Basic ${REGISTRY_AUTH}`);
    expect(emitted(api, 'ImportFailed')).toEqual([1]);
    expect(emitted(api, 'ImportResult', { result: 'failed', reason: 'NotFound' })).toEqual([1]);
    // The import's exchanges (ping, challenge, manifest), summed per registry host in each invocation's document.
    const perInvocation = emitted(api, 'RegistryRequests', { registry: aws.host });
    expect(perInvocation).toHaveLength(1);
    expect(perInvocation[0]).toBeGreaterThanOrEqual(2);
    expect(emitted(api, 'AuthorizationDenied')).toEqual([1]);
    expect(aws.calls.map((c) => c.target)).toEqual(
      expect.arrayContaining([
        'TrentService.GenerateDataKey',
        'TrentService.Decrypt',
        'secretsmanager.GetSecretValue',
      ]),
    );
  });

  it('change processor: a stream batch becomes PutEvents entries with resources, valid against the schemas', async () => {
    const ddb = createDynamoDbClient(inject('dynamodbEndpoint'));
    const items = (await ddb.send(new ScanCommand({ TableName: table }))).Items ?? [];
    ddb.destroy();
    const tag = items.find((i) => i.SK?.S === 'T#v1');
    expect(tag).toBeDefined();
    const before = aws.calls.length;
    const inv = await invoke('change-processor', [
      {
        Records: [
          {
            eventID: 'c81e728d9d4c2f636f067f89cc14862c',
            eventName: 'INSERT',
            eventVersion: '1.1',
            eventSource: 'aws:dynamodb',
            awsRegion: 'us-east-1',
            dynamodb: {
              ApproximateCreationDateTime: 1_796_558_400,
              Keys: { PK: tag!.PK, SK: tag!.SK },
              NewImage: tag,
              SequenceNumber: '111',
              SizeBytes: 26,
              StreamViewType: 'NEW_AND_OLD_IMAGES',
            },
            eventSourceARN: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${table}/stream/2026-12-06T00:00:00.000`,
          },
        ],
      },
    ]);
    expect(inv.results).toEqual([{ batchItemFailures: [] }]);
    const puts = aws.calls.slice(before).filter((c: RecordedCall) => c.target === 'AWSEvents.PutEvents');
    const entries = puts.flatMap((c) => c.body.Entries);
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      expect(e.Resources.length).toBeGreaterThan(0);
      expect(e.EventBusName).toBe(env.EVENT_BUS_NAME);
      const envelope = {
        version: '0',
        id: 'x',
        source: e.Source,
        'detail-type': e.DetailType,
        detail: JSON.parse(e.Detail),
      };
      expect(contractErrors(envelope)).toEqual([]);
    }
    expect(emitted(inv, 'EventsPublished')).toEqual([entries.length]);
    expect(emitted(inv, 'TagChanges', { kind: 'created' })).toEqual([1]);
    expect(inv.logs.find((l) => l.message === 'stream batch done')).toMatchObject({
      records: 1,
      cold_start: true,
      correlation_id: 'c81e728d9d4c2f636f067f89cc14862c',
    });
  });

  it('job worker: an SQS batch runs its jobs, per-message ids on the lines, scans and dead letters counted', async () => {
    const now = Date.now();
    const inv = await invoke('job-worker', [
      {
        Records: [
          sqsRecord('msg-scan', {
            kind: 'scan',
            shard: 3,
            from: 0,
            to: 4096,
            cycleEndsAt: now + 900_000 - 1_000,
          }),
          sqsRecord('msg-garbled', '{"kind":"nonsense"'),
        ],
      },
    ]);
    expect(inv.results).toEqual([{ batchItemFailures: [] }]);
    expect(inv.logs.find((l) => l.message === 'job done')).toMatchObject({
      correlation_id: 'msg-scan',
      cold_start: true,
      function_name: 'imagestreams-job-worker',
    });
    expect(inv.logs.find((l) => l.message === 'dropped a malformed job')).toMatchObject({
      level: 'ERROR',
      correlation_id: 'msg-garbled',
    });
    expect(emitted(inv, 'ScheduledScanSucceeded')).toEqual([1]);
    expect(emitted(inv, 'ScheduledTagsChecked')).toEqual([0]);
    expect(emitted(inv, 'SchedulerLag')[0]).toBeGreaterThanOrEqual(1_000);
    expect(emitted(inv, 'JobDeadLettered')).toEqual([1]);
  });

  it('scheduler tick: the Scheduler execution id on its line, the scans queued', async () => {
    const before = aws.calls.length;
    const inv = await invoke('scheduler-tick', [
      { scheduledTime: new Date().toISOString(), executionId: 'sched-exec-0d7f' },
    ]);
    expect((inv.results[0] as { scans: number }).scans).toBeGreaterThan(0);
    expect(inv.logs.find((l) => l.message === 'scheduler tick')).toMatchObject({
      correlation_id: 'sched-exec-0d7f',
      cold_start: true,
    });
    const sent = aws.calls.slice(before).filter((c) => c.target === 'AmazonSQS.SendMessageBatch');
    expect(sent.flatMap((c) => c.body.Entries).length).toBeGreaterThanOrEqual(16);
  });

  it('push events: the ECR event id on its line, the re-check queued', async () => {
    const before = aws.calls.length;
    const inv = await invoke('push-events', [
      {
        version: '0',
        id: '13cde686-328b-6117-af20-0e5566167482',
        'detail-type': 'ECR Image Action',
        source: 'aws.ecr',
        account: ACCOUNT,
        time: '2026-12-06T12:00:00Z',
        region: 'us-east-1',
        resources: [],
        detail: {
          result: 'SUCCESS',
          'repository-name': 'team/app',
          'image-digest': DIGEST,
          'action-type': 'PUSH',
          'image-tag': 'v1',
        },
      },
    ]);
    expect(inv.results).toEqual([{ queued: 1 }]);
    const sent = aws.calls.slice(before).filter((c) => c.target.startsWith('AmazonSQS.SendMessage'));
    expect(sent).toHaveLength(1);
    expect(inv.logs.find((l) => l.message === 'ecr image action')).toMatchObject({
      correlation_id: '13cde686-328b-6117-af20-0e5566167482',
      hints: 1,
    });
  });

  it('traces each invocation: AWS calls and registry exchanges under the handler subsegment', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const first = traceOf('api', 0);
    expect(first.root.annotations).toEqual({ ColdStart: true, Service: 'imagestreams' });
    expect(first.names).toContain('DynamoDB');
    expect(traceOf('api', 1).root.annotations.ColdStart).toBe(false);
    expect(traceOf('api', 1).names).toEqual(expect.arrayContaining(['DynamoDB', 'KMS']));
    // The import: DynamoDB, the secret opened with KMS, then the registry, one subsegment per exchange.
    const imported = traceOf('api', 4);
    expect(imported.names).toEqual(expect.arrayContaining(['DynamoDB', 'KMS', `registry ${aws.host}`]));
    const exchanges = imported.children.filter((c) => c.name === `registry ${aws.host}`);
    expect(exchanges.every((c) => c.namespace === 'remote' && c.annotations.registry === aws.host)).toBe(
      true,
    );
    expect(exchanges.map((c) => c.annotations.status)).toEqual(expect.arrayContaining([401, 404]));
    expect(exchanges.find((c) => c.annotations.status === 404)?.error).toBe(true);
    expect(traceOf('api', 6).names).toContain('SecretsManager');
    expect(traceOf('change-processor', 0).names).toContain('EventBridge');
    expect(traceOf('job-worker', 0).names).toContain('DynamoDB');
    expect(traceOf('scheduler-tick', 0).names).toContain('SQS');
    expect(traceOf('push-events', 0).names).toEqual(expect.arrayContaining(['DynamoDB', 'SQS']));
  });

  it('no token, password, Docker config or data key appears in anything the functions printed', () => {
    expect(api).toBeDefined();
    const all = [...everything, JSON.stringify(traceDocuments)].join('\n');
    const secrets = {
      JWT,
      'JWT signature': JWT.split('.')[2]!,
      WEBHOOK_SECRET,
      REGISTRY_PASSWORD,
      REGISTRY_AUTH,
      'docker config': Buffer.from(
        JSON.stringify({ auths: { [aws.host]: { auth: REGISTRY_AUTH } } }),
      ).toString('base64'),
      ...Object.fromEntries(aws.dataKeys().map((k, i) => [`data key ${i}`, k])),
    };
    expect(aws.dataKeys().length).toBeGreaterThan(0);
    for (const [what, value] of Object.entries(secrets)) expect(all.includes(value), what).toBe(false);
  });
});

function sqsRecord(messageId: string, body: unknown) {
  return {
    messageId,
    receiptHandle: `AQEB${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAFAKE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:${ACCOUNT}:imagestreams-jobs`,
    awsRegion: 'us-east-1',
  };
}
