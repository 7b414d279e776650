import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { buildAppContext } from '../app/shared/build-context';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { readServiceConfig, requireSetting } from '../config';
import { createApiHandler } from '../http/handler';
import { jsonLogger } from '../logging';

/** Lambda entry of the HTTP API: configuration and clients are built once per container. */
const config = readServiceConfig();
// Secrets are sealed on write and opened for synchronous imports with this key (buildAppContext uses it).
requireSetting(config, 'SECRETS_KMS_KEY_ARN');
const ctx = buildAppContext(config);
if (config.IMPORT_QUEUE_URL) ctx.jobs = new SqsJobSink(new SQSClient({}), config.IMPORT_QUEUE_URL);
if (config.WEBHOOK_SECRET_ARN) {
  const arn = config.WEBHOOK_SECRET_ARN;
  // Read on first use and kept for the container's life; a rotation reaches new containers within minutes.
  let secret: Promise<string | undefined> | undefined;
  ctx.webhookSecret = () => {
    secret ??= new SecretsManagerClient({})
      .send(new GetSecretValueCommand({ SecretId: arn }))
      .then((r) => r.SecretString || undefined)
      .catch((e: unknown) => {
        secret = undefined;
        throw e;
      });
    return secret;
  };
}
export const handler = createApiHandler(ctx, jsonLogger(config.LOG_LEVEL));
