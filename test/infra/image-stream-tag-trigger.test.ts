import { createHash } from 'node:crypto';
import { compileFunction } from 'node:vm';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ImageStreamTagTrigger,
  type ImageStreamTagTriggerProps,
  START_PIPELINE_HANDLER_SOURCE,
} from '../../infra/constructs';

const ACCOUNT = '123456789012';
const BUS_ARN = `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/imagestreams`;
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const OLD_DIGEST = `sha256:${'cd'.repeat(32)}`;
const PULL_SPEC = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/team/app@${DIGEST}`;
const VARIABLES = ['IMAGE_DIGEST', 'IMAGE_PULL_SPEC', 'IMAGE_STREAM_TAG', 'EVENT_ID'];

type Json = Record<string, any>;

function newStack(): Stack {
  const app = new App();
  return new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: 'eu-west-1' } });
}

function bus(stack: Stack): events.IEventBus {
  return (
    (stack.node.tryFindChild('Bus') as events.IEventBus | undefined) ??
    events.EventBus.fromEventBusArn(stack, 'Bus', BUS_ARN)
  );
}

/** The worked example's pipeline: V2, declared variables, ECR source "Image", CodeBuild deploy using the pull spec. */
function v2Pipeline(
  stack: Stack,
  id = 'Pipeline',
  opts: { variables?: string[]; type?: codepipeline.PipelineType } = {},
): codepipeline.Pipeline {
  const repository = new ecr.Repository(stack, `${id}Repo`);
  const image = new codepipeline.Artifact(`${id}Image`);
  const deploy = new codebuild.PipelineProject(stack, `${id}Deploy`, {
    buildSpec: codebuild.BuildSpec.fromObject({
      version: '0.2',
      phases: { build: { commands: ['echo deploying "$IMAGE_PULL_SPEC"'] } },
    }),
  });
  const type = opts.type ?? codepipeline.PipelineType.V2;
  return new codepipeline.Pipeline(stack, id, {
    pipelineType: type,
    variables:
      type === codepipeline.PipelineType.V2
        ? (opts.variables ?? VARIABLES).map(
            (variableName) => new codepipeline.Variable({ variableName, defaultValue: 'none' }),
          )
        : undefined,
    stages: [
      {
        stageName: 'Source',
        actions: [
          new actions.EcrSourceAction({
            actionName: 'Image',
            repository,
            imageTag: 'release',
            output: image,
          }),
        ],
      },
      {
        stageName: 'Deploy',
        actions: [
          new actions.CodeBuildAction({
            actionName: 'Deploy',
            project: deploy,
            input: image,
            environmentVariables: { IMAGE_PULL_SPEC: { value: '#{variables.IMAGE_PULL_SPEC}' } },
          }),
        ],
      },
    ],
  });
}

function baseProps(stack: Stack): ImageStreamTagTriggerProps {
  return { eventBus: bus(stack), namespace: 'team', stream: 'app', tag: 'prod' };
}

function rulesOf(t: Template): Json[] {
  return Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties);
}

/** The statements of the starter function's role (the ECR source action's push rule has a role of its own). */
function starterStatements(t: Template): Json[] {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => /"Ref":"ImageStreamTagTriggerPipelineStarterRole/.test(JSON.stringify(p.Properties.Roles)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** What EventBridge's input transformer does with the rule's template: `<detail>` becomes the event's detail. */
function transform(inputTemplate: unknown, detail: unknown, refs: Record<string, string>): unknown {
  const join = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Json;
    if (o.Ref) return refs[o.Ref] ?? `<unresolved ${o.Ref}>`;
    if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map(join).join(o['Fn::Join'][0]);
    throw new Error(`unexpected intrinsic ${JSON.stringify(v)}`);
  };
  return JSON.parse(join(inputTemplate).replace('<detail>', JSON.stringify(detail)));
}

function detail(overrides: Json = {}): Json {
  return {
    version: '1',
    eventId: '0f8e6c1a-3b2d-8c4e-9a1b-2c3d4e5f6a7b',
    change: 'moved',
    namespace: 'team',
    stream: 'app',
    tag: 'prod',
    streamUid: 'uid-1',
    previous: { image: OLD_DIGEST, pullSpec: PULL_SPEC.replace(DIGEST, OLD_DIGEST) },
    current: { image: DIGEST, pullSpec: PULL_SPEC },
    generation: 3,
    time: '2025-01-01T00:00:00Z',
    ...overrides,
  };
}

/** Loads the deployed handler source as CommonJS, with a fake `@aws-sdk/client-codepipeline`. */
function loadHandler(respond: (input: Json) => Json = () => ({ pipelineExecutionId: 'exec-1' })) {
  const sent: Json[] = [];
  let clients = 0;
  const sdk = {
    CodePipelineClient: class {
      constructor() {
        clients++;
      }
      async send(command: { input: Json }) {
        sent.push(command.input);
        return respond(command.input);
      }
    },
    StartPipelineExecutionCommand: class {
      constructor(readonly input: Json) {}
    },
  };
  const module = { exports: {} as Json };
  const require = (id: string) => {
    if (id === 'node:crypto') return { createHash };
    if (id === '@aws-sdk/client-codepipeline') return sdk;
    throw new Error(`unexpected require(${id})`);
  };
  const logs: string[] = [];
  const console = { log: (line: string) => logs.push(line) };
  compileFunction(START_PIPELINE_HANDLER_SOURCE, ['module', 'exports', 'require', 'console'])(
    module,
    module.exports,
    require,
    console,
  );
  return {
    startInput: module.exports.startInput as (input: Json) => Json,
    handler: module.exports.handler as (input: Json) => Promise<Json>,
    sent,
    logs,
    clients: () => clients,
  };
}

const token = (pipeline: string, eventId: string) =>
  createHash('sha256').update(`${pipeline}\n${eventId}`).digest('hex');

describe('ImageStreamTagTrigger with a pipeline', () => {
  let stack: Stack;
  let pipeline: codepipeline.Pipeline;
  let trigger: ImageStreamTagTrigger;
  let t: Template;

  beforeAll(() => {
    stack = newStack();
    pipeline = v2Pipeline(stack);
    trigger = new ImageStreamTagTrigger(stack, 'Trigger', {
      ...baseProps(stack),
      pipeline,
      sourceActionName: 'Image',
    });
    t = Template.fromStack(stack);
  });

  it('matches ImageStreamTag Changed v1 of one tag on the service bus, for the default changes', () => {
    const pipelineRules = rulesOf(t).filter((r) => r.EventBusName === 'imagestreams');
    expect(pipelineRules).toHaveLength(1);
    expect(pipelineRules[0]!.EventPattern).toEqual({
      source: ['io.imagestreams'],
      'detail-type': ['ImageStreamTag Changed'],
      detail: {
        version: ['1'],
        namespace: ['team'],
        stream: ['app'],
        tag: ['prod'],
        change: ['created', 'moved', 'rolledBack'],
      },
    });
    expect(pipelineRules[0]!.State).toBe('ENABLED');
    expect(trigger.rule).toBeInstanceOf(events.Rule);
  });

  it('targets the starter function with the pipeline, source action, variable names and $.detail', () => {
    const rule = rulesOf(t).find((r) => r.EventBusName === 'imagestreams')!;
    expect(rule.Targets).toHaveLength(1);
    const target = rule.Targets[0];
    expect(target.Arn['Fn::GetAtt'][0]).toMatch(/^ImageStreamTagTriggerPipelineStarterFunction/);
    expect(target.InputTransformer.InputPathsMap).toEqual({ detail: '$.detail' });
    const pipelineRef = stack.resolve(pipeline.pipelineName).Ref as string;
    const input = transform(target.InputTransformer.InputTemplate, detail(), { [pipelineRef]: 'deploy-app' });
    expect(input).toEqual({
      pipelineName: 'deploy-app',
      sourceActionName: 'Image',
      variableNames: {
        imageDigest: 'IMAGE_DIGEST',
        imagePullSpec: 'IMAGE_PULL_SPEC',
        imageStreamTag: 'IMAGE_STREAM_TAG',
        eventId: 'EVENT_ID',
      },
      detail: detail(),
    });
  });

  it('starts the pipeline pinned to the image: variables, IMAGE_DIGEST source revision, eventId-derived token', () => {
    const rule = rulesOf(t).find((r) => r.EventBusName === 'imagestreams')!;
    const pipelineRef = stack.resolve(pipeline.pipelineName).Ref as string;
    const input = transform(rule.Targets[0].InputTransformer.InputTemplate, detail(), {
      [pipelineRef]: 'deploy-app',
    });
    const { startInput } = loadHandler();
    expect(startInput(input as Json)).toEqual({
      name: 'deploy-app',
      clientRequestToken: token('deploy-app', detail().eventId),
      variables: [
        { name: 'IMAGE_DIGEST', value: DIGEST },
        { name: 'IMAGE_PULL_SPEC', value: PULL_SPEC },
        { name: 'IMAGE_STREAM_TAG', value: 'team/app:prod' },
        { name: 'EVENT_ID', value: detail().eventId },
      ],
      sourceRevisions: [{ actionName: 'Image', revisionType: 'IMAGE_DIGEST', revisionValue: DIGEST }],
    });
  });

  it('retries delivery to the starter and dead-letters to an encrypted SQS queue the rule may write to', () => {
    const target = rulesOf(t).find((r) => r.EventBusName === 'imagestreams')!.Targets[0];
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
    const queueId = target.DeadLetterConfig.Arn['Fn::GetAtt'][0] as string;
    expect(queueId).toMatch(/^ImageStreamTagTriggerPipelineStarterDeadLetterQueue/);
    expect(stack.resolve((trigger.deadLetterQueue as sqs.IQueue).queueArn)).toEqual(
      target.DeadLetterConfig.Arn,
    );
    t.hasResource('AWS::SQS::Queue', {
      Properties: { MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true },
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('runs an inline Node 22 arm64 function with async retries into the same dead-letter queue', () => {
    const fns = t.findResources('AWS::Lambda::Function');
    expect(Object.keys(fns)).toHaveLength(1);
    const fn = Object.values(fns)[0]!.Properties;
    expect(fn).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Code: { ZipFile: START_PIPELINE_HANDLER_SOURCE },
      Timeout: 30,
      LoggingConfig: {
        LogFormat: 'JSON',
        LogGroup: { Ref: expect.stringMatching(/^ImageStreamTagTriggerPipelineStarterLogs/) },
      },
    });
    expect(fn.DeadLetterConfig.TargetArn).toEqual(stack.resolve(trigger.deadLetterQueue!.queueArn));
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: stack.resolve(trigger.rule.ruleArn),
    });
    // CloudFormation's inline ZipFile limit.
    expect(START_PIPELINE_HANDLER_SOURCE.length).toBeLessThan(4096);
  });

  it('grants the starter only StartPipelineExecution on that pipeline, its log group and its queue', () => {
    const roleId = stack.resolve((trigger.starterFunction!.role as any).roleName).Ref as string;
    const role = t.findResources('AWS::IAM::Role')[roleId]!.Properties;
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    const policies = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(roleId),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]!.Properties.PolicyDocument.Statement as Json[];
    const byAction = (prefix: string) => statements.filter((s) => [s.Action].flat()[0].startsWith(prefix));
    expect(byAction('codepipeline:')).toEqual([
      {
        Action: 'codepipeline:StartPipelineExecution',
        Effect: 'Allow',
        Resource: stack.resolve(pipeline.pipelineArn),
      },
    ]);
    expect(byAction('sqs:')).toEqual([
      {
        Action: 'sqs:SendMessage',
        Effect: 'Allow',
        Resource: stack.resolve(trigger.deadLetterQueue!.queueArn),
      },
    ]);
    expect(byAction('logs:').map((s) => [s.Action].flat().sort())).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
    ]);
    // Active tracing: X-Ray's two actions, which exist only on "*"; nothing else may be on "*".
    expect(byAction('xray:')).toEqual([
      {
        Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        Effect: 'Allow',
        Resource: '*',
      },
    ]);
    expect(statements).toHaveLength(4);
    const others = statements.filter((s) => ![s.Action].flat()[0].startsWith('xray:'));
    expect(JSON.stringify(others)).not.toMatch(/"Resource":"\*"|codepipeline:\*/);
  });
});

describe('ImageStreamTagTrigger: several triggers, other targets', () => {
  it('shares one starter per stack, allowed on each pipeline once', () => {
    const stack = newStack();
    const a = v2Pipeline(stack, 'A');
    const b = v2Pipeline(stack, 'B');
    new ImageStreamTagTrigger(stack, 'One', { ...baseProps(stack), pipeline: a });
    new ImageStreamTagTrigger(stack, 'Two', { ...baseProps(stack), tag: 'staging', pipeline: a });
    new ImageStreamTagTrigger(stack, 'Three', { ...baseProps(stack), stream: 'api', pipeline: b });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Lambda::Function', 1);
    t.resourceCountIs('AWS::SQS::Queue', 1);
    expect(rulesOf(t).filter((r) => r.EventBusName === 'imagestreams')).toHaveLength(3);
    t.resourceCountIs('AWS::Lambda::Permission', 3);
    const starts = starterStatements(t).filter((s) => s.Action === 'codepipeline:StartPipelineExecution');
    // One ARN per pipeline (IAM may merge the statements; each pipeline appears once either way).
    expect(starts.flatMap((s) => [s.Resource].flat())).toEqual([
      stack.resolve(a.pipelineArn),
      stack.resolve(b.pipelineArn),
    ]);
  });

  it('adds other targets to the same rule, and needs no function without a pipeline', () => {
    const stack = newStack();
    const queue = new sqs.Queue(stack, 'Queue');
    const dlq = new sqs.Queue(stack, 'TargetsDlq');
    const machine = new sfn.StateMachine(stack, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Pass')),
    });
    const trigger = new ImageStreamTagTrigger(stack, 'Trigger', {
      ...baseProps(stack),
      changes: ['deleted'],
      targets: [
        new targets.SqsQueue(queue, { deadLetterQueue: dlq }),
        new targets.SfnStateMachine(machine, { input: events.RuleTargetInput.fromEventPath('$.detail') }),
      ],
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Lambda::Function', 0);
    const rules = rulesOf(t).filter((r) => r.EventBusName === 'imagestreams');
    expect(rules).toHaveLength(1);
    expect(rules[0]!.EventPattern.detail.change).toEqual(['deleted']);
    expect(rules[0]!.Targets).toHaveLength(2);
    const [toQueue, toMachine] = rules[0]!.Targets as Json[];
    expect(toQueue!.Arn).toEqual(stack.resolve(queue.queueArn));
    expect(toQueue!.DeadLetterConfig.Arn).toEqual(stack.resolve(dlq.queueArn));
    expect(toMachine!.Arn).toEqual(stack.resolve(machine.stateMachineArn));
    expect(toMachine!.InputPath).toBe('$.detail');
    expect(trigger.starterFunction).toBeUndefined();
    expect(trigger.deadLetterQueue).toBeUndefined();
  });

  it('combines a pipeline with other targets, a custom source, all changes and a caller-supplied DLQ', () => {
    const stack = newStack();
    const pipeline = v2Pipeline(stack, 'P', { variables: [...VARIABLES, 'CHANGE'] });
    const queue = new sqs.Queue(stack, 'Audit');
    const dlq = new sqs.Queue(stack, 'MyDlq');
    new ImageStreamTagTrigger(stack, 'Trigger', {
      ...baseProps(stack),
      source: 'acme.imagestreams',
      changes: ['created', 'moved', 'rolledBack', 'deleted'],
      pipeline,
      variableNames: { change: 'CHANGE' },
      deadLetterQueue: dlq,
      retryAttempts: 10,
      maxEventAge: Duration.hours(2),
      targets: [new targets.SqsQueue(queue)],
    });
    const t = Template.fromStack(stack);
    const rule = rulesOf(t).find((r) => r.EventBusName === 'imagestreams')!;
    expect(rule.EventPattern.source).toEqual(['acme.imagestreams']);
    expect(rule.EventPattern.detail.change).toEqual(['created', 'moved', 'rolledBack', 'deleted']);
    expect(rule.Targets).toHaveLength(2);
    expect(rule.Targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 7200 });
    expect(rule.Targets[0].DeadLetterConfig.Arn).toEqual(stack.resolve(dlq.queueArn));
    expect(rule.Targets[1].Arn).toEqual(stack.resolve(queue.queueArn));
    const ref = stack.resolve(pipeline.pipelineName).Ref as string;
    const input = transform(rule.Targets[0].InputTransformer.InputTemplate, detail(), { [ref]: 'p' }) as Json;
    expect(input.sourceActionName).toBeUndefined();
    expect(input.variableNames.change).toBe('CHANGE');
  });
});

describe('the pipeline-starting handler', () => {
  const input = (d: Json = detail(), extra: Json = {}) => ({
    pipelineName: 'deploy-app',
    sourceActionName: 'Image',
    variableNames: {
      imageDigest: 'IMAGE_DIGEST',
      imagePullSpec: 'IMAGE_PULL_SPEC',
      imageStreamTag: 'IMAGE_STREAM_TAG',
      eventId: 'EVENT_ID',
    },
    detail: d,
    ...extra,
  });

  it('derives the idempotency token from pipeline and eventId only: a redelivery starts the same execution', () => {
    const { startInput } = loadHandler();
    const first = startInput(input());
    const again = startInput(input(detail({ time: '2025-01-01T00:00:05Z' })));
    expect(again.clientRequestToken).toBe(first.clientRequestToken);
    expect(first.clientRequestToken).toMatch(/^[a-f0-9]{64}$/);
    expect(startInput(input(detail({ eventId: 'other' }))).clientRequestToken).not.toBe(
      first.clientRequestToken,
    );
    expect(startInput(input(detail(), { pipelineName: 'other' })).clientRequestToken).not.toBe(
      first.clientRequestToken,
    );
  });

  it('sends StartPipelineExecution once per invocation with the mapped parameters, reusing one client', async () => {
    const h = loadHandler(() => ({ pipelineExecutionId: 'exec-42' }));
    const out = await h.handler(input());
    expect(out).toEqual({
      pipelineExecutionId: 'exec-42',
      clientRequestToken: token('deploy-app', detail().eventId),
    });
    await h.handler(input());
    expect(h.sent).toHaveLength(2);
    expect(h.sent[0]).toEqual(h.startInput(input()));
    expect(h.sent[1]).toEqual(h.sent[0]);
    expect(h.clients()).toBe(1);
    expect(JSON.parse(h.logs[0]!)).toMatchObject({
      message: 'pipeline started',
      pipeline: 'deploy-app',
      eventId: detail().eventId,
      imageStreamTag: 'team/app:prod',
      image: DIGEST,
      pipelineExecutionId: 'exec-42',
    });
  });

  it('lets a failed start fail the invocation, so Lambda retries and then dead-letters it', async () => {
    const h = loadHandler(() => {
      throw new Error('ConcurrentPipelineExecutionsLimitExceededException');
    });
    await expect(h.handler(input())).rejects.toThrow('ConcurrentPipelineExecutionsLimitExceeded');
  });

  it('sends no image and no source revision for a deleted tag, and the change when asked', () => {
    const { startInput } = loadHandler();
    const d = detail({ change: 'deleted', current: null, generation: null });
    const names = { ...input().variableNames, change: 'CHANGE' };
    expect(startInput(input(d, { variableNames: names }))).toEqual({
      name: 'deploy-app',
      clientRequestToken: token('deploy-app', d.eventId),
      variables: [
        { name: 'IMAGE_STREAM_TAG', value: 'team/app:prod' },
        { name: 'EVENT_ID', value: d.eventId },
        { name: 'CHANGE', value: 'deleted' },
      ],
    });
  });

  it('leaves out variables without a name, and source revisions without a source action', () => {
    const { startInput } = loadHandler();
    const out = startInput(
      input(detail(), {
        sourceActionName: undefined,
        variableNames: { imagePullSpec: 'PULL', eventId: null },
      }),
    );
    expect(out.variables).toEqual([{ name: 'PULL', value: PULL_SPEC }]);
    expect(out.sourceRevisions).toBeUndefined();
    expect(startInput(input(detail(), { variableNames: {} })).variables).toBeUndefined();
  });

  it('rejects events it cannot pin: other versions, missing fields, no current image, bad digests', () => {
    const { startInput } = loadHandler();
    expect(() => startInput(input(detail({ version: '2' })))).toThrow(/unsupported event version "2"/);
    expect(() => startInput(input(detail({ eventId: '' })))).toThrow(/without eventId/);
    expect(() => startInput(input(detail({ current: null })))).toThrow(
      /moved event .* without current image/,
    );
    expect(() => startInput(input(detail({ current: { image: 'latest', pullSpec: PULL_SPEC } })))).toThrow(
      /invalid digest/,
    );
    expect(() => startInput(input(detail({ current: { image: DIGEST, pullSpec: '' } })))).toThrow(
      /no pull spec/,
    );
    expect(() => startInput({ detail: detail() })).toThrow(/no pipelineName/);
    expect(() => startInput(input(null as unknown as Json))).toThrow(/no event detail/);
  });
});

describe('ImageStreamTagTrigger validation', () => {
  const expectError = (props: (s: Stack) => Partial<ImageStreamTagTriggerProps>, message: RegExp) => {
    const stack = newStack();
    const q = new sqs.Queue(stack, 'Q');
    expect(
      () =>
        new ImageStreamTagTrigger(stack, 'Trigger', {
          ...baseProps(stack),
          targets: [new targets.SqsQueue(q)],
          ...props(stack),
        }),
    ).toThrow(message);
  };

  it('rejects empty and invalid names', () => {
    expectError(() => ({ namespace: '' }), /Consumer\/Trigger: namespace must not be empty/);
    expectError(() => ({ stream: '  ' }), /stream must not be empty/);
    expectError(() => ({ tag: '' }), /tag must not be empty/);
    expectError(() => ({ namespace: 'Team_A' }), /namespace: invalid namespace "Team_A"/);
    expectError(() => ({ stream: 'a/b' }), /stream: .*may not contain '\/'/);
    expectError(() => ({ tag: 'bad tag' }), /tag: invalid tag "bad tag"/);
    expectError(() => ({ source: '' }), /source must not be empty/);
  });

  it('rejects empty, unknown and duplicate changes', () => {
    expectError(() => ({ changes: [] }), /changes must not be empty/);
    expectError(() => ({ changes: ['updated' as never] }), /unknown change "updated"/);
    expectError(() => ({ changes: ['moved', 'moved'] }), /changes has duplicates/);
  });

  it('needs a pipeline or targets, and pipeline options only with a pipeline', () => {
    expectError(() => ({ targets: [] }), /nothing to run: give a pipeline, targets, or both/);
    expectError(() => ({ sourceActionName: 'Image' }), /sourceActionName applies to the pipeline start/);
    expectError(
      () => ({ variableNames: { imageDigest: 'D' } }),
      /variableNames applies to the pipeline start/,
    );
    expectError(() => ({ retryAttempts: 3 }), /retryAttempts applies to the pipeline start/);
  });

  it('rejects bad variable names, retry settings, too many targets and a bus in another account', () => {
    expectError(
      (s) => ({ pipeline: v2Pipeline(s), variableNames: { imageDigest: 'has space' } }),
      /invalid pipeline variable name "has space"/,
    );
    expectError(
      (s) => ({ pipeline: v2Pipeline(s), variableNames: { imageDigest: 'X', imagePullSpec: 'X' } }),
      /"X" is used for both imageDigest and imagePullSpec/,
    );
    expectError(
      (s) => ({ pipeline: v2Pipeline(s), variableNames: { digest: 'X' } as never }),
      /unknown variableNames key "digest"/,
    );
    expectError(
      (s) => ({ pipeline: v2Pipeline(s), retryAttempts: 186 }),
      /retryAttempts must be an integer in 0\.\.185/,
    );
    expectError(
      (s) => ({ pipeline: v2Pipeline(s), maxEventAge: Duration.hours(25) }),
      /maxEventAge must be between/,
    );
    expectError(
      (s) => ({ pipeline: v2Pipeline(s), sourceActionName: 'bad name' }),
      /invalid sourceActionName/,
    );
    expectError(
      (s) => ({
        pipeline: v2Pipeline(s),
        targets: [1, 2, 3, 4, 5].map((i) => new targets.SqsQueue(new sqs.Queue(s, `Q${i}`))),
      }),
      /at most 5 targets, this one would have 6/,
    );
    expectError(
      (s) => ({
        eventBus: events.EventBus.fromEventBusArn(s, 'Other', BUS_ARN.replace(ACCOUNT, '210987654321')),
      }),
      /bus is in account 210987654321 but this stack deploys to 123456789012/,
    );
  });

  it('checks a pipeline of the same app at synth: V2, declared variables, an ECR source action', () => {
    const synthError = (build: (s: Stack) => Partial<ImageStreamTagTriggerProps>) => {
      const stack = newStack();
      new ImageStreamTagTrigger(stack, 'Trigger', { ...baseProps(stack), ...build(stack) });
      return () => Template.fromStack(stack);
    };
    expect(
      synthError((s) => ({ pipeline: v2Pipeline(s, 'P', { type: codepipeline.PipelineType.V1 }) })),
    ).toThrow(/must be pipelineType V2 to receive variables/);
    expect(synthError((s) => ({ pipeline: v2Pipeline(s, 'P', { variables: ['IMAGE_DIGEST'] }) }))).toThrow(
      /does not declare the variable\(s\) IMAGE_PULL_SPEC, IMAGE_STREAM_TAG, EVENT_ID/,
    );
    expect(synthError((s) => ({ pipeline: v2Pipeline(s), sourceActionName: 'Missing' }))).toThrow(
      /has no action named "Missing"/,
    );
    expect(synthError((s) => ({ pipeline: v2Pipeline(s), sourceActionName: 'Deploy' }))).toThrow(
      /action "Deploy" .* is not an Amazon ECR source action/,
    );
    // Variables switched off: a pipeline that declares none is fine.
    expect(
      synthError((s) => ({
        pipeline: v2Pipeline(s, 'P', { variables: [] }),
        variableNames: { imageDigest: null, imagePullSpec: null, imageStreamTag: null, eventId: null },
      })),
    ).not.toThrow();
  });

  it('does not check imported pipelines (their variables are not known here)', () => {
    const stack = newStack();
    const pipeline = codepipeline.Pipeline.fromPipelineArn(
      stack,
      'Imported',
      `arn:aws:codepipeline:eu-west-1:${ACCOUNT}:deploy-app`,
    );
    new ImageStreamTagTrigger(stack, 'Trigger', { ...baseProps(stack), pipeline, sourceActionName: 'Image' });
    const t = Template.fromStack(stack);
    const start = starterStatements(t).find((s) => s.Action === 'codepipeline:StartPipelineExecution')!;
    expect(start.Resource).toBe(`arn:aws:codepipeline:eu-west-1:${ACCOUNT}:deploy-app`);
    const rule = rulesOf(t).find((r) => r.EventBusName === 'imagestreams')!;
    expect(transform(rule.Targets[0].InputTransformer.InputTemplate, detail(), {})).toMatchObject({
      pipelineName: 'deploy-app',
    });
  });
});
