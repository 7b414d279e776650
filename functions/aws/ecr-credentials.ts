import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { ExternalCredentials } from '../app/ports/registry';
import { isEcrHost } from '../registry/client';
import type { RegistryCredential } from '../registry/credentials';

/** ECR tokens live 12 hours; refreshing at half-life keeps one cached token well inside it. */
const REFRESH_BEFORE_EXPIRY_MS = 6 * 60 * 60_000;

interface Cached {
  credential: RegistryCredential;
  refreshAt: number;
}

/**
 * Credentials for private ECR registries through the function's IAM role (`ecr:GetAuthorizationToken`), as the
 * integrated registry on AWS. One token per region, cached at module scope across invocations; a registry that
 * rejects it (expired, revoked) gets a fresh one once per request.
 */
export class EcrCredentials implements ExternalCredentials {
  private readonly cache = new Map<string, Promise<Cached>>();
  private readonly clients = new Map<string, Pick<ECRClient, 'send'>>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly clientFor: (region: string) => Pick<ECRClient, 'send'> = (region) =>
      new ECRClient({ region }),
  ) {}

  handles(host: string): boolean {
    return isEcrHost(host);
  }

  async get(host: string, refresh: boolean): Promise<RegistryCredential | undefined> {
    const region = /\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com/.exec(host)?.[1];
    if (!region) return undefined;
    let entry = this.cache.get(region);
    if (entry && !refresh) {
      const cached = await entry.catch(() => undefined);
      if (cached && cached.refreshAt > this.now()) return cached.credential;
    }
    entry = this.fetch(region);
    this.cache.set(region, entry);
    entry.catch(() => this.cache.delete(region));
    return (await entry).credential;
  }

  private async fetch(region: string): Promise<Cached> {
    let client = this.clients.get(region);
    if (!client) {
      client = this.clientFor(region);
      this.clients.set(region, client);
    }
    const out = await client.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData?.[0];
    if (!data?.authorizationToken) throw new Error(`ECR returned no authorization token in ${region}`);
    const text = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    const i = text.indexOf(':');
    const expiresAt = data.expiresAt?.getTime() ?? this.now() + 12 * 60 * 60_000;
    return {
      credential: { username: text.slice(0, i), password: text.slice(i + 1) },
      refreshAt: Math.min(expiresAt - REFRESH_BEFORE_EXPIRY_MS / 6, this.now() + REFRESH_BEFORE_EXPIRY_MS),
    };
  }
}
