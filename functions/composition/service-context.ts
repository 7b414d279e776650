import { ECRClient } from '@aws-sdk/client-ecr';
import { KMSClient } from '@aws-sdk/client-kms';
import type { CredentialSealer } from '../app/ports/credential-sealer';
import { noSealer } from '../app/ports/credential-sealer';
import type { JobSink } from '../app/ports/jobs';
import { type MetricsRecorder, noMetrics } from '../app/ports/metrics';
import type { WatchSettings } from '../app/ports/watch';
import { type AppContext, newTid, newUid } from '../app/shared/context';
import { KeyedQueue } from '../app/shared/keyed-queue';
import { EcrCredentials } from '../aws/ecr-credentials';
import { KmsSealer } from '../aws/kms-sealer';
import type { ServiceConfig } from '../config';
import { StatusError } from '../core/errors';
import { systemClock } from '../core/imagestream/resolution';
import { RegistryClient } from '../registry/client';
import { HttpImageRegistry } from '../registry/image-registry';
import type { HostLookup } from '../registry/network-policy';
import { ImageStore } from '../store/image-store';
import { ProjectStore } from '../store/project-store';
import { ScheduleStore } from '../store/schedule-store';
import { SecretStore } from '../store/secret-store';
import { StreamStore } from '../store/stream-store';
import { WatchLogStore } from '../store/watch-log';
import { noTracing, type Tracing } from '../telemetry/tracing';
import { accessSettings, importSettings, scheduleSettings, streamRules } from './settings';
import { documentClient } from './table';

/**
 * What an entry point hands the service context besides the configuration: `jobs` (the queue its work goes to),
 * `webhookSecret`, `sealer` (local mode: the key file), `registryLookup` (tests resolve registry host names),
 * `writer` (local mode names its write intents), `metrics` (where use cases count).
 */
export interface ServiceParts {
  jobs?: JobSink | undefined;
  webhookSecret?: (() => Promise<string | undefined>) | undefined;
  sealer?: CredentialSealer | undefined;
  registryLookup?: HostLookup | undefined;
  writer?: string | undefined;
  /** Where use cases' metrics go (EMF in AWS, debug log lines locally); none by default. */
  metrics?: MetricsRecorder | undefined;
  /** What traces the AWS clients and registry exchanges (X-Ray in Lambda); nothing by default. */
  tracing?: Tracing | undefined;
  /**
   * How watches work where the service serves them (the watch log itself is built here, on the table); without
   * `settle`, lists settle the log with a probe the change processor answers.
   */
  watch?: (Omit<WatchSettings, 'log' | 'settle'> & Partial<Pick<WatchSettings, 'settle'>>) | undefined;
}

/** What tests and local mode may put in place of a real part. */
export type ContextOverrides = Pick<ServiceParts, 'sealer' | 'registryLookup'>;

/**
 * The whole application context, for the entry points that run use cases of every kind (the API, the job worker,
 * local mode): every store on one DynamoDB client, one registry client, and the sealer. Registry secrets are
 * sealed with `parts.sealer`, else with KMS when SECRETS_KMS_KEY_ARN is set, else not at all. Frozen: nothing
 * changes it after this.
 */
export function serviceContext(cfg: ServiceConfig, parts: ServiceParts = {}): AppContext {
  const tracing = parts.tracing ?? noTracing;
  const sealer =
    parts.sealer ??
    (cfg.SECRETS_KMS_KEY_ARN
      ? new KmsSealer(
          tracing.client(new KMSClient(cfg.AWS_REGION ? { region: cfg.AWS_REGION } : {})),
          cfg.SECRETS_KMS_KEY_ARN,
        )
      : noSealer);
  const db = documentClient(cfg, tracing);
  const metrics = parts.metrics ?? noMetrics;
  const registry = registryClient(cfg, parts);
  return Object.freeze({
    streams: new StreamStore(db, cfg.TABLE_NAME, {
      writer: parts.writer,
      traceRead: tracing.dynamoDbCall,
      ...(cfg.LARGE_CREATE_TIMEOUT_SECONDS
        ? { largeCreateBudgetMs: cfg.LARGE_CREATE_TIMEOUT_SECONDS * 1000 }
        : {}),
    }),
    images: new ImageStore(db, cfg.TABLE_NAME),
    secrets: new SecretStore(db, cfg.TABLE_NAME),
    projects: new ProjectStore(db, cfg.TABLE_NAME),
    schedule: new ScheduleStore(db, cfg.TABLE_NAME),
    sealer,
    registry: new HttpImageRegistry(registry),
    // ECR through IAM only where there is an IAM role to speak for: in AWS.
    externalCredentials:
      cfg.RUNTIME_MODE === 'aws'
        ? new EcrCredentials(Date.now, (region) => tracing.client(new ECRClient({ region })))
        : undefined,
    jobs: parts.jobs,
    webhookSecret: parts.webhookSecret,
    access: accessSettings(cfg),
    scheduling: scheduleSettings(cfg),
    rules: streamRules(cfg),
    imports: importSettings(cfg),
    clock: systemClock,
    newUid,
    newTid,
    tagWrites: new KeyedQueue(),
    metrics,
    ...(parts.watch
      ? { watch: watchSettings(parts.watch, new WatchLogStore(db, cfg.TABLE_NAME, parts.watch.retentionMs)) }
      : {}),
  });
}

/** The registry client of one process, with the configuration's network policy, limits and metrics. */
export function registryClient(
  cfg: ServiceConfig,
  parts: Pick<ServiceParts, 'metrics' | 'tracing' | 'registryLookup'>,
): RegistryClient {
  const tracing = parts.tracing ?? noTracing;
  const metrics = parts.metrics ?? noMetrics;
  return new RegistryClient({
    // Every exchange that reached a registry, per host: the request count and its 429s.
    onExchange: ({ url, status }) => {
      const registry = new URL(url).host;
      metrics.record('registryRequests', 1, { registry });
      if (status === 429) metrics.record('registryRateLimited', 1, { registry });
    },
    ...(tracing.registryExchange ? { traceExchange: tracing.registryExchange } : {}),
    network: {
      allowPrivateNetworks: cfg.RUNTIME_MODE === 'local',
      allowedPrivateHosts: cfg.ALLOWED_PRIVATE_REGISTRIES,
      insecureRegistries: cfg.INSECURE_REGISTRIES,
    },
    maxConcurrentPerHost: cfg.REGISTRY_MAX_CONCURRENCY,
    headersTimeoutMs: cfg.REGISTRY_TIMEOUT_SECONDS * 1000,
    bodyIdleTimeoutMs: cfg.REGISTRY_TIMEOUT_SECONDS * 1000,
    exchangeTimeoutMs: cfg.REGISTRY_TIMEOUT_SECONDS * 1000,
    ...(parts.registryLookup ? { lookup: parts.registryLookup } : {}),
  });
}

/** How long a list waits for the change processor to answer its probe before it gives up (504, try again). */
const PROBE_TIMEOUT_MS = 5_000;

function watchSettings(parts: NonNullable<ServiceParts['watch']>, log: WatchLogStore): WatchSettings {
  return {
    ...parts,
    log,
    settle:
      parts.settle ??
      (async () => {
        try {
          await log.probe(PROBE_TIMEOUT_MS);
        } catch (e) {
          throw new StatusError(504, 'Timeout', `${(e as Error).message}; try again`, {
            retryAfterSeconds: 1,
          });
        }
      }),
  };
}
