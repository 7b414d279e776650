import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { serviceContext } from '../composition/service-context';
import { readServiceConfig, requireSetting } from '../config';
import { identityOf } from '../http/api';
import { createApiHandler } from '../http/handler';
import { lambdaTelemetry } from '../telemetry/lambda-telemetry';
import { wrapHandler } from './wrap';

/** Lambda entry of the HTTP API: configuration and clients are built once per container, then never changed. */
const config = readServiceConfig();
const telemetry = lambdaTelemetry(config.LOG_LEVEL);
// Secrets are sealed on write and opened for synchronous imports with this key (serviceContext uses it).
requireSetting(config, 'SECRETS_KMS_KEY_ARN');
const ctx = serviceContext(config, {
  jobs: config.IMPORT_QUEUE_URL
    ? new SqsJobSink(telemetry.tracing.client(new SQSClient({})), config.IMPORT_QUEUE_URL)
    : undefined,
  webhookSecret: config.WEBHOOK_SECRET_ARN ? secretValue(config.WEBHOOK_SECRET_ARN) : undefined,
  metrics: telemetry.metrics,
  tracing: telemetry.tracing,
  // Lists of imagestreams and imagestreamtags answer a position of the watch log, and writes take positions as
  // preconditions. Watches go to the watch function, whose lists are exact (settled with a probe through the change
  // processor); the API's lists do not wait for that round trip: a watch from one of them misses nothing, though a
  // change committed just before the list may come again as an event (docs/watch.md).
  watch: {
    settle: async () => {},
    pollMs: config.WATCH_POLL_MS,
    retentionMs: config.WATCH_RETENTION_SECONDS * 1000,
    gapGraceMs: 5_000,
    maxSeconds: config.WATCH_MAX_SECONDS,
  },
});
export const handler = wrapHandler(
  telemetry,
  {
    correlationId: (event) => event.requestContext?.requestId,
    caller: (event) => identityOf(event)?.user,
  },
  createApiHandler(ctx, telemetry.log),
);

/**
 * A Secrets Manager secret read on first use and kept for the container's life (a rotation reaches new containers
 * within minutes); a failed read is tried again on the next use.
 */
function secretValue(arn: string): () => Promise<string | undefined> {
  let secret: Promise<string | undefined> | undefined;
  return () => {
    secret ??= telemetry.tracing
      .client(new SecretsManagerClient({}))
      .send(new GetSecretValueCommand({ SecretId: arn }))
      .then((r) => r.SecretString || undefined)
      .catch((e: unknown) => {
        secret = undefined;
        throw e;
      });
    return secret;
  };
}
