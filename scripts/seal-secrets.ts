/**
 * `npm run seal-secrets`: seals the registry secrets that versions before sealing stored in clear, in place (each
 * only if unchanged since read; resourceVersions kept). Secrets are read in clear until then, and sealed anyway
 * on their next write; local mode runs this at every start. Safe to run again: it finds nothing the second time.
 *
 * AWS: TABLE_NAME, SECRETS_KMS_KEY_ARN (the stateful stack's SecretsKeyArn output), credentials allowed to Scan
 * and UpdateItem the table and to call kms:GenerateDataKey on the key. A local data dir: TABLE_NAME,
 * DYNAMODB_ENDPOINT and SECRETS_KEY_FILE (its existing key; a missing one is not created).
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { sealUnsealedSecrets } from '../functions/app/imports/secret-credentials';
import type { CredentialSealer } from '../functions/app/ports/credential-sealer';
import { KmsSealer } from '../functions/aws/kms-sealer';
import { readServiceConfig } from '../functions/config';
import { KeyFileSealer, loadOrCreateKeyFile } from '../functions/local/key-file-sealer';
import { createDocumentClient } from '../functions/store/dynamodb-client';
import { SecretStore } from '../functions/store/secret-store';

try {
  const cfg = readServiceConfig();
  const keyFile = process.env.SECRETS_KEY_FILE;
  let sealer: CredentialSealer;
  if (cfg.SECRETS_KMS_KEY_ARN && keyFile)
    throw new Error('invalid configuration:\n  set SECRETS_KMS_KEY_ARN or SECRETS_KEY_FILE, not both');
  if (cfg.SECRETS_KMS_KEY_ARN)
    sealer = new KmsSealer(
      new KMSClient(cfg.AWS_REGION ? { region: cfg.AWS_REGION } : {}),
      cfg.SECRETS_KMS_KEY_ARN,
    );
  else if (keyFile)
    sealer = new KeyFileSealer(await loadOrCreateKeyFile(keyFile, 'SECRETS_KEY_FILE', { create: false }));
  else
    throw new Error(
      'invalid configuration:\n  SECRETS_KMS_KEY_ARN (AWS) or SECRETS_KEY_FILE (local): one is required',
    );
  const db = createDocumentClient({
    ...(cfg.DYNAMODB_ENDPOINT ? { endpoint: cfg.DYNAMODB_ENDPOINT } : {}),
    ...(cfg.AWS_REGION ? { region: cfg.AWS_REGION } : {}),
  });
  const sealed = await sealUnsealedSecrets({ secrets: new SecretStore(db, cfg.TABLE_NAME), sealer });
  db.destroy();
  console.log(
    `sealed ${sealed} registry secret${sealed === 1 ? '' : 's'} stored in clear in ${cfg.TABLE_NAME}`,
  );
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
