import { constants, createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';

/**
 * Verifies the OIDC JWTs the API accepts, for the registry function (a Lambda function URL has no JWT
 * authorizer): signature against the issuer's published keys (discovery document, then `jwks_uri`), issuer,
 * audience (`aud` or `client_id`, as API Gateway's JWT authorizer accepts), expiry and not-before, with a minute of
 * clock skew. Keys are kept for ten minutes; a token signed with an unknown key id refetches them, at most once a
 * minute.
 */
export class OidcVerifier {
  private keys: Promise<Map<string, { key: KeyObject; alg?: string }>> | undefined;
  private keysAt = 0;

  constructor(
    private readonly issuer: string,
    private readonly audiences: string[],
    private readonly fetchJson: (url: string) => Promise<unknown> = defaultFetchJson,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(token: string): Promise<Record<string, unknown> | undefined> {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    let header: { alg?: string; kid?: string };
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const algorithm = ALGORITHMS[header.alg ?? ''];
    if (!algorithm || typeof header.kid !== 'string') return undefined;
    let entry = (await this.loadKeys(false)).get(header.kid);
    if (!entry) entry = (await this.loadKeys(true)).get(header.kid);
    if (!entry || (entry.alg && entry.alg !== header.alg)) return undefined;
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2]!, 'base64url');
    if (!verify(algorithm.hash, signed, { key: entry.key, ...algorithm.options }, signature))
      return undefined;
    const nowSeconds = this.now() / 1000;
    if (claims.iss !== this.issuer) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp + SKEW_SECONDS < nowSeconds) return undefined;
    if (typeof claims.nbf === 'number' && claims.nbf - SKEW_SECONDS > nowSeconds) return undefined;
    const audiences = [...(Array.isArray(claims.aud) ? claims.aud : [claims.aud]), claims.client_id];
    if (!audiences.some((a) => typeof a === 'string' && this.audiences.includes(a))) return undefined;
    return claims;
  }

  private loadKeys(refresh: boolean) {
    const age = this.now() - this.keysAt;
    if (this.keys && age < (refresh ? MIN_REFRESH_MS : KEYS_TTL_MS)) return this.keys;
    this.keysAt = this.now();
    this.keys = this.fetchKeys().catch((e: unknown) => {
      this.keys = undefined;
      throw e;
    });
    return this.keys;
  }

  private async fetchKeys() {
    const discovery = (await this.fetchJson(
      `${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
    )) as {
      jwks_uri?: unknown;
    };
    if (typeof discovery.jwks_uri !== 'string' || !discovery.jwks_uri.startsWith('https://'))
      throw new Error(`${this.issuer}: the discovery document names no https jwks_uri`);
    const jwks = (await this.fetchJson(discovery.jwks_uri)) as {
      keys?: Array<JsonWebKey & { kid?: string; alg?: string }>;
    };
    const keys = new Map<string, { key: KeyObject; alg?: string }>();
    for (const jwk of jwks.keys ?? []) {
      if (typeof jwk.kid !== 'string' || (jwk.use && jwk.use !== 'sig')) continue;
      try {
        keys.set(jwk.kid, {
          key: createPublicKey({ key: jwk, format: 'jwk' }),
          ...(jwk.alg ? { alg: jwk.alg } : {}),
        });
      } catch {
        // A key type node cannot read signs nothing this verifier accepts.
      }
    }
    return keys;
  }
}

const SKEW_SECONDS = 60;
const KEYS_TTL_MS = 10 * 60_000;
const MIN_REFRESH_MS = 60_000;

const ALGORITHMS: Record<string, { hash: string; options: Record<string, number | string> }> = {
  RS256: { hash: 'sha256', options: {} },
  RS384: { hash: 'sha384', options: {} },
  RS512: { hash: 'sha512', options: {} },
  PS256: { hash: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
  ES256: { hash: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { hash: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
};

async function defaultFetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}
