import { badRequest, StatusError } from '../../core/errors';

/** Largest page the server returns, whatever `limit` asks for; `continue` fetches the rest. */
export const MAX_PAGE = 500;

export function parseLimit(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw badRequest(`invalid limit ${JSON.stringify(raw)}: must be a non-negative integer`);
  return n === 0 ? undefined : n;
}

export function encodeContinue(token: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

export function decodeContinue<T>(raw: string | null, check: (t: unknown) => t is T): T | undefined {
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!check(parsed))
    throw new StatusError(400, 'BadRequest', `invalid continue token ${JSON.stringify(raw)}`);
  return parsed;
}
