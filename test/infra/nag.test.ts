import { App, Stack, Validations } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { NagPack } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConsoleStack } from '../../infra/console-stack';
import { ImageStreamTagTrigger } from '../../infra/constructs';
import { addNagChecks, nagPacks } from '../../infra/nag-suppressions';
import { ServiceStack } from '../../infra/service-stack';
import { StatefulStack } from '../../infra/stateful-stack';

/**
 * cdk-nag's AWS Solutions and Serverless packs over every stack the project deploys, and over a consumer stack
 * using ImageStreamTagTrigger: no finding, error or warning, that infra/nag-suppressions.ts does not acknowledge
 * (each acknowledgement on one construct, with its reason).
 */
function buildApp(): { app: App; stacks: Stack[] } {
  // Bundling off: the packs read templates, not bundles.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stateful = new StatefulStack(app, 'ImageStreams-Stateful');
  const service = new ServiceStack(app, 'ImageStreams-Service', {
    table: stateful.table,
    secretsKey: stateful.secretsKey,
  });
  const console = new ConsoleStack(app, 'ImageStreams-Console', { api: service.api });
  const consumer = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
  const bus = events.EventBus.fromEventBusArn(
    consumer,
    'Bus',
    'arn:aws:events:eu-west-1:123456789012:event-bus/imagestreams',
  );
  // The trigger's own resources only: an imported pipeline and a plain queue target bring none of their own.
  new ImageStreamTagTrigger(consumer, 'Deploy', {
    eventBus: bus,
    namespace: 'team',
    stream: 'app',
    tag: 'prod',
    pipeline: codepipeline.Pipeline.fromPipelineArn(
      consumer,
      'Pipeline',
      'arn:aws:codepipeline:eu-west-1:123456789012:deploy-app',
    ),
  });
  return { app, stacks: [stateful, service, console, consumer] };
}

/**
 * Every finding of `packs` over `app`, as `severity rule path` lines. After a synth, as `cdk synth` runs them:
 * references between stacks are then imports, and finding ids name them so.
 */
function findings(app: App, packs: NagPack[] = nagPacks()): string[] {
  app.synth();
  return packs.flatMap((pack) =>
    pack
      .validateScope(app)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.severity} ${v.ruleName} ${r.constructPath}`),
      ),
  );
}

describe('cdk-nag (AwsSolutions, Serverless)', () => {
  it('finds nothing unacknowledged in the stateful, service and console stacks and a trigger consumer', () => {
    const { app, stacks } = buildApp();
    expect(stacks.map((s) => s.stackName)).toEqual([
      'ImageStreams-Stateful',
      'ImageStreams-Service',
      'ImageStreams-Console',
      'Consumer',
    ]);
    expect(findings(app)).toEqual([]);
  });

  it('checks what it claims: both packs report errors and warnings once the acknowledgements are gone', () => {
    const { app } = buildApp();
    // Strip every acknowledgement the stacks recorded (Node#metadata returns a copy: edit the list itself).
    for (const c of app.node.findAll()) {
      const md = (c.node as unknown as { _metadata?: { type: string }[] })._metadata ?? [];
      for (let i = md.length - 1; i >= 0; i--)
        if (md[i]!.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) md.splice(i, 1);
    }
    const raw = findings(app);
    expect(raw.some((f) => f.startsWith('error AwsSolutions-'))).toBe(true);
    expect(raw.some((f) => f.startsWith('error Serverless-'))).toBe(true);
    expect(raw.some((f) => f.startsWith('warning '))).toBe(true);
    // Each acknowledgement is narrow: the stacks' acknowledged findings are on resources, never whole stacks.
    expect(raw).toContain('error AwsSolutions-L1 ImageStreams-Service/api-fn/Resource');
    expect(raw).toContain('error AwsSolutions-SMG4 ImageStreams-Service/webhook-secret/Resource');
  });

  it('acknowledges per resource: the same rule on a new resource is reported', () => {
    const { app } = buildApp();
    const service = app.node.findChild('ImageStreams-Service') as ServiceStack;
    // A second secret without rotation, and a new queue that is no DLQ and has none: both must be findings.
    new Secret(service, 'unrotated');
    new sqs.Queue(service, 'plain', { enforceSSL: true });
    const found = findings(app);
    expect(found).toContain('error AwsSolutions-SMG4 ImageStreams-Service/unrotated/Resource');
    expect(found).toContain('error AwsSolutions-SQS3 ImageStreams-Service/plain/Resource');
  });

  it('runs as CDK validation plugins on synth, as infra/app.ts registers them', () => {
    const { app } = buildApp();
    addNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });
});
