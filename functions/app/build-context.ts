import { KMSClient } from '@aws-sdk/client-kms';
import { EcrCredentials } from '../aws/ecr-credentials';
import { KmsSealer } from '../aws/kms-sealer';
import type { ServiceConfig } from '../config';
import { systemClock } from '../core/imagestream/resolution';
import { RegistryClient } from '../registry/client';
import type { HostLookup } from '../registry/network-policy';
import { createDocumentClient } from '../store/dynamodb-client';
import { ImageStore } from '../store/image-store';
import { ProjectStore } from '../store/project-store';
import { ScheduleStore } from '../store/schedule-store';
import { SecretStore } from '../store/secret-store';
import { StreamStore } from '../store/stream-store';
import { type AppContext, newTid, newUid } from './context';
import { type CredentialSealer, noSealer } from './credential-sealing';
import { KeyedQueue } from './keyed-queue';

/**
 * What a caller may put in place of a real part: `sealer` seals registry secrets (local mode: the key file),
 * `registryLookup` resolves registry host names (tests).
 */
export interface ContextOverrides {
  sealer?: CredentialSealer;
  registryLookup?: HostLookup;
}

/**
 * The context of one process. Registry secrets are sealed with `overrides.sealer`, else with KMS when
 * SECRETS_KMS_KEY_ARN is set (the functions that handle secrets; their handlers require it), else not at all:
 * functions that never touch secret content get no key.
 */
export function buildAppContext(cfg: ServiceConfig, overrides: ContextOverrides = {}): AppContext {
  const sealer =
    overrides.sealer ??
    (cfg.SECRETS_KMS_KEY_ARN
      ? new KmsSealer(
          new KMSClient(cfg.AWS_REGION ? { region: cfg.AWS_REGION } : {}),
          cfg.SECRETS_KMS_KEY_ARN,
        )
      : noSealer);
  const db = createDocumentClient({
    ...(cfg.DYNAMODB_ENDPOINT ? { endpoint: cfg.DYNAMODB_ENDPOINT } : {}),
    ...(cfg.AWS_REGION ? { region: cfg.AWS_REGION } : {}),
  });
  return {
    streams: new StreamStore(
      db,
      cfg.TABLE_NAME,
      cfg.LARGE_CREATE_TIMEOUT_SECONDS
        ? { largeCreateBudgetMs: cfg.LARGE_CREATE_TIMEOUT_SECONDS * 1000 }
        : {},
    ),
    images: new ImageStore(db, cfg.TABLE_NAME),
    secrets: new SecretStore(db, cfg.TABLE_NAME),
    sealer,
    projects: new ProjectStore(db, cfg.TABLE_NAME),
    access: {
      clusterAdminGroups: cfg.CLUSTER_ADMIN_GROUPS,
      projectRequesterGroups: cfg.PROJECT_REQUESTER_GROUPS,
      cacheMs: cfg.ACCESS_CACHE_SECONDS * 1000,
    },
    schedule: new ScheduleStore(db, cfg.TABLE_NAME),
    scheduling: {
      intervalSeconds: cfg.IMPORT_INTERVAL_SECONDS,
      tickSeconds:
        cfg.SCHEDULER_TICK_SECONDS ?? Math.min(60, Math.max(1, Math.floor(cfg.IMPORT_INTERVAL_SECONDS / 10))),
      perMinute: cfg.SCHEDULED_IMPORTS_PER_MINUTE,
      perRegistryPerMinute: cfg.SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE,
      pushCoalesceMs: cfg.PUSH_COALESCE_SECONDS * 1000,
    },
    rules: {
      defaultImportMode: cfg.DEFAULT_IMPORT_MODE,
      ...(cfg.INTERNAL_REGISTRY_HOSTNAME ? { internalRegistryHostname: cfg.INTERNAL_REGISTRY_HOSTNAME } : {}),
      ...(cfg.EXTERNAL_REGISTRY_HOSTNAME ? { externalRegistryHostname: cfg.EXTERNAL_REGISTRY_HOSTNAME } : {}),
    },
    clock: systemClock,
    newUid,
    newTid,
    tagWrites: new KeyedQueue(),
    registry: new RegistryClient({
      network: {
        allowPrivateNetworks: cfg.RUNTIME_MODE === 'local',
        allowedPrivateHosts: cfg.ALLOWED_PRIVATE_REGISTRIES,
        insecureRegistries: cfg.INSECURE_REGISTRIES,
      },
      maxConcurrentPerHost: cfg.REGISTRY_MAX_CONCURRENCY,
      headersTimeoutMs: cfg.REGISTRY_TIMEOUT_SECONDS * 1000,
      bodyIdleTimeoutMs: cfg.REGISTRY_TIMEOUT_SECONDS * 1000,
      exchangeTimeoutMs: cfg.REGISTRY_TIMEOUT_SECONDS * 1000,
      ...(overrides.registryLookup ? { lookup: overrides.registryLookup } : {}),
    }),
    // ECR through IAM only where there is an IAM role to speak for: in AWS.
    ...(cfg.RUNTIME_MODE === 'aws' ? { externalCredentials: new EcrCredentials() } : {}),
    imports: {
      allowedRegistries: cfg.ALLOWED_REGISTRIES_FOR_IMPORT,
      maxBulkImported: cfg.MAX_IMAGES_BULK_IMPORTED_PER_REPOSITORY,
      platform: {
        os: cfg.IMPORT_PLATFORM.split('/')[0]!,
        architecture: cfg.IMPORT_PLATFORM.split('/')[1]!,
      },
      timeoutMs: cfg.IMPORT_TIMEOUT_SECONDS * 1000,
      jobTimeoutMs: cfg.IMPORT_JOB_TIMEOUT_SECONDS * 1000,
    },
  };
}
