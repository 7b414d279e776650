import { CfnCondition, CfnOutput, CfnParameter, Duration, Fn, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type CfnKey, Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnSubscription, type CfnTopic, type CfnTopicPolicy, Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS, METRICS_NAMESPACE, type MetricDefinition } from '../functions/telemetry/metrics';

/**
 * Alarm thresholds, in one place (docs/operations.md explains each and what to do when it fires). Periods are
 * CloudWatch periods; `periods` is how many consecutive ones must breach.
 */
export const ALARM_THRESHOLDS = {
  /** Any message in a dead-letter queue is work the service gave up on. */
  deadLetterMessages: { atLeast: 1, period: Duration.minutes(1), periods: 1 },
  /** The change processor is this far behind the table (stream records expire after 24 h; we give up at 12 h). */
  streamIteratorAgeMs: { above: 10 * 60_000, period: Duration.minutes(5), periods: 2 },
  /** Share of API requests answered 5xx, once at least `minRequests` came in a period. */
  api5xxPercent: { above: 5, minRequests: 20, period: Duration.minutes(5), periods: 2 },
  /** p99 of API Gateway's end-to-end latency (imports may legitimately take up to 25 s). */
  apiLatencyP99Ms: { above: 10_000, period: Duration.minutes(5), periods: 3 },
  /** Invocations that failed (a crash, a timeout, an unhandled error). */
  functionErrors: { atLeast: 3, period: Duration.minutes(5), periods: 1 },
  /** Throttled invocations, sustained (a short burst against a concurrency cap is by design). */
  functionThrottles: { atLeast: 1, period: Duration.minutes(5), periods: 3 },
  /** Share of tag imports that failed, once at least `minImports` ran in a period. */
  importFailurePercent: { above: 25, minImports: 10, period: Duration.minutes(5), periods: 3 },
} as const;

export interface ServiceObservabilityProps {
  /** Every function of the service, by the name its alarms and widgets carry. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Every dead-letter queue of the service, by name. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** The job queue (its depth and age are on the dashboard). */
  readonly jobQueue: IQueue;
  /** The function reading the table stream (IteratorAge). */
  readonly streamProcessor: IFunction;
  readonly api: IHttpApi;
  /** How often scheduled tags are re-checked: the "no scheduled cycle" alarm waits two of these. */
  readonly importIntervalSeconds: number;
}

/** An alarm action given by ARN (a topic this stack creates, or one the deployer names). */
class ArnAlarmAction implements IAlarmAction {
  constructor(private readonly arn: string) {}
  bind() {
    return { alarmActionArn: this.arn };
  }
}

/** A metric of the service's own catalogue (functions/telemetry/metrics.ts), exactly as emitted. */
export function serviceMetric(def: MetricDefinition, period: Duration, label?: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: def.name,
    dimensionsMap: { ...def.dimensions },
    statistic: def.statistic,
    period,
    ...(label ? { label } : {}),
  });
}

/**
 * What an on-call engineer watches: one alarm per failure mode (every dead-letter queue, the stream's iterator
 * age, the API's 5xx rate and p99 latency, every function's errors and throttles, the import failure rate, and
 * "no scheduled re-import in two intervals"), all notifying one SNS topic, and a dashboard of the same signals.
 *
 * The topic is a stack parameter: `AlarmTopicArn` names an existing topic (nothing is created), otherwise the
 * stack creates one (encrypted with its own key, TLS only) and subscribes `AlarmEmail` to it when given.
 */
export class ServiceObservability extends Construct {
  readonly alarms: Alarm[] = [];
  /** The ARN alarms notify (the parameter's topic, or the created one). */
  readonly alarmTopicArn: string;
  /** The created topic (absent from the deployed template when AlarmTopicArn is set). */
  readonly topic: Topic;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ServiceObservabilityProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const emailParam = new CfnParameter(stack, 'AlarmEmail', {
      type: 'String',
      default: '',
      allowedPattern: '^$|^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
      constraintDescription: 'must be an e-mail address, or empty',
      description:
        'E-mail address subscribed to the alarm topic (confirm the subscription mail SNS sends). Empty: no subscription.',
    });
    const topicParam = new CfnParameter(stack, 'AlarmTopicArn', {
      type: 'String',
      default: '',
      allowedPattern: '^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$',
      constraintDescription: 'must be an SNS topic ARN, or empty',
      description:
        'Existing SNS topic the alarms notify (e.g. one wired to your paging tool). Empty: the stack creates a topic (output AlarmTopicArn).',
    });
    const useExistingTopic = new CfnCondition(this, 'use-existing-topic', {
      expression: Fn.conditionNot(Fn.conditionEquals(topicParam.valueAsString, '')),
    });
    const createTopic = new CfnCondition(this, 'create-topic', {
      expression: Fn.conditionEquals(topicParam.valueAsString, ''),
    });
    const subscribeEmail = new CfnCondition(this, 'subscribe-email', {
      expression: Fn.conditionNot(Fn.conditionEquals(emailParam.valueAsString, '')),
    });

    // CloudWatch can publish to an encrypted topic only with a customer managed key whose policy lets it use
    // the key (the AWS managed aws/sns key cannot be granted to CloudWatch).
    const key = new Key(this, 'alarm-topic-key', {
      description: 'imagestreams: encrypts the alarm topic',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'alarm-topic', {
      displayName: 'imagestreams alarms',
      masterKey: key,
      enforceSSL: true,
    });
    (key.node.defaultChild as CfnKey).cfnOptions.condition = createTopic;
    (this.topic.node.defaultChild as CfnTopic).cfnOptions.condition = createTopic;
    for (const child of this.topic.node.findAll())
      if (child.node.id === 'Resource' && child.node.scope?.node.id === 'Policy')
        (child as CfnTopicPolicy).cfnOptions.condition = createTopic;

    this.alarmTopicArn = Fn.conditionIf(
      useExistingTopic.logicalId,
      topicParam.valueAsString,
      this.topic.topicArn,
    ).toString();
    const subscription = new CfnSubscription(this, 'alarm-email', {
      protocol: 'email',
      endpoint: emailParam.valueAsString,
      topicArn: this.alarmTopicArn,
    });
    subscription.cfnOptions.condition = subscribeEmail;
    const notify = new ArnAlarmAction(this.alarmTopicArn);

    const alarm = (
      id: string,
      runbook: string,
      description: string,
      metric: IMetric,
      threshold: number,
      comparisonOperator: ComparisonOperator,
      periods: number,
      treatMissingData = TreatMissingData.NOT_BREACHING,
    ): Alarm => {
      const a = new Alarm(this, id, {
        alarmDescription: `${description} Runbook: docs/operations.md#${runbook}`,
        metric,
        threshold,
        comparisonOperator,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        treatMissingData,
      });
      a.addAlarmAction(notify);
      a.addOkAction(notify);
      this.alarms.push(a);
      return a;
    };
    const T = ALARM_THRESHOLDS;

    // Dead-letter queues: any message is work given up on.
    const dlqMetrics: IMetric[] = [];
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      const m = queue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: T.deadLetterMessages.period,
        label: name,
      });
      dlqMetrics.push(m);
      alarm(
        `dlq-${name}`,
        'dead-letter-queue-not-empty',
        `Dead-letter queue ${name} holds messages: work the service gave up on.`,
        m,
        T.deadLetterMessages.atLeast,
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        T.deadLetterMessages.periods,
      );
    }

    // The table stream: how far behind the change processor is.
    const iteratorAge = props.streamProcessor.metric('IteratorAge', {
      statistic: 'Maximum',
      period: T.streamIteratorAgeMs.period,
      label: 'stream iterator age (max)',
    });
    alarm(
      'stream-iterator-age',
      'stream-iterator-age',
      'The change processor is falling behind the table stream (events and jobs are late).',
      iteratorAge,
      T.streamIteratorAgeMs.above,
      ComparisonOperator.GREATER_THAN_THRESHOLD,
      T.streamIteratorAgeMs.periods,
    );

    // The HTTP API (API Gateway's metrics, by API id).
    const apiMetric = (metricName: string, statistic: string, period: Duration, label: string) =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: props.api.apiId },
        statistic,
        period,
        label,
      });
    const requests = apiMetric('Count', 'Sum', T.api5xxPercent.period, 'requests');
    const serverErrors = apiMetric('5xx', 'Sum', T.api5xxPercent.period, '5xx');
    const api5xxRate = new MathExpression({
      expression: `IF(requests >= ${T.api5xxPercent.minRequests}, 100 * errors / requests, 0)`,
      usingMetrics: { requests, errors: serverErrors },
      period: T.api5xxPercent.period,
      label: '5xx %',
    });
    alarm(
      'api-5xx-rate',
      'api-5xx-rate',
      `More than ${T.api5xxPercent.above}% of API requests answered 5xx.`,
      api5xxRate,
      T.api5xxPercent.above,
      ComparisonOperator.GREATER_THAN_THRESHOLD,
      T.api5xxPercent.periods,
    );
    const latencyP99 = apiMetric('Latency', 'p99', T.apiLatencyP99Ms.period, 'latency p99');
    alarm(
      'api-latency-p99',
      'api-latency-p99',
      `API p99 latency above ${T.apiLatencyP99Ms.above} ms.`,
      latencyP99,
      T.apiLatencyP99Ms.above,
      ComparisonOperator.GREATER_THAN_THRESHOLD,
      T.apiLatencyP99Ms.periods,
    );

    // Every function: errors and throttles.
    const errorMetrics: IMetric[] = [];
    const throttleMetrics: IMetric[] = [];
    const durationMetrics: IMetric[] = [];
    const concurrencyMetrics: IMetric[] = [];
    for (const [name, fn] of Object.entries(props.functions)) {
      const errors = fn.metricErrors({ statistic: 'Sum', period: T.functionErrors.period, label: name });
      const throttles = fn.metricThrottles({
        statistic: 'Sum',
        period: T.functionThrottles.period,
        label: name,
      });
      errorMetrics.push(errors);
      throttleMetrics.push(throttles);
      durationMetrics.push(fn.metricDuration({ statistic: 'p99', period: Duration.minutes(5), label: name }));
      concurrencyMetrics.push(
        fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: Duration.minutes(1), label: name }),
      );
      alarm(
        `${name}-errors`,
        'function-errors',
        `Function ${name} failed invocations (crashes, timeouts, unhandled errors).`,
        errors,
        T.functionErrors.atLeast,
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        T.functionErrors.periods,
      );
      alarm(
        `${name}-throttles`,
        'function-throttles',
        `Function ${name} is being throttled, sustained.`,
        throttles,
        T.functionThrottles.atLeast,
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        T.functionThrottles.periods,
      );
    }

    // The service's own metrics (functions/telemetry/metrics.ts).
    const P = T.importFailurePercent.period;
    const imported = serviceMetric(METRICS.importSucceeded, P, 'imports succeeded');
    const importFailed = serviceMetric(METRICS.importFailed, P, 'imports failed');
    const importFailureRate = new MathExpression({
      expression: `IF(ok + failed >= ${T.importFailurePercent.minImports}, 100 * failed / (ok + failed), 0)`,
      usingMetrics: { ok: imported, failed: importFailed },
      period: P,
      label: 'import failure %',
    });
    alarm(
      'import-failure-rate',
      'import-failure-rate',
      `More than ${T.importFailurePercent.above}% of tag imports failed.`,
      importFailureRate,
      T.importFailurePercent.above,
      ComparisonOperator.GREATER_THAN_THRESHOLD,
      T.importFailurePercent.periods,
    );
    // Two consecutive periods of one interval each without a completed scan: no scheduled re-import ran for two
    // whole intervals. Missing data breaches: a scheduler that stopped emits nothing at all.
    const intervalPeriod = Duration.seconds(
      Math.min(86_400, Math.max(60, Math.ceil(props.importIntervalSeconds / 60) * 60)),
    );
    const scans = serviceMetric(METRICS.scheduledScanSucceeded, intervalPeriod, 'scheduled scans');
    alarm(
      'scheduled-cycle-missing',
      'scheduled-cycle-missing',
      'No scheduled scan completed in two import intervals: scheduled re-imports have stopped.',
      scans,
      1,
      ComparisonOperator.LESS_THAN_THRESHOLD,
      2,
      TreatMissingData.BREACHING,
    );

    this.dashboard = new Dashboard(this, 'dashboard', {
      defaultInterval: Duration.hours(6),
    });
    const graph = (title: string, left: IMetric[], width = 8, right?: IMetric[]) =>
      new GraphWidget({ title, left, ...(right ? { right } : {}), width, height: 6 });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# imagestreams\nEach alarm below has a runbook entry in `docs/operations.md` (anchor = alarm id).',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }));
    this.dashboard.addWidgets(
      graph('API requests and 5xx', [requests, serverErrors], 8, [api5xxRate]),
      graph('API latency p99 (ms)', [latencyP99]),
      graph('Stream iterator age (ms)', [iteratorAge]),
    );
    this.dashboard.addWidgets(
      graph('Dead-letter queues (messages)', dlqMetrics),
      graph('Job queue', [
        props.jobQueue.metricApproximateNumberOfMessagesVisible({ label: 'visible' }),
        props.jobQueue.metricApproximateNumberOfMessagesNotVisible({ label: 'in flight' }),
      ]),
      graph('Job queue: oldest message age (s)', [
        props.jobQueue.metricApproximateAgeOfOldestMessage({ label: 'oldest' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Function errors', errorMetrics, 6),
      graph('Function throttles', throttleMetrics, 6),
      graph('Function duration p99 (ms)', durationMetrics, 6),
      graph('Concurrent executions', concurrencyMetrics, 6),
    );
    this.dashboard.addWidgets(
      graph('Imports', [imported, importFailed], 8, [importFailureRate]),
      graph('Scheduled scans per interval', [scans]),
      graph('Events published and failed jobs', [
        serviceMetric(METRICS.eventsPublished, Duration.minutes(5), 'events published'),
        serviceMetric(METRICS.jobFailed, Duration.minutes(5), 'job attempts failed'),
        serviceMetric(METRICS.scheduledTagsChecked, Duration.minutes(5), 'scheduled tags checked'),
      ]),
    );

    new CfnOutput(stack, 'AlarmTopic', {
      value: this.topic.topicArn,
      description: 'The SNS topic the alarms notify (created when the AlarmTopicArn parameter is empty)',
      condition: createTopic,
    });
    new CfnOutput(stack, 'DashboardName', { value: this.dashboard.dashboardName });
  }
}
