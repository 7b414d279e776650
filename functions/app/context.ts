import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../core/imagestream/resolution';
import type { StreamRulesConfig } from '../core/imagestream/spec-rules';
import type { RegistryCredential } from '../registry/auth';
import type { RegistryClient } from '../registry/client';
import type { ImageStore } from '../store/image-store';
import type { ScheduleStore } from '../store/schedule-store';
import type { SecretStore } from '../store/secret-store';
import type { StreamStore } from '../store/stream-store';
import type { JobSink } from './jobs';
import type { KeyedQueue } from './keyed-queue';

/** How imports behave (validated configuration, see functions/config.ts). */
export interface ImportSettings {
  /** Registries imports may use (`host`, `host:port`, `*.domain`); empty allows all. */
  allowedRegistries: string[];
  /** Tags imported from a whole repository at once; -1 = all. */
  maxBulkImported: number;
  /** Platform a Legacy import picks from a manifest list by default. */
  platform: { os: string; architecture: string };
  /** Time budget of one import request. */
  timeoutMs: number;
}

/** Scheduled re-import and push handling (reference §6.2; functions/config.ts documents each). */
export interface ScheduleSettings {
  intervalSeconds: number;
  tickSeconds: number;
  perMinute: number;
  perRegistryPerMinute: number;
  /** Notifications for one repository:tag within this window become one re-check. */
  pushCoalesceMs: number;
}

/** Registry credentials that come from somewhere other than namespace secrets (ECR through IAM). */
export interface ExternalCredentials {
  handles(host: string): boolean;
  get(host: string, refresh: boolean): Promise<RegistryCredential | undefined>;
}

/** Everything a use case needs, built once per process (see functions/handlers/api.ts and functions/local). */
export interface AppContext {
  streams: StreamStore;
  images: ImageStore;
  secrets: SecretStore;
  rules: StreamRulesConfig;
  clock: Clock;
  newUid: () => string;
  newTid: () => string;
  /** Serializes writes to one tag within this process. */
  tagWrites: KeyedQueue;
  registry: RegistryClient;
  imports: ImportSettings;
  schedule: ScheduleStore;
  scheduling: ScheduleSettings;
  /** The job queue (SQS in AWS, the in-process runner locally); set once the runner exists. */
  jobs?: JobSink;
  /** The shared secret registry webhooks send; undefined disables them. */
  webhookSecret?: () => Promise<string | undefined>;
  externalCredentials?: ExternalCredentials;
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
