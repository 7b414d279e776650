import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../core/imagestream/resolution';
import type { StreamRulesConfig } from '../../core/imagestream/spec-rules';
import type { RegistryCredential } from '../../registry/auth';
import type { RegistryClient } from '../../registry/client';
import type { ImageStore } from '../../store/image-store';
import type { ProjectStore } from '../../store/project-store';
import type { ScheduleStore } from '../../store/schedule-store';
import type { SecretStore } from '../../store/secret-store';
import type { StreamStore } from '../../store/stream-store';
import type { CredentialSealer } from '../access/credential-sealing';
import type { JobSink } from '../jobs/jobs';
import type { KeyedQueue } from './keyed-queue';

/** How imports behave (validated configuration, see functions/config.ts). */
export interface ImportSettings {
  /** Registries imports may use (`host`, `host:port`, `*.domain`); empty allows all. */
  allowedRegistries: string[];
  /** Tags imported from a whole repository at once; -1 = all. */
  maxBulkImported: number;
  /** Platform a Legacy import picks from a manifest list by default. */
  platform: { os: string; architecture: string };
  /** Time budget of one import request (imagestreamimports): its registry work ends by then. */
  timeoutMs: number;
  /** Time budget of one background import job (spec-driven, scheduled, push): its registry work ends by then. */
  jobTimeoutMs: number;
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
  /** Seals registry secrets before they are stored and opens them for imports (KMS in AWS, a key file locally). */
  sealer: CredentialSealer;
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
  /** Who may do what (functions/core/access); the HTTP layer checks every call with it, and T22 checks sources. */
  access: AccessSettings;
  /** Projects and role bindings (functions/store/project-store.ts). */
  projects: ProjectStore;
  /**
   * The caller a request-scoped context acts for (see {@link forCaller}). Background work (jobs, scheduler,
   * push) leaves it unset and acts as one of {@link SYSTEM_ACTORS}.
   */
  caller?: Identity;
  /** The system actor background work records when there is no caller. */
  systemActor?: string;
}

/** Access-control configuration (validated in functions/config.ts). */
export interface AccessSettings {
  /** Members of any of these groups are cluster administrators (every verb, every namespace, /images). */
  clusterAdminGroups: string[];
  /** Members of any of these groups may request projects (OpenShift's self-provisioners). */
  projectRequesterGroups: string[];
  /** How old a remembered read of a project's bindings a read-only request may use (0: none). */
  cacheMs: number;
}

/** The names audit records carry for work no user asked for directly. */
export const SYSTEM_ACTORS = {
  /** Spec-driven imports queued by the change processor after a user's write. */
  importer: 'system:imagestreams:importer',
  /** Scheduled re-imports (importPolicy.scheduled). */
  scheduler: 'system:imagestreams:scheduler',
  /** Re-checks a registry push notification caused. */
  push: 'system:imagestreams:push',
  /** Anything else the service does on its own (sweeps, project deletion). */
  controller: 'system:imagestreams:controller',
} as const;

/** A context that acts for `caller`: audit records name them, access checks (T22) use their rights. */
export function forCaller(ctx: AppContext, caller: Identity): AppContext {
  return { ...ctx, caller };
}

/** A context for background work done as one of {@link SYSTEM_ACTORS}. */
export function asSystem(ctx: AppContext, actor: string): AppContext {
  return { ...ctx, caller: undefined, systemActor: actor };
}

/** The name a write records as its author. */
export function actorOf(ctx: AppContext): string {
  return ctx.caller?.user ?? ctx.systemActor ?? SYSTEM_ACTORS.controller;
}

export function newUid(): string {
  return randomUUID();
}

/** Tag incarnation ids only need to be unique within one stream. */
export function newTid(): string {
  return randomBytes(6).toString('base64url');
}

/** The authenticated caller (same shape in AWS and local mode). */
export interface Identity {
  user: string;
  groups: string[];
}
