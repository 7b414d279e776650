/** Every Lambda entry point, for the bundle-size test and the benchmark (CDK names them in service-stack.ts). */
export const lambdaEntries = {
  api: 'functions/handlers/api.ts',
  'change-processor': 'functions/handlers/change-processor.ts',
  'job-worker': 'functions/handlers/job-worker.ts',
  'scheduler-tick': 'functions/handlers/scheduler-tick.ts',
  'push-events': 'functions/handlers/push-events.ts',
  registry: 'functions/handlers/registry.ts',
  watch: 'functions/handlers/watch.ts',
} as const;

/** Environment a bundle needs to initialize outside Lambda (config is validated at module load). */
export const probeEnvironment = {
  TABLE_NAME: 'probe',
  AWS_REGION: 'us-east-1',
  IMPORT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/probe',
  // The change processor takes the bus by ARN (its events' resources name the account and region).
  EVENT_BUS_NAME: 'arn:aws:events:us-east-1:123456789012:event-bus/probe',
  // The API and job worker refuse to start without their secrets key (they seal and open registry secrets).
  SECRETS_KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/probe',
  // The registry verifies JWTs of this issuer and signs its tokens with the key in this secret.
  OIDC_ISSUER: 'https://issuer.example.com',
  REGISTRY_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:probe',
};

/** Builds one entry exactly as the AppFunction construct bundles it (see bundlingDefaults). */
export async function buildLambdaBundle(entry: string, outfile: string): Promise<void> {
  const { build } = await import('esbuild');
  const { bundlingDefaults, lambdaAliases } = await import('./constructs/app-function');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: bundlingDefaults.target,
    mainFields: bundlingDefaults.mainFields,
    minify: bundlingDefaults.minify,
    keepNames: bundlingDefaults.keepNames,
    banner: { js: bundlingDefaults.banner },
    alias: lambdaAliases,
    logLevel: 'silent',
  });
}
