import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { pullSpecResolver, recordPublished, workForChanges } from '../app/events/change-processor';
import { sealUnsealedSecrets } from '../app/imports/secret-credentials';
import { runJob } from '../app/jobs/job-runner';
import type { AppContext } from '../app/shared/context';
import { logWatchChanges } from '../app/watch/watch-feed';
import { pullContext } from '../composition/registry-context';
import { type ContextOverrides, serviceContext } from '../composition/service-context';
import { readServiceConfig } from '../config';
import { StatusError } from '../core/errors';
import { webhookAuthorized } from '../core/push/notifications';
import { createApiHandler } from '../http/handler';
import { createRegistryDispatcher } from '../http/registry';
import { serveWatch } from '../http/watch';
import { createDocumentClient } from '../store/dynamodb-client';
import { ImageStore } from '../store/image-store';
import type { LogOutput } from '../telemetry/logger';
import { localTelemetry } from '../telemetry/telemetry';
import { createDynamoDbClient, ensureTable, startDynamoDbLocal } from './dynamodb-local';
import { LocalEventSink } from './event-sink';
import { type LocalTlsInfo, serveApi, type WatchServer } from './http-server';
import { LocalJobRunner } from './job-runner';
import { KeyFileSealer, loadOrCreateKeyFile } from './key-file-sealer';
import type { LocalConfig } from './local-config';
import { SchedulerTimer } from './scheduler-timer';
import { StreamPoller } from './stream-poller';
import { type LocalTls, loadOrCreateTls } from './tls';
import { loadTokens } from './tokens';

export interface LocalService {
  url: string;
  /** The HTTPS URL, when TLS_PORT is set. */
  tlsUrl?: string;
  /** The CA (PEM) that signed the HTTPS listener's certificate, when TLS_PORT is set. */
  caPem?: string;
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
  opts: {
    /** Where log lines go instead of stdout (redacted attributes, as the JSON line would have them). */
    logOutput?: LogOutput;
  } & ContextOverrides = {},
): Promise<LocalService> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    // Before anything starts: a bad key file stops the start with a message naming it.
    const sealer = new KeyFileSealer(
      await loadOrCreateKeyFile(
        cfg.secretsKeyFile,
        cfg.SECRETS_KEY_FILE ? 'SECRETS_KEY_FILE' : '$DATA_DIR/secret-key',
      ),
    );
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

    // The service is its own registry (docs/registry.md): unless told otherwise, Local pull specs and
    // status.dockerImageRepository name this server, so what the API hands out is pullable as it is. The port is
    // settled first for that (PORT=0 takes a free one now).
    const port = cfg.PORT || (await freeLoopbackPort(cfg.HOST));
    const serviceConfig = readServiceConfig({
      INTERNAL_REGISTRY_HOSTNAME: `${registryHost(cfg.HOST)}:${port}`,
      ...process.env,
      RUNTIME_MODE: 'local',
      TABLE_NAME: cfg.TABLE_NAME,
      DYNAMODB_ENDPOINT: endpoint,
    });
    const telemetry = localTelemetry(serviceConfig.LOG_LEVEL, opts.logOutput);
    const { log } = telemetry;
    const webhookSecret = serviceConfig.WEBHOOK_SECRET;
    const startedAt = Date.now();
    // Names this data directory's writes in their write intents: after a crash, the restarted process knows the
    // intents its predecessor left are abandoned, without waiting for them to age.
    const writer = writerId(cfg.dataDir);
    // Accepted jobs live in a journal next to the stream checkpoint, so a crash loses none of them. The runner
    // and the context need each other: jobs run with the context, which queues into the runner. The runner
    // starts (and so calls `execute`) only once the context below exists.
    let ctx: AppContext | undefined;
    const runner = await LocalJobRunner.open({
      journalFile: join(cfg.dataDir, `jobs-${cfg.TABLE_NAME}.ndjson`),
      deadLetterFile: join(cfg.dataDir, `jobs-dead-letter-${cfg.TABLE_NAME}.ndjson`),
      concurrency: cfg.JOB_CONCURRENCY,
      perProjectConcurrency: cfg.JOB_CONCURRENCY_PER_PROJECT,
      execute: (job, sink) => runJob(ctx!, job, sink, log),
      log,
      metrics: telemetry.metrics,
    });
    stops.push(() => runner.stop());
    // Lists and watches wait for the stream poller (below) to drain the table's stream into the watch log.
    let poller: StreamPoller | undefined;
    ctx = serviceContext(serviceConfig, {
      watch: {
        settle: async () => {
          try {
            await poller?.settle();
          } catch (e) {
            throw new StatusError(504, 'Timeout', `${(e as Error).message}; try again`, {
              retryAfterSeconds: 1,
            });
          }
        },
        pollMs: cfg.WATCH_POLL_MS,
        retentionMs: cfg.WATCH_RETENTION_SECONDS * 1000,
        gapGraceMs: 5_000,
        maxSeconds: cfg.WATCH_MAX_SECONDS,
      },
      sealer,
      registryLookup: opts.registryLookup,
      writer,
      jobs: runner,
      webhookSecret: async () => webhookSecret,
      metrics: telemetry.metrics,
    });
    // Secrets an older version stored in clear are sealed now, before the first request or import reads them.
    const resealed = await sealUnsealedSecrets(ctx);
    if (resealed) log({ level: 'info', message: 'sealed registry secrets stored in clear', count: resealed });
    runner.start();
    // What a killed predecessor was writing when it died (history written ahead, a large create) is swept now.
    await runner.enqueue([{ kind: 'orphans', writer, before: startedAt }]);
    const handler = createApiHandler(ctx, log);
    const serviceCtx = ctx;
    const watch: WatchServer = (event, out) => serveWatch(serviceCtx, event, out);
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
    const watchLog = ctx.watch!.log;
    // The watch log's writer reads images through a store of its own: the API's in-process cache of project image
    // records serves requests, and the change processor runs elsewhere in AWS (warming it here would make local
    // reads differ from AWS ones).
    const feedDb = createDocumentClient({ endpoint });
    const feedContext = {
      streams: ctx.streams,
      images: new ImageStore(feedDb, cfg.TABLE_NAME),
      rules: ctx.rules,
    };
    poller = new StreamPoller({
      endpoint,
      table: cfg.TABLE_NAME,
      dynamodb: streamClient,
      checkpointFile: join(cfg.dataDir, `stream-checkpoint-${cfg.TABLE_NAME}.json`),
      pollMs: cfg.STREAM_POLL_MS,
      onChanges: async (changes) => {
        await logWatchChanges(feedContext, watchLog, changes);
        const work = workForChanges(changes, resolve);
        await events.publish(work.events);
        recordPublished(telemetry.metrics, work.events);
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
      await events.stop();
      streamClient.destroy();
      feedDb.destroy();
    });
    const registry = createRegistryDispatcher({
      ctx: pullContext(serviceConfig, ctx, log, {
        metrics: telemetry.metrics,
        registryLookup: opts.registryLookup,
      }),
      authenticate: tokens.lookup,
      tokenKey: loadOrCreateRegistryTokenKey(cfg.dataDir),
    });
    const listen = {
      handler,
      registry,
      watch,
      authenticate: tokens.lookup,
      admitsWebhook: (authorization: string | undefined, query: URLSearchParams) =>
        !!webhookSecret && webhookAuthorized(webhookSecret, authorization, query.get('token') ?? undefined),
      host: cfg.HOST,
      tlsInfo: () => tlsInfo,
      log,
    };
    let tlsInfo: LocalTlsInfo | undefined;
    let tls: LocalTls | undefined;
    if (cfg.TLS_PORT !== undefined) {
      tls = loadOrCreateTls(join(cfg.dataDir, 'tls'), [cfg.HOST]);
      const secure = await serveApi({ ...listen, port: cfg.TLS_PORT, tls });
      stops.push(secure.close);
      tlsInfo = {
        kind: 'LocalTLS',
        url: secure.url,
        port: Number(new URL(secure.url).port),
        certificateAuthorityData: Buffer.from(tls.caPem).toString('base64'),
      };
    }
    const api = await serveApi({ ...listen, port });
    stops.push(api.close);
    return {
      url: api.url,
      ...(tlsInfo && tls ? { tlsUrl: tlsInfo.url, caPem: tls.caPem } : {}),
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

/** A port the kernel has free on `host` now (closed again at once: the caller binds it next). */
function freeLoopbackPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The host clients reach a server listening on `host` at: loopback for a wildcard address, IPv6 in brackets. */
function registryHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The key registry bearer tokens are signed with (docs/registry.md), made once and kept in
 * `$DATA_DIR/registry-token-key` (owner-only), so tokens survive a restart.
 */
function loadOrCreateRegistryTokenKey(dataDir: string): Buffer {
  const file = join(dataDir, 'registry-token-key');
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
    if (key.length >= 32) return key;
  }
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600 });
  return key;
}

/** This data directory's writer id, made once and kept in `$DATA_DIR/writer-id`. */
function writerId(dataDir: string): string {
  const file = join(dataDir, 'writer-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  }
  const id = `local-${randomUUID()}`;
  writeFileSync(file, `${id}\n`);
  return id;
}
