import { createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';

/**
 * What API Gateway's JWT authorizer checks, for the endpoint it cannot front (the watch function's URL): the
 * token's signature against the issuer's published keys (RS256/384/512, ES256/384), `iss`, `aud` or `client_id`
 * among the accepted audiences, and `exp`/`nbf` (a minute of clock skew). Keys are fetched through the issuer's
 * discovery document and kept ten minutes; an unknown `kid` fetches them again (at most once a minute).
 */
export interface JwtVerifierOptions {
  issuer: string;
  audiences: string[];
  fetch?: typeof fetch;
  now?: () => number;
}

const ALGORITHMS: Record<string, { hash: string; ec?: boolean }> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  ES256: { hash: 'sha256', ec: true },
  ES384: { hash: 'sha384', ec: true },
};
const KEYS_TTL_MS = 10 * 60_000;
const REFETCH_MIN_MS = 60_000;
const SKEW_S = 60;

export function jwtVerifier(
  o: JwtVerifierOptions,
): (token: string) => Promise<Record<string, unknown> | undefined> {
  const get = o.fetch ?? fetch;
  const now = o.now ?? Date.now;
  let keys: Map<string, KeyObject> | undefined;
  let fetchedAt = 0;
  const loadKeys = async () => {
    const discovery = (await (
      await get(`${o.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)
    ).json()) as { jwks_uri?: string };
    if (!discovery.jwks_uri) throw new Error('the issuer publishes no jwks_uri');
    const jwks = (await (await get(discovery.jwks_uri)).json()) as {
      keys?: Array<JsonWebKey & { kid?: string }>;
    };
    keys = new Map((jwks.keys ?? []).map((k) => [k.kid ?? '', createPublicKey({ key: k, format: 'jwk' })]));
    fetchedAt = now();
  };
  const keyFor = async (kid: string) => {
    if (!keys || now() - fetchedAt > KEYS_TTL_MS || (!keys.has(kid) && now() - fetchedAt > REFETCH_MIN_MS))
      await loadKeys();
    return keys!.get(kid);
  };
  return async (token) => {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const decode = (s: string) =>
      JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = decode(parts[0]!);
      claims = decode(parts[1]!);
    } catch {
      return undefined;
    }
    const alg = ALGORITHMS[String(header.alg)];
    if (!alg) return undefined;
    const key = await keyFor(typeof header.kid === 'string' ? header.kid : '');
    if (!key) return undefined;
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2]!, 'base64url');
    const ok = verify(alg.hash, signed, alg.ec ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
    if (!ok) return undefined;
    const seconds = now() / 1000;
    if (claims.iss !== o.issuer) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp + SKEW_S < seconds) return undefined;
    if (typeof claims.nbf === 'number' && claims.nbf - SKEW_S > seconds) return undefined;
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud ?? claims.client_id];
    if (!aud.some((a) => typeof a === 'string' && o.audiences.includes(a))) return undefined;
    return claims;
  };
}
