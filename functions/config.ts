import { z } from 'zod';

/**
 * Service configuration, read once from the environment and validated; a bad value stops the process at start
 * instead of surfacing as odd behaviour later. Every variable is documented in the README.
 */
const schema = z.object({
  RUNTIME_MODE: z.enum(['aws', 'local']).default('aws'),
  TABLE_NAME: z.string().min(1, 'TABLE_NAME is required'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().optional(),
  INTERNAL_REGISTRY_HOSTNAME: z.string().optional(),
  EXTERNAL_REGISTRY_HOSTNAME: z.string().optional(),
  DEFAULT_IMPORT_MODE: z.enum(['Legacy', 'PreserveOriginal']).default('Legacy'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
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
