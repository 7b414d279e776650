import type { PullContext } from '../app/registry-api/pull';
import type { AppContext } from '../app/shared/context';
import type { Log } from '../app/shared/log';
import type { ServiceConfig } from '../config';
import { HttpImageRegistry } from '../registry/image-registry';
import { ManifestStore } from '../store/manifest-store';
import { registryClient, type ServiceParts } from './service-context';
import { documentClient } from './table';

/**
 * What pulling through streams needs (functions/app/registry-api/pull.ts): the service context's stores and
 * credentials, the project manifest store, and a registry client of its own, so clients pulling blobs never hold
 * the connection slots imports wait for.
 */
export function pullContext(
  cfg: ServiceConfig,
  ctx: AppContext,
  log: Log,
  parts: Pick<ServiceParts, 'metrics' | 'tracing' | 'registryLookup'> = {},
): PullContext {
  return {
    streams: ctx.streams,
    projects: ctx.projects,
    secrets: ctx.secrets,
    sealer: ctx.sealer,
    access: ctx.access,
    externalCredentials: ctx.externalCredentials,
    manifests: new ManifestStore(documentClient(cfg, parts.tracing), cfg.TABLE_NAME),
    pullThrough: new HttpImageRegistry(registryClient(cfg, parts)),
    upstreamTimeoutMs: cfg.REGISTRY_TIMEOUT_SECONDS * 1000,
    ...(cfg.MAX_STREAMED_BLOB_BYTES ? { maxStreamedBlobBytes: cfg.MAX_STREAMED_BLOB_BYTES } : {}),
    log,
  };
}
