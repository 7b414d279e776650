import type { AccessSettings, ImportSettings, ScheduleSettings } from '../app/shared/context';
import type { ServiceConfig } from '../config';
import type { StreamRulesConfig } from '../core/imagestream/spec-rules';

/** The validated configuration (functions/config.ts) as the settings the use cases take. Pure. */

export function streamRules(cfg: ServiceConfig): StreamRulesConfig {
  return {
    defaultImportMode: cfg.DEFAULT_IMPORT_MODE,
    ...(cfg.INTERNAL_REGISTRY_HOSTNAME ? { internalRegistryHostname: cfg.INTERNAL_REGISTRY_HOSTNAME } : {}),
    ...(cfg.EXTERNAL_REGISTRY_HOSTNAME ? { externalRegistryHostname: cfg.EXTERNAL_REGISTRY_HOSTNAME } : {}),
  };
}

export function scheduleSettings(cfg: ServiceConfig): ScheduleSettings {
  return {
    intervalSeconds: cfg.IMPORT_INTERVAL_SECONDS,
    tickSeconds:
      cfg.SCHEDULER_TICK_SECONDS ?? Math.min(60, Math.max(1, Math.floor(cfg.IMPORT_INTERVAL_SECONDS / 10))),
    perMinute: cfg.SCHEDULED_IMPORTS_PER_MINUTE,
    perRegistryPerMinute: cfg.SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE,
    pushCoalesceMs: cfg.PUSH_COALESCE_SECONDS * 1000,
  };
}

export function accessSettings(cfg: ServiceConfig): AccessSettings {
  return {
    clusterAdminGroups: cfg.CLUSTER_ADMIN_GROUPS,
    projectRequesterGroups: cfg.PROJECT_REQUESTER_GROUPS,
    cacheMs: cfg.ACCESS_CACHE_SECONDS * 1000,
  };
}

export function importSettings(cfg: ServiceConfig): ImportSettings {
  const [os, architecture] = cfg.IMPORT_PLATFORM.split('/');
  return {
    allowedRegistries: cfg.ALLOWED_REGISTRIES_FOR_IMPORT,
    maxBulkImported: cfg.MAX_IMAGES_BULK_IMPORTED_PER_REPOSITORY,
    platform: { os: os!, architecture: architecture! },
    timeoutMs: cfg.IMPORT_TIMEOUT_SECONDS * 1000,
    jobTimeoutMs: cfg.IMPORT_JOB_TIMEOUT_SECONDS * 1000,
  };
}
