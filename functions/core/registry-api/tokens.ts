import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The registry's bearer tokens: compact JWTs (HS256) over who asked and what they may pull, signed with a key only
 * the service holds. They prove authentication and scope only: every request still checks the subject's roles in
 * the namespace, so a role removed takes effect at once, not when the token expires.
 */
export interface RegistryTokenClaims {
  /** Issuer: the service. */
  iss: string;
  /** The user the API token belonged to. */
  sub: string;
  /** Their groups (role bindings may name groups). */
  groups: string[];
  /** The `service` the client asked for (the registry host). */
  aud: string;
  /** Granted scopes, `repository:<ns>/<stream>:pull` each. */
  scope: string[];
  iat: number;
  exp: number;
}

/** Lifetime of an issued token, in seconds (distribution's clients renew on 401). */
export const REGISTRY_TOKEN_SECONDS = 300;

const b64 = (x: string | Buffer) => Buffer.from(x).toString('base64url');
const HEADER = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export function signRegistryToken(claims: RegistryTokenClaims, key: Buffer): string {
  const body = `${HEADER}.${b64(JSON.stringify(claims))}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

/** The claims of a token this service signed and that has not expired, else undefined. */
export function verifyRegistryToken(
  token: string,
  key: Buffer,
  nowSeconds: number,
): RegistryTokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
  const expected = createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let claims: RegistryTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as RegistryTokenClaims;
  } catch {
    return undefined;
  }
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds) return undefined;
  if (typeof claims.sub !== 'string' || !Array.isArray(claims.scope) || !Array.isArray(claims.groups))
    return undefined;
  return claims;
}

/** Whether a token's scopes cover pulling `repository` (`<ns>/<stream>`). */
export function tokenAllowsPull(claims: RegistryTokenClaims, repository: string): boolean {
  return claims.scope.includes(`repository:${repository}:pull`);
}
