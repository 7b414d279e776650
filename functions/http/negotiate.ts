import { StatusError } from '../core/errors';

/**
 * What an answer is written as, from the request's `Accept` header, as kube-apiserver negotiates it: the clauses in
 * order of their `q` (ties in the order given), the first one this API serves wins; no header, any type and
 * `application/*` are JSON. Media types it does not serve (Kubernetes protobuf, which kubectl and client-go ask for
 * first with JSON after it) are skipped; when nothing is left the answer is 406 NotAcceptable, before anything is
 * read or written.
 */
export type AnswerFormat = 'json' | 'yaml';

export const SERVED_MEDIA_TYPES = ['application/json', 'application/yaml'];

export interface AcceptClause {
  type: string;
  params: Record<string, string>;
  q: number;
}

/** The clauses of an Accept header, best first (stable for equal `q`). */
export function acceptClauses(accept: string | undefined): AcceptClause[] {
  const clauses: AcceptClause[] = [];
  for (const part of (accept ?? '').split(',')) {
    const [typePart, ...paramParts] = part.split(';');
    const type = typePart!.trim().toLowerCase();
    if (!type) continue;
    const params: Record<string, string> = {};
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      params[p.slice(0, eq).trim().toLowerCase()] = p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
    }
    const q = params.q === undefined ? 1 : Number(params.q);
    delete params.q;
    if (!Number.isFinite(q) || q <= 0) continue;
    clauses.push({ type, params, q });
  }
  return clauses
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.q - a.c.q || a.i - b.i)
    .map(({ c }) => c);
}

/** The format of a plain object answer (no `as=` conversion asked for), or undefined when none is served. */
export function plainFormatOf(clause: AcceptClause): AnswerFormat | undefined {
  if (clause.params.as !== undefined) return undefined;
  if (clause.type === 'application/json' || clause.type === '*/*' || clause.type === 'application/*')
    return 'json';
  if (clause.type === 'application/yaml') return 'yaml';
  return undefined;
}

/** What a read may answer besides the object itself: a meta.k8s.io Table of it (kubectl's `get`). */
export type TableVersion = 'v1' | 'v1beta1';

export interface Answer {
  format: AnswerFormat;
  /** Answer a Table (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), of this meta.k8s.io version. */
  table?: TableVersion;
}

/** The format an answer is written in; 406 when the client takes none this API serves. */
export function answerFormat(accept: string | undefined): AnswerFormat {
  return negotiateAnswer(accept, false).format;
}

/**
 * The answer a client takes best: a Table when `tables` (reads) and it asks for one, else the object as JSON or
 * YAML; 406 when none of these.
 */
export function negotiateAnswer(accept: string | undefined, tables: boolean): Answer {
  if (!accept?.trim()) return { format: 'json' };
  for (const clause of acceptClauses(accept)) {
    const table = tables ? tableOf(clause) : undefined;
    if (table) return table;
    const format = plainFormatOf(clause);
    if (format) return { format };
  }
  throw notAcceptable();
}

function tableOf(clause: AcceptClause): Answer | undefined {
  const { as, g, v } = clause.params;
  if (as !== 'Table' || g !== 'meta.k8s.io' || (v !== 'v1' && v !== 'v1beta1')) return undefined;
  if (clause.type === 'application/json') return { format: 'json', table: v };
  if (clause.type === 'application/yaml') return { format: 'yaml', table: v };
  return undefined;
}

/** kube-apiserver's 406 for a resource: the media types it could have answered with. */
export function notAcceptable(): StatusError {
  return new StatusError(
    406,
    'NotAcceptable',
    `only the following media types are accepted: ${SERVED_MEDIA_TYPES.join(', ')}`,
    {},
  );
}

/** The format an error is written in: the client's, when it takes one this API serves, else JSON. */
export function errorFormat(accept: string | undefined): AnswerFormat {
  try {
    return answerFormat(accept);
  } catch {
    return 'json';
  }
}
