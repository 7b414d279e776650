import { join } from 'node:path';
import { buildAppContext } from '../app/build-context';
import { readServiceConfig } from '../config';
import { createApiHandler, jsonLogger } from '../http/handler';
import { createDynamoDbClient, ensureTable, startDynamoDbLocal } from './dynamodb-local';
import { serveApi } from './http-server';
import type { LocalConfig } from './local-config';
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
    const handler = createApiHandler(
      buildAppContext(serviceConfig),
      opts.log ?? jsonLogger(serviceConfig.LOG_LEVEL),
    );
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
