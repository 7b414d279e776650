import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../core/imagestream/resolution';
import type { StreamRulesConfig } from '../core/imagestream/spec-rules';
import type { ImageStore } from '../store/image-store';
import type { StreamStore } from '../store/stream-store';
import type { KeyedQueue } from './keyed-queue';

/** Everything a use case needs, built once per process (see functions/handlers/api.ts and functions/local). */
export interface AppContext {
  streams: StreamStore;
  images: ImageStore;
  rules: StreamRulesConfig;
  clock: Clock;
  newUid: () => string;
  newTid: () => string;
  /** Serializes writes to one tag within this process. */
  tagWrites: KeyedQueue;
}

export function newUid(): string {
  return randomUUID();
}

/** Tag incarnation ids only need to be unique within one stream. */
export function newTid(): string {
  return randomBytes(6).toString('base64url');
}

/** The authenticated caller (same shape in AWS and local mode; authorization comes with the access-control issue). */
export interface Identity {
  user: string;
  groups: string[];
}
