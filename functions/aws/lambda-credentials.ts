/**
 * What Lambda bundles use in place of the AWS SDK's default credential chain (`@aws-sdk/credential-provider-node`,
 * swapped in by the bundler alias in infra/constructs/app-function.ts): Lambda hands a function its role's
 * credentials in environment variables and nowhere else, so the chain's other sources (SSO, profiles, process,
 * web identity, instance metadata) could never answer there. Leaving them out takes about 140 KiB of SDK code off
 * every bundle and its cold start. Local mode and the CLI keep the SDK's default chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

type AwsCredentialIdentity = Awaited<ReturnType<ReturnType<typeof fromEnv>>>;

/** Same signature as the SDK's: the clients call it with their config, which the environment does not need. */
export const defaultProvider = (_init?: unknown) => fromEnv();

/** As the SDK's chain decides it: credentials with an expiry are refreshed 5 minutes before it. */
const REFRESH_BEFORE_MS = 300_000;
export const credentialsWillNeedRefresh = (credentials: AwsCredentialIdentity): boolean =>
  credentials.expiration !== undefined;
export const credentialsTreatedAsExpired = (credentials: AwsCredentialIdentity): boolean =>
  credentials.expiration !== undefined && credentials.expiration.getTime() - Date.now() < REFRESH_BEFORE_MS;
