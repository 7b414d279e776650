import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type IHttpRouteAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AppFunction } from './constructs/app-function';

export interface ServiceStackProps extends StackProps {
  table: ITableV2;
  internalRegistryHostname?: string;
  externalRegistryHostname?: string;
}

const entry = (path: string) => fileURLToPath(new URL(`../functions/${path}`, import.meta.url));

/**
 * Who may call the API. One place, so the access-control work can swap in a JWT authorizer (keeping IAM for
 * machines) without touching the routes.
 */
function apiAuthorizer(): IHttpRouteAuthorizer {
  return new HttpIamAuthorizer();
}

/** Registries are reached through IAM only for ECR; these are the pull-side actions (registry-protocol.md §2.5). */
const ECR_PULL_ACTIONS = [
  'ecr:GetAuthorizationToken',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:ListImages',
];

/** How long one import job may run in the worker; the queue hides a message for six times that. */
const IMPORT_WORKER_TIMEOUT = Duration.minutes(5);

/** The stateless part: the HTTP API, its function, and the spec-driven import pipeline. */
export class ServiceStack extends Stack {
  readonly api: HttpApi;
  readonly apiFunction: AppFunction;
  readonly importQueue: Queue;
  readonly importDeadLetterQueue: Queue;
  readonly changeProcessor: AppFunction;
  readonly importWorker: AppFunction;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    this.apiFunction = new AppFunction(this, 'api-fn', {
      entry: entry('handlers/api.ts'),
      description: 'imagestreams HTTP API (image.openshift.io/v1)',
      environment: {
        RUNTIME_MODE: 'aws',
        ...(props.internalRegistryHostname
          ? { INTERNAL_REGISTRY_HOSTNAME: props.internalRegistryHostname }
          : {}),
        ...(props.externalRegistryHostname
          ? { EXTERNAL_REGISTRY_HOSTNAME: props.externalRegistryHostname }
          : {}),
      },
    });
    this.apiFunction.bindTable(props.table, 'RW');
    this.apiFunction.addToRolePolicy(new PolicyStatement({ actions: ECR_PULL_ACTIONS, resources: ['*'] }));

    // Spec-driven import: table stream (tag records only) → change processor → queue → import worker.
    this.importDeadLetterQueue = new Queue(this, 'import-dlq', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.importQueue = new Queue(this, 'import-queue', {
      visibilityTimeout: Duration.seconds(IMPORT_WORKER_TIMEOUT.toSeconds() * 6),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.importDeadLetterQueue, maxReceiveCount: 5 },
    });
    this.changeProcessor = new AppFunction(this, 'change-processor-fn', {
      entry: entry('handlers/change-processor.ts'),
      description: 'imagestreams change processor: tag changes that need an import become import jobs',
      timeout: Duration.seconds(60),
      memorySize: 512,
      environment: {
        RUNTIME_MODE: 'aws',
        TABLE_NAME: props.table.tableName,
        IMPORT_QUEUE_URL: this.importQueue.queueUrl,
      },
    });
    this.importQueue.grantSendMessages(this.changeProcessor);
    this.changeProcessor.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        bisectBatchOnError: true,
        retryAttempts: 10,
        reportBatchItemFailures: true,
        // Only tag records can ask for an import; secrets and history never reach the function.
        filters: [FilterCriteria.filter({ dynamodb: { Keys: { SK: { S: FilterRule.beginsWith('T#') } } } })],
      }),
    );
    this.importWorker = new AppFunction(this, 'import-worker-fn', {
      entry: entry('handlers/import-worker.ts'),
      description: 'imagestreams import worker: runs import jobs from the queue',
      timeout: IMPORT_WORKER_TIMEOUT,
      memorySize: 512,
      environment: {
        RUNTIME_MODE: 'aws',
        IMPORT_QUEUE_URL: this.importQueue.queueUrl,
        IMPORT_TIMEOUT_SECONDS: String(IMPORT_WORKER_TIMEOUT.toSeconds() - 60),
        ...(props.internalRegistryHostname
          ? { INTERNAL_REGISTRY_HOSTNAME: props.internalRegistryHostname }
          : {}),
        ...(props.externalRegistryHostname
          ? { EXTERNAL_REGISTRY_HOSTNAME: props.externalRegistryHostname }
          : {}),
      },
    });
    this.importWorker.bindTable(props.table, 'RW');
    this.importWorker.addToRolePolicy(new PolicyStatement({ actions: ECR_PULL_ACTIONS, resources: ['*'] }));
    this.importQueue.grantSendMessages(this.importWorker);
    this.importWorker.addEventSource(
      new SqsEventSource(this.importQueue, { batchSize: 5, reportBatchItemFailures: true }),
    );

    this.api = new HttpApi(this, 'http-api', {
      description: 'imagestreams API',
      createDefaultStage: true,
    });
    const integration = new HttpLambdaIntegration('api-integration', this.apiFunction);
    this.api.addRoutes({
      path: '/{proxy+}',
      methods: [HttpMethod.ANY],
      integration,
      authorizer: apiAuthorizer(),
    });
    this.api.addRoutes({
      path: '/healthz',
      methods: [HttpMethod.GET],
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
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
      }),
    };
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
  }
}
