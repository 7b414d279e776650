import { resolve } from 'node:path';
import * as z from 'zod';
import { commaList, watchRetentionSeconds } from '../config';

/** Local-mode settings (README, "Configuration"), on top of the service configuration. */
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('127.0.0.1'),
  /**
   * When set, the same API is also served over HTTPS on this port (0: any free one), with a certificate from a
   * local CA kept in $DATA_DIR/tls/ (kubectl sends tokens only over HTTPS).
   */
  TLS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  DATA_DIR: z.string().default('.data'),
  /**
   * The key that seals registry secrets: 32 random bytes, mode 0600; created on first start. Default
   * `$DATA_DIR/secret-key`. Keep it with the data: without it the stored secrets cannot be opened.
   */
  SECRETS_KEY_FILE: z.string().optional(),
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters').optional(),
  LOCAL_TOKENS: z.string().optional(),
  TABLE_NAME: z.string().default('imagestreams'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  /** Spec-driven imports (the import controller); `off` leaves only explicit imagestreamimports. */
  IMPORT_CONTROLLER: z.enum(['on', 'off']).default('on'),
  /** Scheduled re-import on a timer; `off` for tests that want no background imports. */
  SCHEDULER: z.enum(['on', 'off']).default('on'),
  /** Where events are appended, one EventBridge event per line; default $DATA_DIR/events.ndjson. */
  EVENTS_FILE: z.string().optional(),
  /** Comma-separated URLs every event is POSTed to. */
  EVENT_WEBHOOK_URLS: commaList.pipe(z.array(z.url())),
  /** When set, webhook POSTs carry `X-Imagestreams-Signature: sha256=<HMAC of the body>`. */
  EVENT_WEBHOOK_SECRET: z.string().optional(),
  /** Background jobs (imports, scans, pushes, sweeps) run at once in this process. */
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * Jobs of one project run at once (system jobs count as one project); default one slot fewer than
   * JOB_CONCURRENCY, so a project whose imports hang cannot take every slot.
   */
  JOB_CONCURRENCY_PER_PROJECT: z.coerce.number().int().min(1).max(64).optional(),
  /** How long the change processor sleeps when the table's stream is idle. */
  STREAM_POLL_MS: z.coerce.number().int().min(10).max(600_000).default(250),
  /** How often a watch reads the watch log for news. */
  WATCH_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(100),
  /** How long the watch log keeps changes: a watch from an older resourceVersion is 410 Expired (clients list again). */
  WATCH_RETENTION_SECONDS: watchRetentionSeconds,
  /** The longest one watch runs before the server ends it (clients reconnect from their last resourceVersion). */
  WATCH_MAX_SECONDS: z.coerce.number().int().min(1).max(86_400).default(1_800),
});

export type LocalConfig = Omit<z.infer<typeof schema>, 'JOB_CONCURRENCY_PER_PROJECT'> & {
  dataDir: string;
  secretsKeyFile: string;
  JOB_CONCURRENCY_PER_PROJECT: number;
};

export function readLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const cleaned = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === '' ? undefined : v]));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const { JOB_CONCURRENCY: slots, JOB_CONCURRENCY_PER_PROJECT: perProject } = parsed.data;
  if (perProject !== undefined && perProject > slots)
    throw new Error(
      `invalid configuration:\n  JOB_CONCURRENCY_PER_PROJECT: must not exceed JOB_CONCURRENCY (${slots})`,
    );
  const dataDir = resolve(parsed.data.DATA_DIR);
  return {
    ...parsed.data,
    JOB_CONCURRENCY_PER_PROJECT: perProject ?? Math.max(1, slots - 1),
    dataDir,
    secretsKeyFile: resolve(dataDir, parsed.data.SECRETS_KEY_FILE ?? 'secret-key'),
  };
}
