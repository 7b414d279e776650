import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../core/imagestream/resolution';
import type { StreamRulesConfig } from '../../core/imagestream/spec-rules';
import type { CredentialSealer } from '../ports/credential-sealer';
import type { ImageRepository } from '../ports/images';
import type { JobSink } from '../ports/jobs';
import type { MetricsRecorder } from '../ports/metrics';
import type { ProjectRepository } from '../ports/projects';
import type { ExternalCredentials, ImageRegistry } from '../ports/registry';
import type { ScheduleRepository } from '../ports/schedule';
import type { SecretRepository } from '../ports/secrets';
import type { StreamRepository } from '../ports/streams';
import type { WatchSettings } from '../ports/watch';
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

/** Scheduled re-import and push handling (docs/semantics.md#scheduled-import; functions/config.ts documents each). */
export interface ScheduleSettings {
  intervalSeconds: number;
  tickSeconds: number;
  perMinute: number;
  perRegistryPerMinute: number;
  /** Notifications for one repository:tag within this window become one re-check. */
  pushCoalesceMs: number;
}

/**
 * Everything a use case may need, as ports (functions/app/ports) and settings, built once per process by a
 * composition root (functions/handlers/*.ts, functions/local/service.ts) and never changed afterwards. A use case
 * declares the part it uses (`Pick<AppContext, ...>`), so an entry point builds only that.
 */
export interface AppContext {
  readonly streams: StreamRepository;
  readonly images: ImageRepository;
  readonly secrets: SecretRepository;
  /** Seals registry secrets before they are stored and opens them for imports (KMS in AWS, a key file locally). */
  readonly sealer: CredentialSealer;
  readonly rules: StreamRulesConfig;
  readonly clock: Clock;
  readonly newUid: () => string;
  readonly newTid: () => string;
  /** Serializes writes to one tag within this process. */
  readonly tagWrites: KeyedQueue;
  readonly registry: ImageRegistry;
  readonly imports: ImportSettings;
  readonly schedule: ScheduleRepository;
  readonly scheduling: ScheduleSettings;
  /** The job queue (SQS in AWS, the in-process runner locally); undefined where no queue is configured. */
  readonly jobs?: JobSink | undefined;
  /** The shared secret registry webhooks send; undefined disables them. */
  readonly webhookSecret?: (() => Promise<string | undefined>) | undefined;
  readonly externalCredentials?: ExternalCredentials | undefined;
  /**
   * Who may do what (functions/core/access); the HTTP layer checks every call with it, and tag writes check
   * cross-project sources with it (docs/semantics.md#cross-project-sources).
   */
  readonly access: AccessSettings;
  /** Projects and role bindings. */
  readonly projects: ProjectRepository;
  /**
   * The caller a request-scoped context acts for (see {@link forCaller}). Background work (jobs, scheduler,
   * push) leaves it unset and acts as one of {@link SYSTEM_ACTORS}.
   */
  readonly caller?: Identity | undefined;
  /** The system actor background work records when there is no caller. */
  readonly systemActor?: string | undefined;
  /** Counts and durations an on-call engineer reads (functions/telemetry/metrics.ts). */
  readonly metrics: MetricsRecorder;
  /** The watch log and how watches read it; undefined where the service serves no watches (list without positions). */
  readonly watch?: WatchSettings | undefined;
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

/** A context that acts for `caller`: audit records name them, cross-project source checks use their rights. */
export function forCaller(ctx: AppContext, caller: Identity): AppContext {
  return { ...ctx, caller };
}

/** A context for background work done as one of {@link SYSTEM_ACTORS}. */
export function asSystem(ctx: AppContext, actor: string): AppContext {
  return { ...ctx, caller: undefined, systemActor: actor };
}

/** The name a write records as its author. */
export function actorOf(ctx: Pick<AppContext, 'caller' | 'systemActor'>): string {
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
