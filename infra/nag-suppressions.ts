import { type App, type CfnElement, Names, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { ConsoleStack } from './console-stack';
import type { ImageStreamPipelineStarter } from './constructs/image-stream-tag-trigger';
import type { ServiceStack } from './service-stack';

/**
 * Every cdk-nag finding this project accepts, with its reason, in one place. Each is acknowledged on the one
 * construct it is about (never on a stack), and for rules that report several findings per resource (IAM5), on
 * the exact finding (`Rule[Resource::…]`), so a new wildcard or a new resource still fails the check
 * (test/infra/nag.test.ts: zero unacknowledged findings, errors and warnings, over every stack).
 */

/** The packs the deployment is held to: AWS Solutions and Serverless. */
export function nagPacks(): NagPack[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()];
}

/** Runs the packs on every synth of `app` (`cdk synth` fails on a finding nobody acknowledged). */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(...nagPacks());
}

function ack(scope: IConstruct | undefined, findings: Record<string, string>): void {
  if (!scope) throw new Error('nag-suppressions: acknowledging findings of a construct that does not exist');
  Validations.of(scope).acknowledge(...Object.entries(findings).map(([id, reason]) => ({ id, reason })));
}

const child = (scope: IConstruct, id: string): IConstruct => {
  const c = scope.node.tryFindChild(id);
  if (!c) throw new Error(`nag-suppressions: ${scope.node.path} has no child ${id}`);
  return c;
};

// Reasons shared by several constructs.
const RUNTIME =
  'Node.js 22 on purpose: the version the local stack and the test suite run on (the pinned node devDependency) and the bundles target, so what is tested is what runs; it moves with them (docs/operations.md, "Runtime").';
const STAR_ONLY =
  'Only actions that exist solely on "*": xray:PutTraceSegments/PutTelemetryRecords (active tracing) and, for importers, ecr:GetAuthorizationToken. test/infra/least-privilege.test.ts fails on any other action on "*".';
const DLQ_END =
  'A dead-letter queue is the end of the line: a redrive policy would need another DLQ behind it. Its depth is alarmed (docs/operations.md).';
const NOT_ASYNC_API =
  'Invoked synchronously by API Gateway: there is no asynchronous event to dead-letter; failures are 5xx answers (alarmed).';

/** The service stack: the HTTP API, the functions, the queues, the webhook secret, the alarm topic. */
export function acknowledgeServiceFindings(stack: ServiceStack): void {
  const roleDefaultPolicy = (fn: { role?: IConstruct | undefined }) => child(fn.role!, 'DefaultPolicy');
  for (const probe of ['healthz', 'livez', 'readyz'])
    ack(child(stack.api, `GET--${probe}`), {
      'AwsSolutions-APIG4': `GET /${probe} is a public health probe: it answers without reading anything (no data, no identity).`,
    });
  ack(child(stack.api, 'POST--webhooks--{format}'), {
    'AwsSolutions-APIG4':
      'Registry webhooks cannot sign requests or fetch tokens; the handler checks the shared webhook secret before doing anything, and the route has its own stage throttle (50 rps).',
  });

  for (const fn of [
    stack.apiFunction,
    stack.changeProcessor,
    stack.jobWorker,
    stack.schedulerTick,
    stack.pushEvents,
    stack.registryFunction,
    stack.watchFunction,
  ]) {
    ack(fn, { 'AwsSolutions-L1': RUNTIME, 'Serverless-LambdaLatestVersion': RUNTIME });
    ack(roleDefaultPolicy(fn), { 'AwsSolutions-IAM5[Resource::*]': STAR_ONLY });
  }
  for (const fn of [stack.apiFunction, stack.jobWorker]) {
    ack(roleDefaultPolicy(fn), {
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:*:repository/*]':
        'Imports pull from ECR repositories the users name, in any account and region: which ones a caller may import from is the service decision (projects, ALLOWED_REGISTRIES_FOR_IMPORT), and other accounts still have to allow the pull in their repository policies. Only the pull actions (BatchGetImage, GetDownloadUrlForLayer, ListImages).',
    });
  }

  ack(roleDefaultPolicy(stack.registryFunction), {
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:*:repository/*]':
      'Pulls through a stream reach the ECR repositories its images were imported from, so by default the same repositories imports reach (stack property pullThroughEcrRepositoryArns narrows it); only BatchGetImage and GetDownloadUrlForLayer, and only for images a project stream references and the caller may pull.',
  });
  ack(stack.apiFunction, { 'Serverless-LambdaDLQ': NOT_ASYNC_API });
  ack(stack.registryFunction, {
    'Serverless-LambdaDLQ':
      'Invoked synchronously through its function URL only (a registry client waits for the answer): there is no asynchronous invocation to dead-letter.',
  });
  ack(stack.watchFunction, {
    'Serverless-LambdaDLQ':
      "Invoked synchronously through its function URL (response streaming), never asynchronously: a failed request is the caller's to retry.",
  });
  ack(stack.changeProcessor, {
    'Serverless-LambdaDLQ':
      "Invoked by the table stream's event source mapping, never asynchronously: batches it gives up on go to the mapping's on-failure destination (the stream DLQ).",
  });
  ack(stack.jobWorker, {
    'Serverless-LambdaDLQ':
      "Invoked by the job queue's event source mapping, never asynchronously: jobs that fail five receives go to the queue's own dead-letter queue.",
  });
  ack(child(stack.jobWorker, `SqsEventSource:${Names.nodeUniqueId(stack.importQueue.node)}`), {
    'Serverless-LambdaEventSourceMappingDestination':
      "SQS event source mappings take no on-failure destination (only stream and Kafka sources do); failed jobs go to the queue's redrive dead-letter queue after 5 receives.",
  });
  // The Scheduler's role for its Lambda target, as aws-cdk-lib's LambdaInvoke creates it.
  const schedulerRole = stack.node.children.find((c) => c.node.id.startsWith('SchedulerRoleForTarget-'));
  ack(schedulerRole && child(schedulerRole, 'DefaultPolicy'), {
    [`AwsSolutions-IAM5[Resource::<${logicalIdOf(stack.schedulerTick)}.Arn>:*]`]:
      "lambda:InvokeFunction on the tick function and its versions/aliases (`<function ARN>:*`), as aws-cdk-lib's Scheduler target grants it; nothing else.",
  });

  for (const q of [
    stack.importDeadLetterQueue,
    stack.streamDeadLetterQueue,
    stack.schedulerDeadLetterQueue,
    stack.pushEventsDeadLetterQueue,
  ])
    ack(q, { 'Serverless-SQSRedrivePolicy': DLQ_END });
  ack(stack.streamDeadLetterQueue, {
    'AwsSolutions-SQS3':
      "It is a dead-letter queue: the stream event source mapping's on-failure destination, which cdk-nag does not recognise as one (it looks only at queue redrive policies and function DLQs).",
  });

  ack(stack.webhookSecret, {
    'AwsSolutions-SMG4':
      'Registries hold a copy of this secret in their webhook settings, which Secrets Manager cannot update: an automatic rotation would cut every registry off. Rotation is a documented procedure instead (docs/operations.md, "Webhook secret rotation").',
  });
  ack(stack.registryTokenSecret, {
    'AwsSolutions-SMG4':
      'Registry tokens live five minutes and containers read the key once: a rotation would invalidate tokens in flight for no gain. Replacing it is a documented procedure (docs/registry.md, "Token key").',
  });
  for (const alarm of stack.observability.alarms)
    ack(alarm, {
      'CloudFormation-Validate::W1030':
        'The alarm actions are Fn::If(AlarmTopicArn given, AlarmTopicArn, the created topic): the parameter branch is taken only when the parameter is not empty, which the linter does not see.',
    });
  ack(child(stack.observability, 'alarm-email'), {
    'Serverless-SNSRedrivePolicy':
      'The alarm e-mail subscription: a dead-letter queue of undeliverable alarm mails would itself only be watched by an alarm sending to this topic. SNS reports bounces in its delivery logs.',
  });
}

/** The console stack: S3 + CloudFront, and aws-cdk-lib's BucketDeployment custom resource. */
export function acknowledgeConsoleFindings(stack: ConsoleStack): void {
  ack(stack.distribution, {
    'AwsSolutions-CFR1':
      'The console and API serve users wherever they are; who may call the API is decided by its authorizers, not by geography. A deployer who needs geo restrictions adds them to the distribution.',
    'AwsSolutions-CFR2':
      'No WAF web ACL by default (a CloudFront web ACL lives in us-east-1 and costs per rule and request): the API behind it authenticates every call but /healthz and webhooks, and its stage throttles. A deployer with a WAF policy attaches it (webAclId).',
    'AwsSolutions-CFR4':
      'The distribution uses the default *.cloudfront.net certificate, with which CloudFront does not allow choosing the minimum TLS version; a custom domain (not part of this stack) would set TLSv1.2_2021.',
  });
  ack(stack.logBucket, {
    'AwsSolutions-S1':
      'This is the access-log bucket (CloudFront and the assets bucket log here); logging it into itself would loop.',
  });
  // The BucketDeployment's provider function: a singleton aws-cdk-lib adds to the stack, whose role, runtime and
  // settings the construct does not expose.
  const deployer = stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (!deployer) throw new Error('nag-suppressions: no BucketDeployment provider in the console stack');
  const CDK_PROVIDER =
    "aws-cdk-lib's BucketDeployment provider function (copies the build into the bucket on deploy)";
  ack(deployer, {
    'AwsSolutions-L1': `${CDK_PROVIDER}: its runtime is chosen by aws-cdk-lib.`,
    'Serverless-LambdaLatestVersion': `${CDK_PROVIDER}: its runtime is chosen by aws-cdk-lib.`,
    'Serverless-LambdaDLQ': `${CDK_PROVIDER}: invoked synchronously by CloudFormation, which reports its failure as a failed deployment.`,
    'Serverless-LambdaTracing': `${CDK_PROVIDER}: runs only during deployments; its tracing is not configurable.`,
  });
  const deployerPolicy = child(child(deployer, 'ServiceRole'), 'DefaultPolicy');
  ack(child(deployer, 'ServiceRole'), {
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${CDK_PROVIDER}: aws-cdk-lib attaches this managed policy for its logs.`,
  });
  const s3 = `${CDK_PROVIDER}: aws-cdk-lib grants it read on the CDK asset bucket and write on the console bucket (prefix actions and object wildcards within those two buckets only).`;
  ack(deployerPolicy, {
    'AwsSolutions-IAM5[Action::s3:GetObject*]': s3,
    'AwsSolutions-IAM5[Action::s3:GetBucket*]': s3,
    'AwsSolutions-IAM5[Action::s3:List*]': s3,
    'AwsSolutions-IAM5[Action::s3:DeleteObject*]': s3,
    'AwsSolutions-IAM5[Action::s3:Abort*]': s3,
    [`AwsSolutions-IAM5[Resource::<${logicalIdOf(stack.bucket)}.Arn>/*]`]: s3,
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]':
      s3,
    'AwsSolutions-IAM5[Resource::*]': `${CDK_PROVIDER}: cloudfront:CreateInvalidation/GetInvalidation, which aws-cdk-lib grants on "*".`,
  });
}

/** The pipeline starter of ImageStreamTagTrigger (one per consumer stack). */
export function acknowledgeStarterFindings(starter: ImageStreamPipelineStarter): void {
  ack(starter.function, { 'AwsSolutions-L1': RUNTIME, 'Serverless-LambdaLatestVersion': RUNTIME });
  ack(child(starter.role, 'DefaultPolicy'), {
    'AwsSolutions-IAM5[Resource::*]':
      'Only xray:PutTraceSegments/PutTelemetryRecords (active tracing), which exist solely on "*"; StartPipelineExecution is granted per pipeline ARN.',
  });
  ack(child(starter.function, 'EventInvokeConfig'), {
    'Serverless-LambdaAsyncFailureDestination':
      "Failed asynchronous invocations go to the function's dead-letter queue (the same queue as the rule's undeliverable events), so one queue holds every failed pipeline start.",
  });
  ack(starter.deadLetterQueue, { 'Serverless-SQSRedrivePolicy': DLQ_END });
}

/** A construct's CloudFormation logical id, as cdk-nag renders references to it (`<logicalId.Arn>`). */
const logicalIdOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
