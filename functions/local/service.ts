import { join } from 'node:path';
import { buildAppContext } from '../app/build-context';
import { pullSpecResolver, workForChanges } from '../app/change-processor';
import { readServiceConfig } from '../config';
import { webhookAuthorized } from '../core/push/notifications';
import { createApiHandler, jsonLogger } from '../http/handler';
import { createDynamoDbClient, ensureTable, startDynamoDbLocal } from './dynamodb-local';
import { LocalEventSink } from './event-sink';
import { serveApi } from './http-server';
import { LocalJobRunner } from './job-runner';
import type { LocalConfig } from './local-config';
import { SchedulerTimer } from './scheduler-timer';
import { StreamPoller } from './stream-poller';
import { loadTokens } from './tokens';

export interface LocalService {
  url: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  dynamodbEndpoint: string;
  /** Where events are appended (one EventBridge event per line). */
  eventsFile: string;
  /** Resolves when no background job is queued or running. */
  jobsIdle(): Promise<void>;
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
    const webhookSecret = serviceConfig.WEBHOOK_SECRET;
    ctx.webhookSecret = async () => webhookSecret;
    const runner = new LocalJobRunner(ctx, log, cfg.JOB_CONCURRENCY);
    ctx.jobs = runner;
    const handler = createApiHandler(ctx, log);
    // The change processor: the table's stream yields events (file + webhooks) and jobs (run in this process).
    // Events are flushed before the stream checkpoint moves, so a crash re-derives them instead of losing them.
    const eventsFile = cfg.EVENTS_FILE ?? join(cfg.dataDir, 'events.ndjson');
    const events = new LocalEventSink({
      file: eventsFile,
      source: serviceConfig.EVENT_SOURCE,
      webhookUrls: cfg.EVENT_WEBHOOK_URLS,
      webhookSecret: cfg.EVENT_WEBHOOK_SECRET,
      log,
    });
    const resolve = pullSpecResolver(ctx.rules);
    const streamClient = createDynamoDbClient(endpoint);
    const poller = new StreamPoller({
      endpoint,
      table: cfg.TABLE_NAME,
      dynamodb: streamClient,
      checkpointFile: join(cfg.dataDir, `stream-checkpoint-${cfg.TABLE_NAME}.json`),
      pollMs: cfg.STREAM_POLL_MS,
      onChanges: async (changes) => {
        const work = workForChanges(changes, resolve);
        await events.publish(work.events);
        const jobs =
          cfg.IMPORT_CONTROLLER === 'on' ? work.jobs : work.jobs.filter((j) => j.kind !== 'import');
        await runner.enqueue(jobs);
      },
      log,
    });
    poller.start();
    const scheduler = new SchedulerTimer(ctx, runner, log);
    if (cfg.SCHEDULER === 'on') scheduler.start();
    stops.push(async () => {
      scheduler.stop();
      await poller.stop();
      await runner.stop();
      await events.stop();
      streamClient.destroy();
    });
    const api = await serveApi({
      handler,
      authenticate: tokens.lookup,
      admitsWebhook: (authorization, query) =>
        !!webhookSecret && webhookAuthorized(webhookSecret, authorization, query.get('token') ?? undefined),
      port: cfg.PORT,
      host: cfg.HOST,
    });
    stops.push(api.close);
    return {
      url: api.url,
      adminToken: tokens.adminToken,
      adminTokenGenerated: tokens.generated,
      dynamodbEndpoint: endpoint,
      eventsFile,
      jobsIdle: () => runner.whenIdle(),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
