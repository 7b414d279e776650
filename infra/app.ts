import { App } from 'aws-cdk-lib';
import { ServiceStack } from './service-stack';
import { StatefulStack } from './stateful-stack';

/** Environment-agnostic app: synthesizes offline; `cdk deploy` picks the account and region from the CLI. */
const app = new App();
const ctx = (key: string) => app.node.tryGetContext(key) as string | undefined;
const stateful = new StatefulStack(app, 'ImageStreams-Stateful', { description: 'imagestreams: data' });
new ServiceStack(app, 'ImageStreams-Service', {
  description: 'imagestreams: API and functions',
  table: stateful.table,
  ...(ctx('internalRegistryHostname') ? { internalRegistryHostname: ctx('internalRegistryHostname') } : {}),
  ...(ctx('externalRegistryHostname') ? { externalRegistryHostname: ctx('externalRegistryHostname') } : {}),
});
