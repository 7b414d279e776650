import { fileURLToPath } from 'node:url';
import { Aws, CfnOutput, CfnParameter, Duration, Fn, Stack, type StackProps, Token } from 'aws-cdk-lib';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type IHttpRouteAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { CfnRegistry, CfnSchema } from 'aws-cdk-lib/aws-eventschemas';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  FilterCriteria,
  FilterRule,
  type FunctionUrl,
  FunctionUrlAuthType,
  InvokeMode,
  StartingPosition,
} from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
} from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type IQueue, Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { JOB_MAX_RECEIVES } from '../functions/app/jobs/jobs';
import { DEFAULT_EVENT_SOURCE } from '../functions/config';
import { DETAIL_TYPES } from '../functions/core/events/tag-events';
import { HEAD_SK, keys } from '../functions/store/keys';
import { AppFunction, tableActions } from './constructs/app-function';
import { registrySchema, schemaTypeName } from './event-schemas';
import { acknowledgeServiceFindings } from './nag-suppressions';
import { ServiceObservability } from './observability';

export interface ServiceStackProps extends StackProps {
  table: ITableV2;
  /** The KMS key that seals registry secrets (StatefulStack's secretsKey). */
  secretsKey: IKey;
  internalRegistryHostname?: string;
  externalRegistryHostname?: string;
  /** `source` of the events the service publishes (env EVENT_SOURCE). Default `io.imagestreams`. */
  eventSource?: string;
  /** Physical name of the event bus; default a name CloudFormation generates (see the EventBusName output). */
  eventBusName?: string;
  /** How often scheduled tags are re-checked (env IMPORT_INTERVAL_SECONDS). Default 900. */
  importIntervalSeconds?: number;
  /** Global budget of scheduled imports per minute (env SCHEDULED_IMPORTS_PER_MINUTE). Default 60. */
  scheduledImportsPerMinute?: number;
  /**
   * ECR repositories (ARNs) the registry function may pull stream images from (docs/registry.md). Default: the
   * same as imports, every repository the account's credentials reach.
   */
  pullThroughEcrRepositoryArns?: string[];
  /** Reserved concurrency of the registry function (also its throttle: a pull beyond it gets 429). Default 20. */
  registryReservedConcurrency?: number;
  /** Per-registry budget (env SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE). Default 60. */
  scheduledImportsPerRegistryPerMinute?: number;
  /** Push notifications for one repository:tag within this window coalesce (env PUSH_COALESCE_SECONDS). Default 2. */
  pushCoalesceSeconds?: number;
  /**
   * Most job worker invocations the job queue runs at once (the SQS event source's maximum concurrency, 2-1000).
   * Default 10: docs/operations.md, "Concurrency limits".
   */
  jobWorkerMaxConcurrency?: number;
  /** Reserved concurrency of the push events function (also its cap). Default 10: docs/operations.md. */
  pushEventsReservedConcurrency?: number;
  /** Steady-state requests per second the API stage accepts before answering 429. Default 100. */
  apiThrottleRateLimit?: number;
  /** Requests the API stage accepts in a burst above the rate. Default 200. */
  apiThrottleBurstLimit?: number;
}

const entry = (path: string) => fileURLToPath(new URL(`../functions/${path}`, import.meta.url));

/**
 * Who may call the API, as stack parameters (so one template serves Cognito, Okta, GitHub Actions OIDC, ...):
 * people and OIDC workloads send a JWT on `/{proxy+}`; machines with AWS credentials sign (SigV4) requests to
 * `/iam/{proxy+}`, since an HTTP API route takes one authorizer. The handler strips `/iam` (functions/http/identity.ts).
 */
function oidcParameters(scope: Construct) {
  const issuer = new CfnParameter(scope, 'OidcIssuer', {
    type: 'String',
    description:
      'OIDC issuer URL whose JWTs the API accepts (its /.well-known/openid-configuration must be public), e.g. https://cognito-idp.<region>.amazonaws.com/<poolId> or https://token.actions.githubusercontent.com',
    allowedPattern: '^https://[^\\s]+$',
    constraintDescription: 'must be an https:// URL',
  });
  const audience = new CfnParameter(scope, 'OidcAudience', {
    type: 'CommaDelimitedList',
    description: 'Accepted JWT audiences (aud or client_id), comma-separated, e.g. a Cognito app client id',
  });
  const groupsClaim = new CfnParameter(scope, 'OidcGroupsClaim', {
    type: 'String',
    default: 'groups',
    minLength: 1,
    description: "JWT claim holding the caller's groups (cognito:groups for Cognito)",
  });
  const userClaim = new CfnParameter(scope, 'OidcUserClaim', {
    type: 'String',
    default: 'sub',
    minLength: 1,
    description: 'JWT claim naming the caller (falls back to sub when a token lacks it)',
  });
  return {
    /** The registry and watch functions verify the same JWTs themselves (a function URL has no JWT authorizer). */
    verifier: {
      OIDC_ISSUER: issuer.valueAsString,
      OIDC_AUDIENCE: Fn.join(',', audience.valueAsList),
      JWT_USER_CLAIM: userClaim.valueAsString,
      JWT_GROUPS_CLAIM: groupsClaim.valueAsString,
    },
    authorizer: (): IHttpRouteAuthorizer =>
      new HttpJwtAuthorizer('jwt-authorizer', issuer.valueAsString, {
        jwtAudience: audience.valueAsList,
        identitySource: ['$request.header.Authorization'],
      }),
    environment: { JWT_USER_CLAIM: userClaim.valueAsString, JWT_GROUPS_CLAIM: groupsClaim.valueAsString },
  };
}

/**
 * A comma-separated list of group names as a stack parameter. Names hold no whitespace or commas: API Gateway hands
 * a token's groups to the API as one string (`[a b]`) that identity.ts splits on them, so such a name never matches.
 */
const GROUP_LIST = '[^\\s,]+(\\s*,\\s*[^\\s,]+)*';

/**
 * Who administers the service and who may create projects, as stack parameters (env CLUSTER_ADMIN_GROUPS /
 * PROJECT_REQUESTER_GROUPS of every function that builds an app context; functions/config.ts).
 */
function accessParameters(scope: Construct) {
  const clusterAdmins = new CfnParameter(scope, 'ClusterAdminGroups', {
    type: 'String',
    default: '',
    allowedPattern: `^(\\s*${GROUP_LIST}\\s*)?$`,
    constraintDescription:
      'must be a comma-separated list of group names (no whitespace in a name), or empty',
    description:
      "Comma-separated groups whose members are cluster administrators (every verb in every namespace, /images): groups from the OIDC provider's groups claim, or IAM role ARNs (arn:aws:iam::<account>:role/<name>) of SigV4 callers. Empty (the default): no caller is a cluster administrator (tokens cannot carry system: groups).",
  });
  const projectRequesters = new CfnParameter(scope, 'ProjectRequesterGroups', {
    type: 'String',
    default: 'system:authenticated',
    allowedPattern: `^\\s*${GROUP_LIST}\\s*$`,
    constraintDescription:
      'must be a comma-separated list of one or more group names (no whitespace in a name)',
    description:
      'Comma-separated groups whose members may create projects (projectrequests). system:authenticated (the default): every authenticated caller; system:iam: every SigV4 caller.',
  });
  return {
    CLUSTER_ADMIN_GROUPS: clusterAdmins.valueAsString,
    PROJECT_REQUESTER_GROUPS: projectRequesters.valueAsString,
  };
}

/** Path of the route machines call with SigV4; the handler routes `/iam/x` as `/x`. */
const IAM_ROUTE_PATH = '/iam/{proxy+}';

/**
 * Registries are reached through IAM only for ECR; these are the pull-side actions (GetAuthorizationToken and the image and layer reads).
 * GetAuthorizationToken exists only on `*`; the others are repository actions, on any repository (of any account
 * and region: which ones a caller may import from is the service's decision, and other accounts' repository
 * policies still have to allow the pull).
 */
function allowEcrPull(fn: IGrantable, repositories?: string[], listImages = true): void {
  fn.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
  );
  fn.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', ...(listImages ? ['ecr:ListImages'] : [])],
      resources: repositories?.length ? repositories : [`arn:${Aws.PARTITION}:ecr:*:*:repository/*`],
    }),
  );
}

/** Largest blob the registry function streams: Lambda's 200 MB streamed response, less 64 KiB for headers. */
export const MAX_STREAMED_BLOB_BYTES = 200 * 1024 * 1024 - 64 * 1024;

/**
 * Lets `fn` send (SendMessage, SendMessageBatch) to `queue`, nothing more: the functions have the queue's URL, so
 * they need neither GetQueueUrl nor GetQueueAttributes (which `grantSendMessages` adds).
 */
function allowSend(queue: IQueue, fn: IGrantable): void {
  fn.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
  );
}

/** The `purpose` every registry secret's encryption context carries (functions/app/ports/credential-sealer.ts). */
const SECRETS_PURPOSE = 'imagestreams/registry-secret';

/**
 * Lets `fn` use the secrets key for `actions` (GenerateDataKey to seal, Decrypt to open), and only for registry
 * secrets: the request must carry this service's purpose and no encryption context keys but the four the sealer
 * sets. Other uses of the key by the same role (say a bug sending other data to it) are refused by KMS.
 */
function allowSecretsKey(
  key: IKey,
  fn: IGrantable,
  actions: Array<'kms:GenerateDataKey' | 'kms:Decrypt'>,
): void {
  fn.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions,
      resources: [key.keyArn],
      conditions: {
        StringEquals: { 'kms:EncryptionContext:purpose': SECRETS_PURPOSE },
        'ForAllValues:StringEquals': {
          'kms:EncryptionContextKeys': ['purpose', 'namespace', 'secret', 'uid'],
        },
      },
    }),
  );
}

/** How long one job may run in the worker; the queue hides a message for six times that. */
const JOB_WORKER_TIMEOUT = Duration.minutes(5);

/** The scheduler's rate; the tick function is told the same (SCHEDULER_TICK_SECONDS), or it would skip slots. */
const SCHEDULER_TICK = Duration.minutes(1);

/** Route of registry webhooks: no authorizer (registries cannot sign or get tokens), the handler checks the shared secret. */
const WEBHOOK_ROUTE = { path: '/webhooks/{format}', method: HttpMethod.POST } as const;

/** Every queue of the stack: SQS-managed encryption, TLS only. */
const queueDefaults = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true } satisfies QueueProps;

/** A dead-letter queue: kept as long as SQS allows, so failures can be inspected and replayed. */
const dlqProps = { ...queueDefaults, retentionPeriod: Duration.days(14) } satisfies QueueProps;

/** Fails synth (not the first cold start) on a setting the functions' config schema would reject. */
function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Token.isUnresolved(value) && !(Number.isInteger(value) && value >= min && value <= max))
    throw new Error(`ServiceStack: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

function checkEventSource(source: string): string {
  if (!Token.isUnresolved(source) && (!/^[A-Za-z0-9._-]{1,256}$/.test(source) || source.startsWith('aws.')))
    throw new Error(
      `ServiceStack: eventSource must be 1-256 letters, digits, dots, dashes or underscores and not start with "aws.", got "${source}"`,
    );
  return source;
}

/**
 * The stateless part: the HTTP API, the change processor (table stream → events and jobs), the job queue and its
 * worker, the scheduler tick, and ECR push events.
 */
export class ServiceStack extends Stack {
  /** The table (StatefulStack's) the functions use. */
  readonly table: ITableV2;
  readonly api: HttpApi;
  readonly apiFunction: AppFunction;
  readonly eventBus: EventBus;
  readonly importQueue: Queue;
  readonly importDeadLetterQueue: Queue;
  /** Stream batches the change processor gave up on (pointers to the records, not their data). */
  readonly streamDeadLetterQueue: Queue;
  readonly changeProcessor: AppFunction;
  readonly watchFunction: AppFunction;
  readonly watchUrl: FunctionUrl;
  readonly jobWorker: AppFunction;
  readonly schedulerTick: AppFunction;
  readonly schedule: Schedule;
  readonly schedulerDeadLetterQueue: Queue;
  readonly pushEvents: AppFunction;
  readonly ecrPushRule: Rule;
  readonly pushEventsDeadLetterQueue: Queue;
  readonly webhookSecret: Secret;
  /** The events contract as EventBridge schemas (JSON Schema Draft 4). */
  readonly schemaRegistry: CfnRegistry;
  /** Alarms, their topic, the dashboard. */
  readonly observability: ServiceObservability;
  /** The registry (`/v2/`, docs/registry.md): its function and the function URL clients pull through. */
  readonly registryFunction: AppFunction;
  readonly registryUrl: FunctionUrl;
  /** The key registry bearer tokens are signed with. */
  readonly registryTokenSecret: Secret;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    this.table = props.table;
    const eventSource = checkEventSource(props.eventSource ?? DEFAULT_EVENT_SOURCE);
    const importIntervalSeconds = checkInt(
      'importIntervalSeconds',
      props.importIntervalSeconds ?? 900,
      1,
      86_400,
    );
    const oidc = oidcParameters(this);
    const access = accessParameters(this);

    const registryHosts = {
      ...(props.internalRegistryHostname
        ? { INTERNAL_REGISTRY_HOSTNAME: props.internalRegistryHostname }
        : {}),
      ...(props.externalRegistryHostname
        ? { EXTERNAL_REGISTRY_HOSTNAME: props.externalRegistryHostname }
        : {}),
    };
    /**
     * Settings of every function that builds an app context (api, job worker, scheduler tick, push events): they
     * must agree, e.g. the tick computes slot windows with the same interval the worker budgets cycles with.
     */
    const appSettings = {
      RUNTIME_MODE: 'aws',
      ...registryHosts,
      IMPORT_INTERVAL_SECONDS: String(importIntervalSeconds),
      SCHEDULER_TICK_SECONDS: String(SCHEDULER_TICK.toSeconds()),
      SCHEDULED_IMPORTS_PER_MINUTE: String(
        checkInt('scheduledImportsPerMinute', props.scheduledImportsPerMinute ?? 60, 1, 1_000_000),
      ),
      SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE: String(
        checkInt(
          'scheduledImportsPerRegistryPerMinute',
          props.scheduledImportsPerRegistryPerMinute ?? 60,
          1,
          1_000_000,
        ),
      ),
      PUSH_COALESCE_SECONDS: String(checkInt('pushCoalesceSeconds', props.pushCoalesceSeconds ?? 2, 0, 300)),
      // Empty parameter values reach the functions as empty strings, which the config reads as unset (defaults).
      ...access,
    };

    // Events out: a bus of the service's own, archived so a consumer can replay what it missed.
    this.eventBus = new EventBus(this, 'event-bus', {
      ...(props.eventBusName ? { eventBusName: props.eventBusName } : {}),
      description: 'imagestreams: image stream tag events',
    });
    this.eventBus.archive('event-archive', {
      description: 'imagestreams events, for replay by consumers',
      eventPattern: { source: [eventSource] },
      retention: Duration.days(14),
    });
    // The events contract in a schema registry, so consumers can browse it and download code bindings.
    this.schemaRegistry = new CfnRegistry(this, 'event-schemas', {
      description: 'imagestreams: the events the service publishes (contract v1, docs/events.md)',
    });
    for (const detailType of Object.values(DETAIL_TYPES)) {
      new CfnSchema(this, `event-schema-${schemaTypeName(detailType)}`, {
        registryName: this.schemaRegistry.attrRegistryName,
        schemaName: `${eventSource}@${schemaTypeName(detailType)}`,
        type: 'JSONSchemaDraft4',
        description: `detail-type "${detailType}", version 1`,
        content: JSON.stringify(registrySchema(detailType, eventSource)),
      });
    }

    // The job queue: imports (spec changes), scans (scheduler), pushes (ECR, webhooks), sweeps (deleted streams).
    // Construct ids keep their import-* names so the deployed queues are not replaced.
    this.importDeadLetterQueue = new Queue(this, 'import-dlq', dlqProps);
    this.importQueue = new Queue(this, 'import-queue', {
      ...queueDefaults,
      visibilityTimeout: Duration.seconds(JOB_WORKER_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.importDeadLetterQueue, maxReceiveCount: JOB_MAX_RECEIVES },
    });

    this.apiFunction = new AppFunction(this, 'api-fn', {
      entry: entry('handlers/api.ts'),
      description: 'imagestreams HTTP API (image.openshift.io/v1) and registry webhooks',
      environment: {
        ...appSettings,
        ...oidc.environment,
        IMPORT_QUEUE_URL: this.importQueue.queueUrl,
        SECRETS_KMS_KEY_ARN: props.secretsKey.keyArn,
        // API Gateway cuts a request at 29 s: a large create gives up (and takes back what it wrote) before that.
        LARGE_CREATE_TIMEOUT_SECONDS: '25',
      },
    });
    this.apiFunction.bindTable(props.table, 'RW');
    // Seals secrets on POST/PUT; opens them for synchronous imagestreamimports.
    allowSecretsKey(props.secretsKey, this.apiFunction, ['kms:GenerateDataKey', 'kms:Decrypt']);
    // Synchronous imagestreamimports pull from ECR.
    allowEcrPull(this.apiFunction);
    // Webhooks queue push jobs.
    allowSend(this.importQueue, this.apiFunction);
    this.webhookSecret = new Secret(this, 'webhook-secret', {
      description: 'imagestreams: shared secret registry webhooks authenticate with',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    // GetSecretValue only (grantRead adds DescribeSecret, which the handler never calls).
    this.apiFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.webhookSecret.secretArn],
      }),
    );
    this.apiFunction.addEnvironment('WEBHOOK_SECRET_ARN', this.webhookSecret.secretArn);
    // The API reads the secret once per container. Changing this parameter changes the function's configuration,
    // so every later request runs in a new container that reads the secret afresh: the last step of a rotation
    // (docs/operations.md, "Webhook secret rotation").
    const webhookRotation = new CfnParameter(this, 'WebhookRotation', {
      type: 'String',
      default: '1',
      allowedPattern: '^[A-Za-z0-9._-]{1,64}$',
      description:
        'Change after putting a new value into the webhook secret: the API then reads the new value at once (every container is replaced)',
    });
    this.apiFunction.addEnvironment('WEBHOOK_ROTATION', webhookRotation.valueAsString);

    // Table stream → change processor → watch log, events on the bus, jobs on the queue. Of the table it reads
    // streams, tags and images (to log each change's object) and writes the watch log's records and answers.
    this.streamDeadLetterQueue = new Queue(this, 'stream-dlq', dlqProps);
    this.changeProcessor = new AppFunction(this, 'change-processor-fn', {
      entry: entry('handlers/change-processor.ts'),
      description: 'imagestreams change processor: table changes become events and jobs',
      timeout: Duration.seconds(60),
      memorySize: 512,
      environment: {
        RUNTIME_MODE: 'aws',
        TABLE_NAME: props.table.tableName,
        ...registryHosts,
        IMPORT_QUEUE_URL: this.importQueue.queueUrl,
        // The ARN (PutEvents takes a name or an ARN): the publisher derives the partition, region and account
        // of the events' `resources` from it.
        EVENT_BUS_NAME: this.eventBus.eventBusArn,
        EVENT_SOURCE: eventSource,
      },
    });
    allowSend(this.importQueue, this.changeProcessor);
    this.eventBus.grantPutEventsTo(this.changeProcessor);
    // The watch log (functions/store/watch-log.ts): reads of heads, tags and images by key, a transaction per
    // logged change (conditional update of the object's last entry, put of the record), the counter, probe answers.
    this.changeProcessor.bindTable(
      props.table,
      [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ],
      { indexes: false },
    );
    this.changeProcessor.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        bisectBatchOnError: true,
        retryAttempts: 10,
        reportBatchItemFailures: true,
        // Below the stream's 24 h retention: a batch given up on is reported to the DLQ while the records it
        // points at can still be read from the stream (the DLQ message holds shard and sequence numbers, not data),
        // leaving half a day to replay them. Unbounded (the default) would lose them silently when they expire.
        maxRecordAge: Duration.hours(12),
        onFailure: new SqsDlq(this.streamDeadLetterQueue),
        filters: [
          // Tag records (events, import jobs); secrets and history never reach the function. The key prefixes are
          // the store's own (functions/store/keys.ts), which also turns the records into changes.
          FilterCriteria.filter({ dynamodb: { Keys: { SK: { S: FilterRule.beginsWith(keys.tagPrefix) } } } }),
          // Stream heads: each change is an imagestream watch event; a removed one also queues the sweep of the
          // stream's records, whose tag removals in turn yield the `deleted` events.
          FilterCriteria.filter({ dynamodb: { Keys: { SK: { S: FilterRule.isEqual(HEAD_SK) } } } }),
          // Settle probes of the watch log (new ones only), answered once what came before them is logged.
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: {
              Keys: {
                PK: { S: FilterRule.isEqual(keys.watchLogPk) },
                SK: { S: FilterRule.beginsWith(keys.watchProbePrefix) },
              },
            },
          }),
        ],
      }),
    );

    // Watches stream, which API Gateway cannot do: a function URL in response-streaming mode serves them (and
    // the other reads kubectl makes around a watch), checking the JWT itself (docs/watch.md).
    this.watchFunction = new AppFunction(this, 'watch-fn', {
      entry: entry('handlers/watch.ts'),
      description: 'imagestreams watches (function URL, response streaming) and reads',
      timeout: Duration.minutes(15),
      memorySize: 512,
      environment: {
        ...appSettings,
        ...oidc.environment,
        ...oidc.verifier,
        // Ends each watch before the function's 15 minutes, cleanly; clients reconnect from their last event.
        WATCH_MAX_SECONDS: '870',
      },
    });
    // Reads, and the put of a settle probe (lists answer a position of the watch log).
    this.watchFunction.bindTable(props.table, [...tableActions.RO, 'dynamodb:PutItem']);
    this.watchUrl = this.watchFunction.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });
    // The API refuses watches (it cannot stream) and names this URL instead.
    this.apiFunction.addEnvironment('WATCH_URL', this.watchUrl.url);

    this.jobWorker = new AppFunction(this, 'job-worker-fn', {
      entry: entry('handlers/job-worker.ts'),
      description: 'imagestreams job worker: runs import, scan, push and sweep jobs from the queue',
      timeout: JOB_WORKER_TIMEOUT,
      memorySize: 512,
      environment: {
        ...appSettings,
        IMPORT_QUEUE_URL: this.importQueue.queueUrl,
        IMPORT_TIMEOUT_SECONDS: String(JOB_WORKER_TIMEOUT.toSeconds() - 60),
        SECRETS_KMS_KEY_ARN: props.secretsKey.keyArn,
      },
    });
    this.jobWorker.bindTable(props.table, 'RW');
    // Imports open the namespace's secrets; the worker never writes one.
    allowSecretsKey(props.secretsKey, this.jobWorker, ['kms:Decrypt']);
    allowEcrPull(this.jobWorker);
    // Jobs queue follow-up jobs and re-queue deferred work.
    allowSend(this.importQueue, this.jobWorker);
    this.jobWorker.addEventSource(
      new SqsEventSource(this.importQueue, {
        batchSize: 5,
        reportBatchItemFailures: true,
        // A burst of jobs (a scheduled window, a push storm, a bulk import) is worked off at this pace instead of
        // scaling to hundreds of workers hitting one registry and the table at once.
        maxConcurrency: checkInt('jobWorkerMaxConcurrency', props.jobWorkerMaxConcurrency ?? 10, 2, 1000),
      }),
    );

    // Scheduled re-import: EventBridge Scheduler → tick function → scan jobs. The tick reads nothing (it only
    // computes slot ranges), so it gets the queue and no table access.
    this.schedulerDeadLetterQueue = new Queue(this, 'scheduler-dlq', dlqProps);
    this.schedulerTick = new AppFunction(this, 'scheduler-tick-fn', {
      entry: entry('handlers/scheduler-tick.ts'),
      description: 'imagestreams scheduler tick: queues scan jobs for the schedule slots that came due',
      timeout: Duration.seconds(30),
      memorySize: 512,
      environment: {
        ...appSettings,
        TABLE_NAME: props.table.tableName,
        IMPORT_QUEUE_URL: this.importQueue.queueUrl,
      },
      // The Scheduler invokes asynchronously: a tick that fails after Lambda's retries lands here too (the
      // Scheduler's own DLQ holds only the invocations it could not make).
      deadLetterQueue: this.schedulerDeadLetterQueue,
    });
    allowSend(this.importQueue, this.schedulerTick);
    this.schedule = new Schedule(this, 'scheduler-tick-schedule', {
      description: 'imagestreams: scheduled re-import tick',
      schedule: ScheduleExpression.rate(SCHEDULER_TICK),
      target: new LambdaInvoke(this.schedulerTick, {
        // The nominal time, so a retried invocation covers the same slots.
        input: ScheduleTargetInput.fromObject({
          scheduledTime: ContextAttribute.scheduledTime,
          executionId: ContextAttribute.executionId,
        }),
        retryAttempts: 3,
        maxEventAge: Duration.minutes(5),
        deadLetterQueue: this.schedulerDeadLetterQueue,
      }),
    });

    // Push-driven re-import from ECR (this account and region): image actions on the default bus.
    this.pushEventsDeadLetterQueue = new Queue(this, 'push-events-dlq', dlqProps);
    this.pushEvents = new AppFunction(this, 'push-events-fn', {
      entry: entry('handlers/push-events.ts'),
      description: 'imagestreams push events: ECR pushes and deletes become coalesced re-check jobs',
      memorySize: 512,
      environment: { ...appSettings, IMPORT_QUEUE_URL: this.importQueue.queueUrl },
      // A CI pushing hundreds of images at once must not take the account's concurrency from the API; throttled
      // events wait in Lambda's asynchronous queue (up to 6 h) and are retried.
      reservedConcurrentExecutions: checkInt(
        'pushEventsReservedConcurrency',
        props.pushEventsReservedConcurrency ?? 10,
        1,
        1000,
      ),
      // EventBridge invokes asynchronously: an invocation that fails after Lambda's retries lands here, like the
      // events EventBridge could not deliver.
      deadLetterQueue: this.pushEventsDeadLetterQueue,
    });
    // Coalescing claims a window with a conditional update of a bookkeeping item; that is all it does with the
    // table (the push jobs it queues read and write in the job worker).
    this.pushEvents.bindTable(props.table, ['dynamodb:UpdateItem'], { indexes: false });
    allowSend(this.importQueue, this.pushEvents);
    this.ecrPushRule = new Rule(this, 'ecr-push-rule', {
      description:
        'imagestreams: ECR image pushes and deletes trigger re-checks of the tags that follow them',
      eventPattern: {
        source: ['aws.ecr'],
        detailType: ['ECR Image Action'],
        detail: { result: ['SUCCESS'], 'action-type': ['PUSH', 'DELETE'] },
      },
      targets: [
        new LambdaFunction(this.pushEvents, {
          retryAttempts: 3,
          // A late re-check is still worth running; the scheduled re-import covers anything dropped.
          maxEventAge: Duration.hours(1),
          deadLetterQueue: this.pushEventsDeadLetterQueue,
        }),
      ],
    });

    // The registry: pulls of stream tags under /v2/, behind a function URL that streams responses (blobs pass
    // through without being held: up to Lambda's 200 MB streamed response; redirecting upstreams such as ECR, S3 or
    // a CDN are passed on as redirects and have no limit). The function verifies the API's JWTs itself.
    this.registryTokenSecret = new Secret(this, 'registry-token-key', {
      description: 'imagestreams: the key registry bearer tokens are signed with',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    this.registryFunction = new AppFunction(this, 'registry-fn', {
      entry: entry('handlers/registry.ts'),
      description: 'imagestreams registry: pulls of image stream tags under /v2/ (streamed responses)',
      // 200 MB at the 2 MB/s Lambda streams beyond the first 6 MB takes about 100 s.
      timeout: Duration.minutes(3),
      memorySize: 512,
      reservedConcurrentExecutions: checkInt(
        'registryReservedConcurrency',
        props.registryReservedConcurrency ?? 20,
        1,
        1000,
      ),
      environment: {
        ...appSettings,
        ...oidc.verifier,
        SECRETS_KMS_KEY_ARN: props.secretsKey.keyArn,
        REGISTRY_TOKEN_SECRET_ARN: this.registryTokenSecret.secretArn,
        // Lambda's streamed response limit (200 MB), less room for the response's headers.
        MAX_STREAMED_BLOB_BYTES: String(MAX_STREAMED_BLOB_BYTES),
      },
    });
    // Reads streams, projects, bindings and secrets; keeps pulled manifests (batched puts). No index.
    this.registryFunction.bindTable(
      props.table,
      ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'],
      { indexes: false },
    );
    allowSecretsKey(props.secretsKey, this.registryFunction, ['kms:Decrypt']);
    allowEcrPull(this.registryFunction, props.pullThroughEcrRepositoryArns, false);
    this.registryFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.registryTokenSecret.secretArn],
      }),
    );
    this.registryUrl = this.registryFunction.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });
    // Local pull specs name the registry: a custom domain in front of it when configured, else the URL's host (the
    // registry function itself answers with the host it was reached at: its own URL would be a cycle).
    if (!props.internalRegistryHostname) {
      const registryHost = Fn.select(2, Fn.split('/', this.registryUrl.url));
      for (const fn of [this.apiFunction, this.changeProcessor, this.jobWorker])
        fn.addEnvironment('INTERNAL_REGISTRY_HOSTNAME', registryHost);
    }
    new CfnOutput(this, 'RegistryUrl', {
      value: this.registryUrl.url,
      description: 'Pull image stream tags here: <host>/<namespace>/<stream>:<tag> (docs/registry.md)',
    });

    this.api = new HttpApi(this, 'http-api', {
      description: 'imagestreams API',
      createDefaultStage: true,
    });
    const integration = new HttpLambdaIntegration('api-integration', this.apiFunction);
    this.api.addRoutes({
      path: '/{proxy+}',
      methods: [HttpMethod.ANY],
      integration,
      authorizer: oidc.authorizer(),
    });
    this.api.addRoutes({
      path: IAM_ROUTE_PATH,
      methods: [HttpMethod.ANY],
      integration,
      authorizer: new HttpIamAuthorizer(),
    });
    // Kubernetes' health endpoints answer without a token and read nothing (functions/http/api.ts HEALTH_PATHS).
    for (const path of ['/healthz', '/livez', '/readyz'])
      this.api.addRoutes({
        path,
        methods: [HttpMethod.GET],
        integration,
        authorizer: new HttpNoneAuthorizer(),
      });
    const webhookRoutes = this.api.addRoutes({
      path: WEBHOOK_ROUTE.path,
      methods: [WEBHOOK_ROUTE.method],
      integration,
      authorizer: new HttpNoneAuthorizer(),
    });

    const accessLogs = new LogGroup(this, 'api-access-logs', { retention: RetentionDays.ONE_MONTH });
    const stage = this.api.defaultStage?.node.defaultChild as CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        caller: '$context.identity.userArn',
        subject: '$context.authorizer.claims.sub',
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
      }),
    };
    // The webhook route is open to the internet: anyone can make the function run (and, on a cold container, read
    // the secret) before the shared secret is checked. A route-level throttle caps what a flood costs and keeps it
    // from eating the account's Lambda concurrency the signed routes need; registries send far less than this.
    // RouteSettings is a plain JSON map in the L1 (not a typed property), so CDK passes its keys through as
    // written: they must be CloudFormation's own (ThrottlingRateLimit), not CDK's camelCase.
    stage.routeSettings = {
      [`${WEBHOOK_ROUTE.method} ${WEBHOOK_ROUTE.path}`]: {
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 100,
      },
    };
    // Route settings name a route key that must exist before the stage is updated.
    for (const route of webhookRoutes) stage.node.addDependency(route);
    // Every other route: a default cap, so a runaway client slows down with 429s before it exhausts the account's
    // Lambda concurrency or the table's throughput (docs/operations.md, "Concurrency limits").
    stage.defaultRouteSettings = {
      throttlingRateLimit: checkInt('apiThrottleRateLimit', props.apiThrottleRateLimit ?? 100, 1, 10_000),
      throttlingBurstLimit: checkInt('apiThrottleBurstLimit', props.apiThrottleBurstLimit ?? 200, 1, 5_000),
    };

    this.observability = new ServiceObservability(this, 'observability', {
      functions: {
        api: this.apiFunction,
        'change-processor': this.changeProcessor,
        'job-worker': this.jobWorker,
        watch: this.watchFunction,
        'scheduler-tick': this.schedulerTick,
        'push-events': this.pushEvents,
        registry: this.registryFunction,
      },
      deadLetterQueues: {
        jobs: this.importDeadLetterQueue,
        stream: this.streamDeadLetterQueue,
        scheduler: this.schedulerDeadLetterQueue,
        'push-events': this.pushEventsDeadLetterQueue,
      },
      jobQueue: this.importQueue,
      streamProcessor: this.changeProcessor,
      api: this.api,
      importIntervalSeconds,
    });

    acknowledgeServiceFindings(this);

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'WatchUrl', {
      value: this.watchUrl.url,
      description:
        'Watches and reads (kubectl get -w, informers): a function URL that streams; writes go to ApiUrl',
    });
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName });
    new CfnOutput(this, 'EventBusArn', { value: this.eventBus.eventBusArn });
    new CfnOutput(this, 'EventSource', {
      value: eventSource,
      description:
        'source of the events (give it to ImageStreamTagTrigger as `source` when it is not the default)',
    });
    new CfnOutput(this, 'EventSchemaRegistry', { value: this.schemaRegistry.attrRegistryName });
    new CfnOutput(this, 'WebhookSecretArn', {
      value: this.webhookSecret.secretArn,
      description: 'Secrets Manager secret registry webhooks must present (read it; it is not in any output)',
    });
  }
}
