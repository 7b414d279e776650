import type { ServiceConfig } from '../config';
import { systemClock } from '../core/imagestream/resolution';
import { createDocumentClient } from '../store/dynamodb-client';
import { ImageStore } from '../store/image-store';
import { StreamStore } from '../store/stream-store';
import { type AppContext, newTid, newUid } from './context';
import { KeyedQueue } from './keyed-queue';

export function buildAppContext(cfg: ServiceConfig): AppContext {
  const db = createDocumentClient({
    ...(cfg.DYNAMODB_ENDPOINT ? { endpoint: cfg.DYNAMODB_ENDPOINT } : {}),
    ...(cfg.AWS_REGION ? { region: cfg.AWS_REGION } : {}),
  });
  return {
    streams: new StreamStore(db, cfg.TABLE_NAME),
    images: new ImageStore(db, cfg.TABLE_NAME),
    rules: {
      defaultImportMode: cfg.DEFAULT_IMPORT_MODE,
      ...(cfg.INTERNAL_REGISTRY_HOSTNAME ? { internalRegistryHostname: cfg.INTERNAL_REGISTRY_HOSTNAME } : {}),
      ...(cfg.EXTERNAL_REGISTRY_HOSTNAME ? { externalRegistryHostname: cfg.EXTERNAL_REGISTRY_HOSTNAME } : {}),
    },
    clock: systemClock,
    newUid,
    newTid,
    tagWrites: new KeyedQueue(),
  };
}
