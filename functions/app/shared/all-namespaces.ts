import { isClusterAdmin } from '../../core/access/rules';
import type { AppContext } from './context';
import { decodeContinue, encodeContinue, MAX_PAGE, parseLimit } from './paging';

/**
 * A list across every project, for the cluster-scope list paths (`kubectl get is -A`). Only cluster
 * administrators may make these calls: like Kubernetes and OpenShift, a list at the cluster scope needs the right
 * to list everywhere, and the edge answers 403 to anyone else (the route's access check, which runs alongside; this
 * reads nothing for them). Projects are walked in name order through the project index, each listed with the
 * resource's own list; a page is at most `limit` items and `continue` resumes inside the project it stopped in.
 */
export interface NamespacedList<T> {
  metadata: { continue?: string };
  items: T[];
}

type Token = { ns: string; c?: string } | { after: string };

const isToken = (t: unknown): t is Token => {
  const o = t as { ns?: unknown; c?: unknown; after?: unknown } | null;
  return (
    !!o &&
    typeof o === 'object' &&
    (typeof o.after === 'string' ||
      (typeof o.ns === 'string' && (o.c === undefined || typeof o.c === 'string')))
  );
};

export async function listInEveryProject<T>(
  ctx: AppContext,
  query: URLSearchParams,
  list: { kind: string; apiVersion: string },
  listOne: (ns: string, query: URLSearchParams) => Promise<NamespacedList<T>>,
) {
  const items: T[] = [];
  const answer = (cont?: Token) => ({
    kind: list.kind,
    apiVersion: list.apiVersion,
    metadata: cont ? { continue: encodeContinue(cont) } : {},
    items,
  });
  if (!ctx.caller || !isClusterAdmin(ctx.caller, ctx.access)) return answer();
  const limit = Math.min(parseLimit(query.get('limit')) ?? MAX_PAGE, MAX_PAGE);
  const token = decodeContinue(query.get('continue'), isToken);
  const listIn = async (ns: string, cont: string | undefined): Promise<Token | undefined> => {
    const q = new URLSearchParams(query);
    q.set('limit', String(limit - items.length));
    if (cont) q.set('continue', cont);
    else q.delete('continue');
    const page = await listOne(ns, q);
    items.push(...page.items);
    if (page.metadata.continue) return { ns, c: page.metadata.continue };
    return items.length >= limit ? { after: ns } : undefined;
  };
  let after: string | undefined;
  if (token && 'ns' in token) {
    const next = await listIn(token.ns, token.c);
    if (next) return answer(next);
    after = token.ns;
  } else after = token?.after;
  for (;;) {
    const projects = await ctx.projects.listAll({ limit: 100, after });
    for (const p of projects.items) {
      const next = await listIn(p.name, undefined);
      if (next) return answer(next);
    }
    if (!projects.more || projects.items.length === 0) return answer();
    after = projects.items.at(-1)!.name;
  }
}
