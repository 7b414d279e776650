import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS, METRICS_NAMESPACE, SERVICE_DIMENSION } from '../../functions/telemetry/metrics';
import { ALARM_THRESHOLDS } from '../../infra/observability';
import { ServiceStack } from '../../infra/service-stack';
import { StatefulStack } from '../../infra/stateful-stack';

/**
 * What an on-call engineer gets from the service stack: alarms on every failure mode, notifying a topic chosen by
 * stack parameters, a dashboard of the same signals, traces, and throttles/concurrency caps.
 */
type Json = Record<string, any>;
let stack: ServiceStack;
let t: Template;
let template: Json;

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const s = new StatefulStack(app, 'Stateful');
  stack = new ServiceStack(app, 'Service', { table: s.table, secretsKey: s.secretsKey });
  t = Template.fromStack(stack);
  template = t.toJSON();
});

const resources = (type: string): [string, Json][] =>
  Object.entries(template.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
const alarms = () => resources('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as Json);
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);
const fnIds = () =>
  [
    stack.apiFunction,
    stack.changeProcessor,
    stack.jobWorker,
    stack.schedulerTick,
    stack.pushEvents,
    stack.registryFunction,
    stack.watchFunction,
  ].map(idOf);
/**
 * An alarm's single metric as {Namespace, MetricName, Dimensions, Stat} (CDK renders a labelled metric in the
 * `Metrics` form), or undefined for a math alarm.
 */
function singleMetric(a: Json): Json | undefined {
  if (a.MetricName)
    return {
      Namespace: a.Namespace,
      MetricName: a.MetricName,
      Dimensions: a.Dimensions,
      Stat: a.Statistic ?? a.ExtendedStatistic,
      Period: a.Period,
    };
  const stats = (a.Metrics ?? []) as Json[];
  if (stats.length !== 1 || !stats[0]!.MetricStat) return undefined;
  const { Metric, Stat, Period } = stats[0]!.MetricStat;
  return { ...Metric, Stat, Period };
}
/** The alarms whose single metric is `name` in `namespace` with dimension `dim` = a Ref/GetAtt of `id`. */
const alarmsOn = (namespace: string, name: string, dim: string, id: string) =>
  alarms().filter((a) => {
    const m = singleMetric(a);
    return (
      m?.Namespace === namespace &&
      m.MetricName === name &&
      JSON.stringify(m.Dimensions ?? []).includes(`{"Name":"${dim}","Value":{"`) &&
      JSON.stringify(m.Dimensions).includes(`"${id}"`)
    );
  });
const EFFECTIVE_TOPIC = {
  'Fn::If': [
    expect.stringMatching(/^observabilityuseexistingtopic/),
    { Ref: 'AlarmTopicArn' },
    { Ref: expect.stringMatching(/^observabilityalarmtopic/) },
  ],
};

describe('alarms', () => {
  it('watch every dead-letter queue of the stack: any visible message alarms', () => {
    const queues = [
      stack.importDeadLetterQueue,
      stack.streamDeadLetterQueue,
      stack.schedulerDeadLetterQueue,
      stack.pushEventsDeadLetterQueue,
    ];
    // Every queue that is some function's, event source's, target's or queue's dead-letter queue is one of these.
    const dlqRefs = new Set<string>();
    JSON.stringify(template, (k, v) => {
      if (['DeadLetterConfig', 'OnFailure', 'RedrivePolicy'].includes(k)) {
        for (const m of JSON.stringify(v).matchAll(/"Fn::GetAtt":\["([^"]+)","Arn"\]/g)) dlqRefs.add(m[1]!);
      }
      return v;
    });
    expect([...dlqRefs].sort()).toEqual(queues.map(idOf).sort());
    for (const q of queues) {
      const found = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', idOf(q));
      expect(found, q.node.path).toHaveLength(1);
      expect(singleMetric(found[0]!)!.Stat).toBe('Maximum');
      expect(found[0]).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it("watch the table stream's iterator age at the change processor", () => {
    const [a] = alarmsOn('AWS/Lambda', 'IteratorAge', 'FunctionName', idOf(stack.changeProcessor));
    expect(singleMetric(a!)!.Stat).toBe('Maximum');
    expect(a).toMatchObject({
      Threshold: ALARM_THRESHOLDS.streamIteratorAgeMs.above,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it("watch the API's 5xx rate and p99 latency by API id", () => {
    const api = idOf(stack.api);
    const rate = alarms().find((a) => JSON.stringify(a.Metrics ?? []).includes('"5xx"'));
    expect(rate).toBeDefined();
    const expr = rate!.Metrics.find((m: Json) => m.Expression);
    expect(expr.Expression).toBe('IF(requests >= 20, 100 * errors / requests, 0)');
    const inputs = rate!.Metrics.filter((m: Json) => m.MetricStat).map((m: Json) => m.MetricStat.Metric);
    expect(inputs).toEqual(
      expect.arrayContaining([
        {
          Namespace: 'AWS/ApiGateway',
          MetricName: '5xx',
          Dimensions: [{ Name: 'ApiId', Value: { Ref: api } }],
        },
        {
          Namespace: 'AWS/ApiGateway',
          MetricName: 'Count',
          Dimensions: [{ Name: 'ApiId', Value: { Ref: api } }],
        },
      ]),
    );
    expect(rate!.Threshold).toBe(ALARM_THRESHOLDS.api5xxPercent.above);
    const [latency] = alarmsOn('AWS/ApiGateway', 'Latency', 'ApiId', api);
    expect(singleMetric(latency!)!.Stat).toBe('p99');
    expect(latency!.Threshold).toBe(10_000);
  });

  it('watch errors and throttles of every function', () => {
    const functions = resources('AWS::Lambda::Function').map(([id]) => id);
    expect(functions.sort()).toEqual(fnIds().sort());
    for (const fn of fnIds()) {
      expect(alarmsOn('AWS/Lambda', 'Errors', 'FunctionName', fn), fn).toHaveLength(1);
      expect(alarmsOn('AWS/Lambda', 'Throttles', 'FunctionName', fn), fn).toHaveLength(1);
    }
  });

  it('watch the import failure rate and the scheduled cycle through the metrics catalogue', () => {
    const custom = (a: Json) =>
      (a.Metrics ?? [{ MetricStat: { Metric: a } }])
        .filter((m: Json) => m.MetricStat)
        .map((m: Json) => m.MetricStat.Metric)
        .filter((m: Json) => m.Namespace === METRICS_NAMESPACE);
    const failure = alarms().find((a) => custom(a).some((m: Json) => m.MetricName === 'ImportFailed'));
    expect(
      custom(failure!)
        .map((m: Json) => m.MetricName)
        .sort(),
    ).toEqual([METRICS.importFailed.name, METRICS.importSucceeded.name].sort());
    for (const m of custom(failure!))
      expect(m.Dimensions).toEqual([{ Name: 'service', Value: SERVICE_DIMENSION.service }]);
    expect(failure!.Metrics.find((m: Json) => m.Expression).Expression).toBe(
      'IF(ok + failed >= 10, 100 * failed / (ok + failed), 0)',
    );

    const cycle = alarms().find((a) => singleMetric(a)?.MetricName === METRICS.scheduledScanSucceeded.name)!;
    expect(singleMetric(cycle)).toEqual({
      Namespace: METRICS_NAMESPACE,
      MetricName: 'ScheduledScanSucceeded',
      Dimensions: [{ Name: 'service', Value: 'imagestreams' }],
      Stat: 'Sum',
      // One period per import interval (900 s by default), two of them empty: two intervals without a scan.
      Period: 900,
    });
    expect(cycle).toMatchObject({
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('all notify the same topic, on alarm and on recovery, and link their runbook entry', () => {
    expect(alarms().length).toBe(4 + 1 + 2 + 7 * 2 + 2);
    for (const a of alarms()) {
      expect(a.AlarmActions).toEqual([EFFECTIVE_TOPIC]);
      expect(a.OKActions).toEqual([EFFECTIVE_TOPIC]);
      expect(a.AlarmDescription).toMatch(/Runbook: docs\/operations\.md#[a-z0-9-]+$/);
    }
  });
});

describe('the alarm topic', () => {
  it('is a parameter: an existing topic, or one the stack creates (encrypted, TLS only) with an e-mail subscription', () => {
    t.hasParameter('AlarmTopicArn', { Type: 'String', Default: '' });
    t.hasParameter('AlarmEmail', { Type: 'String', Default: '' });
    const [topicId, topic] = resources('AWS::SNS::Topic')[0]!;
    expect(topic.Condition).toMatch(/createtopic/);
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    const [, key] = resources('AWS::KMS::Key')[0]!;
    expect(key.Condition).toBe(topic.Condition);
    expect(JSON.stringify(key.Properties.KeyPolicy)).toContain('cloudwatch.amazonaws.com');
    const [, policy] = resources('AWS::SNS::TopicPolicy')[0]!;
    expect(policy.Condition).toBe(topic.Condition);
    expect(JSON.stringify(policy.Properties)).toContain('aws:SecureTransport');
    const [, sub] = resources('AWS::SNS::Subscription')[0]!;
    expect(sub.Condition).toMatch(/subscribeemail/);
    expect(sub.Properties).toMatchObject({
      Protocol: 'email',
      Endpoint: { Ref: 'AlarmEmail' },
      TopicArn: { 'Fn::If': [expect.any(String), { Ref: 'AlarmTopicArn' }, { Ref: topicId }] },
    });
    const conditions = template.Conditions as Json;
    expect(conditions[topic.Condition]).toEqual({ 'Fn::Equals': [{ Ref: 'AlarmTopicArn' }, ''] });
    expect(conditions[sub.Condition]).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmEmail' }, ''] }] });
  });
});

describe('the dashboard', () => {
  it('shows the alarms and the same signals', () => {
    const [, dash] = resources('AWS::CloudWatch::Dashboard')[0]!;
    const body = JSON.stringify(dash.Properties.DashboardBody);
    for (const text of [
      'ApproximateNumberOfMessagesVisible',
      'IteratorAge',
      '5xx',
      'Latency',
      'Errors',
      'Throttles',
      METRICS.importFailed.name,
      METRICS.importSucceeded.name,
      METRICS.scheduledScanSucceeded.name,
      '"type\\":\\"alarm\\"',
    ])
      expect(body, text).toContain(text);
    for (const [id] of resources('AWS::CloudWatch::Alarm')) expect(body).toContain(id);
  });
});

describe('tracing, throttling and concurrency', () => {
  it('traces every function (X-Ray active)', () => {
    for (const [id, fn] of resources('AWS::Lambda::Function'))
      expect(fn.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
  });

  it('throttles every route of the API stage by default, the webhook route tighter', () => {
    const [, stage] = resources('AWS::ApiGatewayV2::Stage')[0]!;
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
    expect(stage.Properties.RouteSettings['POST /webhooks/{format}']).toEqual({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 100,
    });
  });

  it('caps the job worker (queue maxConcurrency) and the push events function (reserved concurrency)', () => {
    const queueMapping = resources('AWS::Lambda::EventSourceMapping').find(([, m]) =>
      JSON.stringify(m.Properties.EventSourceArn).includes(idOf(stack.importQueue)),
    )!;
    expect(queueMapping[1].Properties.ScalingConfig).toEqual({ MaximumConcurrency: 10 });
    expect(template.Resources[idOf(stack.pushEvents)].Properties.ReservedConcurrentExecutions).toBe(10);
  });

  it('refuses settings outside what Lambda allows, at synth', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const s = new StatefulStack(app, 'S');
    expect(
      () =>
        new ServiceStack(app, 'A', { table: s.table, secretsKey: s.secretsKey, jobWorkerMaxConcurrency: 1 }),
    ).toThrow(/jobWorkerMaxConcurrency must be an integer from 2 to 1000/);
  });
});
