import { badRequest, StatusError } from '../../core/errors';
import { parseLabelSelector } from '../../core/label-selector';

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

/**
 * One page of a namespace's objects in name order, as a list request asks for it (`labelSelector`, `limit` up to
 * {@link MAX_PAGE}, `continue`): `fetch` reads the store's pages after a name. A selector can drop a whole page, so
 * reading goes on until the page is full or the namespace is exhausted. `continue` names the last object read.
 */
export async function listSelectedByName<T extends { name: string; labels: Record<string, string> }>(
  query: URLSearchParams,
  fetch: (page: { limit: number; after: string | undefined }) => Promise<{ items: T[]; more: boolean }>,
): Promise<{ items: T[]; continue?: string }> {
  const selects = parseLabelSelector(query.get('labelSelector') ?? '');
  const limit = Math.min(parseLimit(query.get('limit')) ?? MAX_PAGE, MAX_PAGE);
  const token = decodeContinue(
    query.get('continue'),
    (t): t is { after: string } => typeof (t as { after?: unknown })?.after === 'string',
  );
  const items: T[] = [];
  let after = token?.after;
  let more = true;
  while (items.length < limit && more) {
    const page = await fetch({ limit: limit - items.length, after });
    more = page.more;
    items.push(...page.items.filter((i) => selects(i.labels)));
    after = page.items.at(-1)?.name ?? after;
    if (page.items.length === 0) break;
  }
  return more && after ? { items, continue: encodeContinue({ after }) } : { items };
}
