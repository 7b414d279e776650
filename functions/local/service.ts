import { join } from 'node:path';
import { buildAppContext } from '../app/build-context';
import { importJobsFor } from '../app/change-processor';
import { readServiceConfig } from '../config';
import { createApiHandler, jsonLogger } from '../http/handler';
import { createDynamoDbClient, ensureTable, startDynamoDbLocal } from './dynamodb-local';
import { serveApi } from './http-server';
import { LocalImportRunner } from './import-runner';
import type { LocalConfig } from './local-config';
import { StreamPoller } from './stream-poller';
import { loadTokens } from './tokens';

export interface LocalService {
  url: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  dynamodbEndpoint: string;
  stop(): Promise<void>;
}

/**
 * The whole service on one machine: DynamoDB Local (unless an endpoint is given), the table from the shared
 * definition, and the Lambda API handler behind a loopback HTTP server.
 */
export async function startLocalService(
  cfg: LocalConfig,
  opts: { log?: (entry: object) => void } = {},
): Promise<LocalService> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const tokens = loadTokens({
      dataDir: cfg.dataDir,
      ...(cfg.ADMIN_TOKEN ? { adminToken: cfg.ADMIN_TOKEN } : {}),
      ...(cfg.LOCAL_TOKENS ? { localTokens: cfg.LOCAL_TOKENS } : {}),
    });
    let endpoint = cfg.DYNAMODB_ENDPOINT;
    if (!endpoint) {
      const ddb = await startDynamoDbLocal({ dataDir: join(cfg.dataDir, 'dynamodb') });
      stops.push(ddb.stop);
      endpoint = ddb.endpoint;
    }
    const client = createDynamoDbClient(endpoint);
    await ensureTable(client, cfg.TABLE_NAME);
    client.destroy();

    const serviceConfig = readServiceConfig({
      ...process.env,
      RUNTIME_MODE: 'local',
      TABLE_NAME: cfg.TABLE_NAME,
      DYNAMODB_ENDPOINT: endpoint,
    });
    const log = opts.log ?? jsonLogger(serviceConfig.LOG_LEVEL);
    const ctx = buildAppContext(serviceConfig);
    const handler = createApiHandler(ctx, log);
    // Spec-driven imports: the table's stream feeds the change processor, whose jobs run in this process.
    const runner = new LocalImportRunner(ctx, log);
    const streamClient = createDynamoDbClient(endpoint);
    const poller = new StreamPoller({
      endpoint,
      table: cfg.TABLE_NAME,
      dynamodb: streamClient,
      checkpointFile: join(cfg.dataDir, `stream-checkpoint-${cfg.TABLE_NAME}.json`),
      onChanges: (changes) => runner.enqueue(importJobsFor(changes)),
      log,
    });
    if (cfg.IMPORT_CONTROLLER === 'on') poller.start();
    stops.push(async () => {
      await poller.stop();
      await runner.stop();
      streamClient.destroy();
    });
    const api = await serveApi({ handler, authenticate: tokens.lookup, port: cfg.PORT, host: cfg.HOST });
    stops.push(api.close);
    return {
      url: api.url,
      adminToken: tokens.adminToken,
      adminTokenGenerated: tokens.generated,
      dynamodbEndpoint: endpoint,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
