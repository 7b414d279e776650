import { App } from 'aws-cdk-lib';
import { ConsoleStack } from './console-stack';
import { addNagChecks } from './nag-suppressions';
import { ServiceStack } from './service-stack';
import { StatefulStack } from './stateful-stack';

/** Environment-agnostic app: synthesizes offline; `cdk deploy` picks the account and region from the CLI. */
const app = new App();
const ctx = (key: string) => {
  const v = app.node.tryGetContext(key) as unknown;
  return v === undefined || v === null || v === '' ? undefined : String(v);
};
/** A numeric setting from `-c key=value` (a string) or cdk.json (a number); the stack checks the range. */
const num = (key: string) => {
  const v = ctx(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`context ${key}: not a number: ${v}`);
  return n;
};
const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

const stateful = new StatefulStack(app, 'ImageStreams-Stateful', { description: 'imagestreams: data' });
const service = new ServiceStack(app, 'ImageStreams-Service', {
  description: 'imagestreams: API and functions',
  table: stateful.table,
  secretsKey: stateful.secretsKey,
  ...optional('internalRegistryHostname', ctx('internalRegistryHostname')),
  ...optional('externalRegistryHostname', ctx('externalRegistryHostname')),
  ...optional('eventSource', ctx('eventSource')),
  ...optional('eventBusName', ctx('eventBusName')),
  ...optional('importIntervalSeconds', num('importIntervalSeconds')),
  ...optional('scheduledImportsPerMinute', num('scheduledImportsPerMinute')),
  ...optional('scheduledImportsPerRegistryPerMinute', num('scheduledImportsPerRegistryPerMinute')),
  ...optional('pushCoalesceSeconds', num('pushCoalesceSeconds')),
  ...optional('jobWorkerMaxConcurrency', num('jobWorkerMaxConcurrency')),
  ...optional('pushEventsReservedConcurrency', num('pushEventsReservedConcurrency')),
  ...optional('apiThrottleRateLimit', num('apiThrottleRateLimit')),
  ...optional('apiThrottleBurstLimit', num('apiThrottleBurstLimit')),
});
/** cdk-nag's AWS Solutions and Serverless packs run on every synth; accepted findings: infra/nag-suppressions.ts. */
addNagChecks(app);
new ConsoleStack(app, 'ImageStreams-Console', {
  description: 'imagestreams: web console (S3 + CloudFront)',
  api: service.api,
});
