/**
 * What can go wrong talking to a registry, as kinds the importer maps to OpenShift's statuses (docs/semantics.md#import-errors).
 * Messages never contain credentials or tokens.
 */
export type RegistryErrorKind =
  /** Repository, tag or digest does not exist (NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN, 404). */
  | 'not-found'
  /** 401/403 that survived one re-authentication; `incorrectCredentials` tells a wrong password apart. */
  | 'unauthorized'
  /** The registry only speaks plain HTTP and the import did not allow that. */
  | 'http-only'
  /** Refused before any request: address not allowed, registry not allowed for import. */
  | 'forbidden'
  /** The endpoint does not implement the v2 API. */
  | 'not-v2'
  /** Content does not match its digest, or a reply is malformed. */
  | 'integrity'
  /** 429 we did not (or could no longer) wait out; `retryAfterMs` says when to try again. */
  | 'rate-limited'
  /** Timeouts, oversize bodies, 5xx after retries, connection failures. */
  | 'transport'
  /** A manifest type we do not import (schema1, artifacts). */
  | 'unsupported';

export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
    readonly details: {
      status?: number;
      incorrectCredentials?: boolean;
      retryAfterMs?: number;
      /** No HTTP response arrived at all (refused, reset, TLS failure, timeout while connecting). */
      noResponse?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export function isRegistryError(e: unknown, kind?: RegistryErrorKind): e is RegistryError {
  return e instanceof RegistryError && (kind === undefined || e.kind === kind);
}

/** A registry's JSON error body: `{"errors":[{"code","message","detail"}]}`; anything else yields []. */
export function errorCodes(body: string): Array<{ code: string; message: string }> {
  try {
    const json = JSON.parse(body) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    if (!Array.isArray(json.errors)) return [];
    return json.errors.map((e) => ({
      code: typeof e.code === 'string' ? e.code : '',
      message: typeof e.message === 'string' ? e.message : '',
    }));
  } catch {
    return [];
  }
}
