import * as z from 'zod';

/**
 * Service configuration, read once from the environment and validated; a bad value stops the process at start
 * instead of surfacing as odd behaviour later. Every variable is documented in the README.
 */
/** A comma-separated list (blank entries dropped), e.g. `a.io, b.io:5000`. */
export const commaList = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
  );

/**
 * `source` of published events unless EVENT_SOURCE says otherwise: reverse DNS of the service's API group
 * (`imagestreams.io`), as EventBridge recommends for custom sources. The stacks and the trigger construct use it too.
 */
/** How long the watch log keeps changes (AWS and local mode alike). */
export const watchRetentionSeconds = z.coerce
  .number()
  .int()
  .min(1)
  .max(7 * 86_400)
  .default(3_600);

export const DEFAULT_EVENT_SOURCE = 'io.imagestreams';

const schema = z.object({
  RUNTIME_MODE: z.enum(['aws', 'local']).default('aws'),
  TABLE_NAME: z.string().min(1, 'TABLE_NAME is required'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().optional(),
  INTERNAL_REGISTRY_HOSTNAME: z.string().optional(),
  EXTERNAL_REGISTRY_HOSTNAME: z.string().optional(),
  DEFAULT_IMPORT_MODE: z.enum(['Legacy', 'PreserveOriginal']).default('Legacy'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Registries (`host`, `host:port`, `*.domain`) imports may use; empty allows all (docs/semantics.md#imports). */
  ALLOWED_REGISTRIES_FOR_IMPORT: commaList,
  /** Registries that may be reached over plain HTTP without importPolicy.insecure. */
  INSECURE_REGISTRIES: commaList,
  /** Registries allowed although they resolve to loopback/private addresses (always allowed in local mode). */
  ALLOWED_PRIVATE_REGISTRIES: commaList,
  MAX_IMAGES_BULK_IMPORTED_PER_REPOSITORY: z.coerce.number().int().min(-1).default(50),
  /** Platform a Legacy import picks from a manifest list when the tag has no prefer-os/prefer-arch annotations. */
  IMPORT_PLATFORM: z
    .string()
    .regex(/^[a-z0-9]+\/[a-z0-9]+$/, 'must be <os>/<architecture>, e.g. linux/amd64')
    .default('linux/amd64'),
  /** Concurrent requests per registry host. */
  REGISTRY_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /**
   * Longest one exchange with a registry may take, from connecting to the body's last byte (also the longest wait
   * for headers and the longest silence in a body); every exchange also ends by its import's deadline.
   */
  REGISTRY_TIMEOUT_SECONDS: z.coerce.number().positive().max(300).default(15),
  /** SQS queue import jobs go to (change processor, import worker); unset in local mode. */
  IMPORT_QUEUE_URL: z.url().optional(),
  /** `source` of published events (docs/events.md). */
  EVENT_SOURCE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,256}$/, 'must be 1-256 letters, digits, dots, dashes or underscores')
    .refine((s) => !s.startsWith('aws.'), 'must not start with aws.')
    .default(DEFAULT_EVENT_SOURCE),
  /** The custom EventBridge bus events go to (AWS mode; the change processor needs it). */
  EVENT_BUS_NAME: z.string().optional(),
  /** How long the watch log keeps changes: a watch from an older resourceVersion is 410 Expired (clients list again). */
  WATCH_RETENTION_SECONDS: watchRetentionSeconds,
  /** The longest one watch runs (AWS: within the watch function's 15-minute limit); clients then reconnect. */
  WATCH_MAX_SECONDS: z.coerce.number().int().min(1).max(86_400).default(870),
  /** How often a watch reads the watch log for news. */
  WATCH_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  /** How often scheduled tags are re-checked (docs/semantics.md#scheduled-import). */
  IMPORT_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  /** How often the scheduler looks for due tags; default a tenth of the interval, between 1 and 60 s. */
  SCHEDULER_TICK_SECONDS: z.coerce.number().int().min(1).max(3600).optional(),
  /** Global budget: scheduled stream imports started per minute (OpenShift's maxScheduledImageImportsPerMinute). */
  SCHEDULED_IMPORTS_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Per-registry budget, halved for each recent rate-limit answer from that registry. */
  SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Shared secret registry webhooks authenticate with (local mode; in AWS from WEBHOOK_SECRET_ARN). */
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * The KMS key that seals registry secrets (AWS mode: the functions that write or read them; set by CDK). Its
   * ARN, as stored with each secret.
   */
  SECRETS_KMS_KEY_ARN: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
      'must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id> (not an alias)',
    )
    .optional(),
  /** Secrets Manager secret holding the webhook secret (AWS mode). */
  WEBHOOK_SECRET_ARN: z.string().optional(),
  /** Notifications for one repository:tag within this window become one re-check. */
  PUSH_COALESCE_SECONDS: z.coerce.number().min(0).max(300).default(2),
  /** JWT claim naming the user (AWS, JWT authorizer); functions/http/identity.ts falls back to `sub` without it. */
  JWT_USER_CLAIM: z.string().min(1).default('sub'),
  /** JWT claim holding the user's groups (e.g. `cognito:groups`); read by functions/http/identity.ts. */
  JWT_GROUPS_CLAIM: z.string().min(1).default('groups'),
  /** Groups whose members are cluster administrators (all namespaces, every verb, /images). */
  CLUSTER_ADMIN_GROUPS: commaList.transform((l) => (l.length ? l : ['system:cluster-admins'])),
  /** Groups whose members may create projects through projectrequests (OpenShift's self-provisioners). */
  PROJECT_REQUESTER_GROUPS: commaList.transform((l) => (l.length ? l : ['system:authenticated'])),
  /**
   * How long a read (GET, list) may rely on this process's previous read of a project's bindings; 0 reads them
   * on every request. Writes always read them afresh.
   */
  ACCESS_CACHE_SECONDS: z.coerce.number().min(0).max(60).default(1),
  /** Deadline of one import request's registry work; API Gateway cuts requests at 30 s. */
  IMPORT_TIMEOUT_SECONDS: z.coerce.number().positive().max(900).default(25),
  /** Deadline of one background import job's registry work (the job worker runs several per invocation). */
  IMPORT_JOB_TIMEOUT_SECONDS: z.coerce.number().positive().max(900).default(45),
  /**
   * How long a stream create too large for one transaction may take before it is taken back and answered as a
   * ServerTimeout (nothing created). Unset: no limit (local mode, where no gateway cuts the request).
   */
  LARGE_CREATE_TIMEOUT_SECONDS: z.coerce.number().positive().max(900).optional(),
  /**
   * The OIDC issuer and audiences whose JWTs the registry and watch functions (AWS) verify themselves, as the API's
   * authorizer does (docs/registry.md, docs/watch.md): a function URL has no JWT authorizer.
   */
  OIDC_ISSUER: z.url().optional(),
  OIDC_AUDIENCE: commaList,
  /** Secrets Manager secret holding the key registry bearer tokens are signed with (AWS). */
  REGISTRY_TOKEN_SECRET_ARN: z.string().optional(),
  /**
   * Largest blob the registry streams through itself (a redirecting upstream has no limit); above it the pull is
   * refused with a clear error instead of a cut transfer. Unset: no limit (local mode). AWS: Lambda's streamed
   * response limit.
   */
  MAX_STREAMED_BLOB_BYTES: z.coerce.number().int().positive().optional(),
});

export type ServiceConfig = z.infer<typeof schema>;

export function readServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const blankToUndefined = Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, v === '' ? undefined : v]),
  );
  const parsed = schema.safeParse(blankToUndefined);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** A setting a particular entry point cannot run without (checked at module load, so the function fails fast). */
export function requireSetting<K extends keyof ServiceConfig>(
  config: ServiceConfig,
  key: K,
): NonNullable<ServiceConfig[K]> {
  const value = config[key];
  if (value === undefined || value === null || value === '')
    throw new Error(`invalid configuration:\n  ${String(key)}: is required`);
  return value as NonNullable<ServiceConfig[K]>;
}
