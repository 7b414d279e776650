import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_EVENT_SOURCE } from '../../functions/config';
import { type ChangeKind, DETAIL_TYPES, EVENTS_SCHEMA_VERSION } from '../../functions/core/events/tag-events';
import {
  TAG_NAME,
  validateNamespaceName,
  validateStreamName,
} from '../../functions/core/imagestream/validation';
import { acknowledgeStarterFindings } from '../nag-suppressions';

/**
 * Run something when an image stream tag changes: a CDK construct for the consumers of the service's event bus
 * (docs/triggers.md). One EventBridge rule on the bus matches `ImageStreamTag Changed` (events contract v1) for one
 * `namespace/stream:tag`; its targets are a CodePipeline V2 pipeline started pinned to the exact image, and/or any
 * other EventBridge target.
 *
 * Why a Lambda starts the pipeline rather than EventBridge's native CodePipeline target: that target calls
 * StartPipelineExecution with the pipeline ARN and, through an input transformer, at most a source revision
 * override (CodePipeline user guide, "Start a pipeline with a source revision override"); aws-cdk-lib's
 * `targets.CodePipeline` exposes neither an input nor pipeline variables (only a role, a DLQ and a retry policy),
 * and nothing lets EventBridge set pipeline `variables` or a `clientRequestToken`. So one small inline function
 * per stack (shared by every trigger in it) calls StartPipelineExecution with variables, the source revision and
 * an idempotency token derived from the event's `eventId`.
 */

export type ImageStreamTagChange = ChangeKind;

export const IMAGE_STREAM_TAG_CHANGES: readonly ImageStreamTagChange[] = [
  'created',
  'moved',
  'rolledBack',
  'deleted',
];

/** The changes a trigger reacts to unless told otherwise: every change that leaves the tag pointing at an image. */
export const DEFAULT_TRIGGER_CHANGES: readonly ImageStreamTagChange[] = ['created', 'moved', 'rolledBack'];

/** The service's default `source` (env EVENT_SOURCE, ServiceStack `eventSource`): `io.imagestreams`. */
export { DEFAULT_EVENT_SOURCE };

/**
 * The pipeline variables a trigger sets, by role. `null` sends no variable for that role. The pipeline must declare
 * every variable it is sent (`new codepipeline.Variable({ variableName, defaultValue })`): a pipeline defined in the
 * same CDK app is checked at synth.
 */
export interface PipelineVariableNames {
  /** The image digest (`sha256:…`). @default 'IMAGE_DIGEST' */
  readonly imageDigest?: string | null;
  /** The exact pull spec (`registry/repo@sha256:…`). @default 'IMAGE_PULL_SPEC' */
  readonly imagePullSpec?: string | null;
  /** `namespace/stream:tag`. @default 'IMAGE_STREAM_TAG' */
  readonly imageStreamTag?: string | null;
  /** The event's `eventId`. @default 'EVENT_ID' */
  readonly eventId?: string | null;
  /** The change kind (`created`, `moved`, `rolledBack`, `deleted`). @default - not sent */
  readonly change?: string | null;
}

export type PipelineVariableRole = keyof PipelineVariableNames;

export const PIPELINE_VARIABLE_ROLES: readonly PipelineVariableRole[] = [
  'imageDigest',
  'imagePullSpec',
  'imageStreamTag',
  'eventId',
  'change',
];

export const DEFAULT_PIPELINE_VARIABLE_NAMES: Readonly<Record<PipelineVariableRole, string | null>> = {
  imageDigest: 'IMAGE_DIGEST',
  imagePullSpec: 'IMAGE_PULL_SPEC',
  imageStreamTag: 'IMAGE_STREAM_TAG',
  eventId: 'EVENT_ID',
  change: null,
};

export interface ImageStreamTagTriggerProps {
  /** The service's event bus, e.g. `events.EventBus.fromEventBusArn(this, 'Bus', arn)`. */
  readonly eventBus: events.IEventBus;
  /**
   * The events' `source`: the service stack's `EventSource` output. It must be what the service publishes with
   * (its `eventSource`), or the rule matches nothing. @default 'io.imagestreams' (the service's default)
   */
  readonly source?: string;
  readonly namespace: string;
  readonly stream: string;
  readonly tag: string;
  /** @default ['created', 'moved', 'rolledBack'] */
  readonly changes?: ImageStreamTagChange[];

  /**
   * A CodePipeline V2 pipeline to start for each matching change, with the pipeline variables of `variableNames`.
   * @default - no pipeline
   */
  readonly pipeline?: codepipeline.IPipeline;
  /**
   * The name of the pipeline's Amazon ECR source action: the execution then runs on exactly the event's image
   * (`sourceRevisions: [{ actionName, revisionType: 'IMAGE_DIGEST', revisionValue: <digest> }]`).
   * @default - no source revision override
   */
  readonly sourceActionName?: string;
  /** @default DEFAULT_PIPELINE_VARIABLE_NAMES */
  readonly variableNames?: PipelineVariableNames;
  /**
   * Where EventBridge puts events it could not hand to the pipeline-starting function (after `retryAttempts` or
   * `maxEventAge`). @default - the queue shared by the stack's triggers (`deadLetterQueue`), which also receives
   * the function's own failed invocations
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /** EventBridge delivery retries for the pipeline start. @default 185 */
  readonly retryAttempts?: number;
  /** How long EventBridge keeps retrying the pipeline start. @default Duration.hours(24) */
  readonly maxEventAge?: Duration;

  /**
   * Other targets on the same rule (SQS, Lambda, Step Functions, API destinations …), each with its own options
   * (input, DLQ, retry policy). @default - none
   */
  readonly targets?: events.IRuleTarget[];

  /** @default - generated */
  readonly ruleName?: string;
  /** @default - `Image stream tag <namespace>/<stream>:<tag> changed` */
  readonly description?: string;
  /** @default true */
  readonly enabled?: boolean;
}

/** What the rule hands the pipeline-starting function (an input transformer: static settings plus `$.detail`). */
export interface PipelineStartInput {
  pipelineName: string;
  sourceActionName?: string;
  variableNames: Partial<Record<PipelineVariableRole, string | null>>;
  detail: unknown;
}

/** EventBridge allows five targets per rule. */
const MAX_RULE_TARGETS = 5;
/** CodePipeline's pattern for variable and action names, and their length limits. */
const PIPELINE_VARIABLE_NAME = /^[A-Za-z0-9@\-_]{1,128}$/;
const ACTION_NAME = /^[A-Za-z0-9.@\-_]{1,100}$/;

/**
 * The pipeline-starting function's source (CommonJS, Node.js 22; the runtime ships the AWS SDK v3). Exported so
 * the tests run exactly what is deployed, with a fake CodePipeline client. `startInput` is the pure mapping from
 * the rule's input to StartPipelineExecution's parameters:
 * - `clientRequestToken` = sha256(pipeline name + '\n' + eventId) in hex: CodePipeline treats a repeated start
 *   with the same token as the same request, so EventBridge's at-least-once delivery, its retries and Lambda's
 *   async retries start the pipeline once per event;
 * - variables by role (a role without a name, or without a value — the image of a `deleted` change — is left out,
 *   so the pipeline's default applies);
 * - `sourceRevisions` pins the ECR source action to the digest when a source action is named and there is an image.
 * Kept under 4 KiB: CloudFormation's inline `ZipFile` limit.
 */
export const START_PIPELINE_HANDLER_SOURCE = `'use strict';
const { createHash } = require('node:crypto');
const { CodePipelineClient, StartPipelineExecutionCommand } = require('@aws-sdk/client-codepipeline');
const ROLES = ['imageDigest', 'imagePullSpec', 'imageStreamTag', 'eventId', 'change'];
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
let client;
function fail(msg) { throw new Error('ImageStreamTagTrigger: ' + msg); }
function startInput(input) {
  const d = input && input.detail;
  if (!input || !input.pipelineName) fail('no pipelineName in the rule input');
  if (!d || typeof d !== 'object') fail('no event detail');
  if (d.version !== '1') fail('unsupported event version ' + JSON.stringify(d.version));
  for (const k of ['eventId', 'namespace', 'stream', 'tag', 'change'])
    if (typeof d[k] !== 'string' || !d[k]) fail('event detail without ' + k);
  const cur = d.current || null;
  if (!cur && d.change !== 'deleted') fail(d.change + ' event ' + d.eventId + ' without current image');
  if (cur && (typeof cur.image !== 'string' || !DIGEST.test(cur.image))) fail('invalid digest in ' + d.eventId);
  if (cur && (typeof cur.pullSpec !== 'string' || !cur.pullSpec)) fail('no pull spec in ' + d.eventId);
  const values = {
    imageDigest: cur && cur.image,
    imagePullSpec: cur && cur.pullSpec,
    imageStreamTag: d.namespace + '/' + d.stream + ':' + d.tag,
    eventId: d.eventId,
    change: d.change,
  };
  const names = input.variableNames || {};
  const variables = [];
  for (const role of ROLES) {
    const name = names[role];
    const value = values[role];
    if (!name || !value) continue;
    if (value.length > 1000) fail(role + ' longer than 1000 characters in ' + d.eventId);
    variables.push({ name, value });
  }
  const params = {
    name: input.pipelineName,
    clientRequestToken: createHash('sha256').update(input.pipelineName + '\\n' + d.eventId).digest('hex'),
  };
  if (variables.length > 0) params.variables = variables;
  if (input.sourceActionName && cur)
    params.sourceRevisions = [
      { actionName: input.sourceActionName, revisionType: 'IMAGE_DIGEST', revisionValue: cur.image },
    ];
  return params;
}
exports.startInput = startInput;
exports.handler = async (input) => {
  const params = startInput(input);
  client = client || new CodePipelineClient({});
  const out = await client.send(new StartPipelineExecutionCommand(params));
  console.log(JSON.stringify({
    message: 'pipeline started',
    pipeline: params.name,
    eventId: input.detail.eventId,
    change: input.detail.change,
    imageStreamTag: input.detail.namespace + '/' + input.detail.stream + ':' + input.detail.tag,
    image: input.detail.current ? input.detail.current.image : null,
    clientRequestToken: params.clientRequestToken,
    pipelineExecutionId: out.pipelineExecutionId,
  }));
  return { pipelineExecutionId: out.pipelineExecutionId, clientRequestToken: params.clientRequestToken };
};
`;

/**
 * The stack's one pipeline-starting function, its log group, role and dead-letter queue; each trigger adds
 * `codepipeline:StartPipelineExecution` on its own pipeline's ARN and nothing else.
 */
export class ImageStreamPipelineStarter extends Construct {
  static readonly ID = 'ImageStreamTagTriggerPipelineStarter';

  /** The starter of `scope`'s stack, created on first use. */
  static of(scope: Construct): ImageStreamPipelineStarter {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(ImageStreamPipelineStarter.ID);
    if (existing instanceof ImageStreamPipelineStarter) return existing;
    return new ImageStreamPipelineStarter(stack, ImageStreamPipelineStarter.ID);
  }

  readonly function: lambda.Function;
  readonly role: iam.Role;
  /** Failed starts: events EventBridge could not deliver, and invocations that failed after Lambda's retries. */
  readonly deadLetterQueue: sqs.Queue;
  private readonly allowed = new Set<codepipeline.IPipeline>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role: no AWSLambdaBasicExecutionRole (logs on *), just this log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Starts the CodePipeline pipelines of ImageStreamTagTrigger constructs',
    });
    logGroup.grantWrite(this.role);
    this.function = new lambda.Function(this, 'Function', {
      description: 'Starts a CodePipeline pipeline pinned to the image of an ImageStreamTag Changed event',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(START_PIPELINE_HANDLER_SOURCE),
      memorySize: 256,
      timeout: Duration.seconds(30),
      role: this.role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      // Lambda's own async retries (a throttled or failing StartPipelineExecution), then the queue.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      deadLetterQueue: this.deadLetterQueue,
    });
    acknowledgeStarterFindings(this);
  }

  /** Lets the function start `pipeline` (once per pipeline, however many triggers use it). */
  allowStart(pipeline: codepipeline.IPipeline): void {
    if (this.allowed.has(pipeline)) return;
    this.allowed.add(pipeline);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['codepipeline:StartPipelineExecution'],
        resources: [pipeline.pipelineArn],
      }),
    );
  }
}

export class ImageStreamTagTrigger extends Construct {
  readonly rule: events.Rule;
  readonly eventPattern: events.EventPattern;
  /** The pipeline-starting function (shared by the stack's triggers), when there is a pipeline. */
  readonly starterFunction?: lambda.IFunction;
  /** Where failed pipeline starts end up, when there is a pipeline. */
  readonly deadLetterQueue?: sqs.IQueue;
  /** The variable names sent to the pipeline, by role (roles that send nothing are absent). */
  readonly pipelineVariableNames: Readonly<Partial<Record<PipelineVariableRole, string>>>;

  constructor(scope: Construct, id: string, props: ImageStreamTagTriggerProps) {
    super(scope, id);
    const fail = (msg: string): never => {
      throw new Error(`ImageStreamTagTrigger ${this.node.path}: ${msg}`);
    };

    const source = props.source ?? DEFAULT_EVENT_SOURCE;
    if (!Token.isUnresolved(source) && !source.trim()) fail('source must not be empty');
    checkName('namespace', props.namespace, (v) => validateNamespaceName(v), fail);
    checkName(
      'stream',
      props.stream,
      (v) => validateStreamName(props.namespace, v, 'stream')[0]?.detail,
      fail,
    );
    checkName(
      'tag',
      props.tag,
      (v) => (TAG_NAME.test(v) ? undefined : `invalid tag "${v}": must match ${TAG_NAME.source}`),
      fail,
    );

    const changes = props.changes ?? [...DEFAULT_TRIGGER_CHANGES];
    if (changes.length === 0)
      fail(`changes must not be empty (any of ${IMAGE_STREAM_TAG_CHANGES.join(', ')})`);
    for (const c of changes)
      if (!IMAGE_STREAM_TAG_CHANGES.includes(c))
        fail(`unknown change "${c}" (expected one of ${IMAGE_STREAM_TAG_CHANGES.join(', ')})`);
    if (new Set(changes).size !== changes.length) fail(`changes has duplicates: ${changes.join(', ')}`);

    const extraTargets = props.targets ?? [];
    if (!props.pipeline && extraTargets.length === 0)
      fail('nothing to run: give a pipeline, targets, or both');
    const targetCount = extraTargets.length + (props.pipeline ? 1 : 0);
    if (targetCount > MAX_RULE_TARGETS)
      fail(
        `an EventBridge rule takes at most ${MAX_RULE_TARGETS} targets, this one would have ${targetCount}`,
      );
    if (!props.pipeline) {
      for (const k of [
        'sourceActionName',
        'variableNames',
        'deadLetterQueue',
        'retryAttempts',
        'maxEventAge',
      ] as const)
        if (props[k] !== undefined) fail(`${k} applies to the pipeline start, but no pipeline is given`);
    }
    if (props.sourceActionName !== undefined && !ACTION_NAME.test(props.sourceActionName))
      fail(`invalid sourceActionName "${props.sourceActionName}": must match ${ACTION_NAME.source}`);
    if (props.retryAttempts !== undefined) {
      const r = props.retryAttempts;
      if (!Number.isInteger(r) || r < 0 || r > 185)
        fail(`retryAttempts must be an integer in 0..185, not ${r}`);
    }
    if (props.maxEventAge !== undefined) {
      const s = props.maxEventAge.toSeconds();
      if (s < 60 || s > 86_400) fail(`maxEventAge must be between 1 minute and 24 hours, not ${s}s`);
    }

    const variableNames = resolveVariableNames(props.variableNames, fail);
    this.pipelineVariableNames = props.pipeline ? variableNames : {};

    // A rule lives in its bus's account: say so at synth rather than at deploy.
    const stack = Stack.of(this);
    const busAccount = props.eventBus.env.account;
    if (!Token.isUnresolved(busAccount) && !Token.isUnresolved(stack.account) && busAccount !== stack.account)
      fail(
        `the event bus is in account ${busAccount} but this stack deploys to ${stack.account}: a rule must be in its bus's account (forward the events to a bus in ${stack.account})`,
      );

    this.eventPattern = {
      source: [source],
      detailType: [DETAIL_TYPES.changed],
      detail: {
        version: [EVENTS_SCHEMA_VERSION],
        namespace: [props.namespace],
        stream: [props.stream],
        tag: [props.tag],
        change: [...changes],
      },
    };
    this.rule = new events.Rule(this, 'Rule', {
      eventBus: props.eventBus,
      eventPattern: this.eventPattern,
      ruleName: props.ruleName,
      description:
        props.description ?? `Image stream tag ${props.namespace}/${props.stream}:${props.tag} changed`,
      enabled: props.enabled ?? true,
    });

    if (props.pipeline) {
      const pipeline = props.pipeline;
      const starter = ImageStreamPipelineStarter.of(this);
      starter.allowStart(pipeline);
      this.starterFunction = starter.function;
      this.deadLetterQueue = props.deadLetterQueue ?? starter.deadLetterQueue;
      const input: Record<string, unknown> = {
        pipelineName: pipeline.pipelineName,
        variableNames,
        detail: events.EventField.fromPath('$.detail'),
      };
      if (props.sourceActionName) input.sourceActionName = props.sourceActionName;
      this.rule.addTarget(
        new targets.LambdaFunction(starter.function, {
          event: events.RuleTargetInput.fromObject(input),
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: props.retryAttempts ?? 185,
          maxEventAge: props.maxEventAge ?? Duration.hours(24),
        }),
      );
      if (pipeline instanceof codepipeline.Pipeline)
        this.node.addValidation({
          validate: () => validatePipeline(pipeline, variableNames, props.sourceActionName),
        });
    }
    for (const t of extraTargets) this.rule.addTarget(t);
  }
}

function checkName(
  what: string,
  value: string,
  validate: (v: string) => string | undefined,
  fail: (msg: string) => never,
): void {
  if (typeof value !== 'string') fail(`${what} is required`);
  if (Token.isUnresolved(value)) return;
  if (!value.trim()) fail(`${what} must not be empty`);
  const problem = validate(value);
  if (problem) fail(`${what}: ${problem}`);
}

function resolveVariableNames(
  given: PipelineVariableNames | undefined,
  fail: (msg: string) => never,
): Partial<Record<PipelineVariableRole, string>> {
  const out: Partial<Record<PipelineVariableRole, string>> = {};
  const seen = new Map<string, PipelineVariableRole>();
  for (const k of Object.keys(given ?? {}))
    if (!PIPELINE_VARIABLE_ROLES.includes(k as PipelineVariableRole))
      fail(`unknown variableNames key "${k}" (expected ${PIPELINE_VARIABLE_ROLES.join(', ')})`);
  for (const role of PIPELINE_VARIABLE_ROLES) {
    const name = given?.[role] === undefined ? DEFAULT_PIPELINE_VARIABLE_NAMES[role] : given[role];
    if (name === null || name === undefined) continue;
    if (!PIPELINE_VARIABLE_NAME.test(name))
      fail(
        `invalid pipeline variable name "${name}" for ${role}: must match ${PIPELINE_VARIABLE_NAME.source}`,
      );
    const other = seen.get(name);
    if (other) fail(`pipeline variable "${name}" is used for both ${other} and ${role}`);
    seen.set(name, role);
    out[role] = name;
  }
  return out;
}

/**
 * Synth-time checks of a pipeline defined in the same app (stages and variables can be added after the trigger,
 * hence a validation rather than constructor checks): V2, every variable sent is declared, and the source action
 * exists and is an Amazon ECR source.
 */
function validatePipeline(
  pipeline: codepipeline.Pipeline,
  variableNames: Partial<Record<PipelineVariableRole, string>>,
  sourceActionName: string | undefined,
): string[] {
  const errors: string[] = [];
  const stack = Stack.of(pipeline);
  const cfn = pipeline.node.defaultChild as codepipeline.CfnPipeline;
  const type = stack.resolve(cfn.pipelineType);
  const sent = Object.values(variableNames);
  if (sent.length > 0 && type !== codepipeline.PipelineType.V2)
    errors.push(
      `pipeline ${pipeline.node.path} must be pipelineType V2 to receive variables (${sent.join(', ')}); it is ${type ?? 'V1'}`,
    );
  const declared = new Set<string>(
    ((stack.resolve(cfn.variables) as { name?: string }[] | undefined) ?? []).map((v) => v.name ?? ''),
  );
  const missing = sent.filter((n) => !declared.has(n));
  if (missing.length > 0)
    errors.push(
      `pipeline ${pipeline.node.path} does not declare the variable(s) ${missing.join(', ')}: add new codepipeline.Variable({ variableName, defaultValue }) for each, or set variableNames.<role> to null`,
    );
  if (sourceActionName !== undefined) {
    const action = pipeline.stages
      .flatMap((s) => s.actions)
      .find((a) => a.actionProperties.actionName === sourceActionName);
    if (!action) errors.push(`pipeline ${pipeline.node.path} has no action named "${sourceActionName}"`);
    else if (
      action.actionProperties.category !== codepipeline.ActionCategory.SOURCE ||
      action.actionProperties.provider !== 'ECR'
    )
      errors.push(
        `action "${sourceActionName}" of pipeline ${pipeline.node.path} is not an Amazon ECR source action (${action.actionProperties.category}/${action.actionProperties.provider}): IMAGE_DIGEST revisions need one`,
      );
  }
  return errors;
}
