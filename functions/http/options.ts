import type { WriteOptions } from '../app/shared/requests';
import { badRequest, FieldError, invalid } from '../core/errors';

/**
 * Kubernetes' write options as a request carries them: `?dryRun=All` on any write, and `dryRun: ["All"]` in the
 * DeleteOptions body of a DELETE (where kubectl puts it). `All` is the only value Kubernetes knows; anything else
 * is refused as kube-apiserver refuses it, 422 Invalid on the options kind (`CreateOptions.meta.k8s.io "" is
 * invalid: dryRun: Unsupported value: ...`), before anything is read or written.
 */

const DRY_RUN_ALL = 'All';

const OPTIONS_KIND: Record<string, string> = {
  POST: 'CreateOptions',
  PUT: 'UpdateOptions',
  PATCH: 'PatchOptions',
  DELETE: 'DeleteOptions',
};

/** The options of a write (`method` other than GET): the query's, and for DELETE also the body's. */
export function writeOptionsOf(method: string, query: URLSearchParams, body: unknown): WriteOptions {
  const values = query.getAll('dryRun');
  if (method === 'DELETE') values.push(...dryRunOfDeleteOptions(body));
  if (!values.length) return {};
  if (values.some((v) => v !== DRY_RUN_ALL))
    throw invalid(OPTIONS_KIND[method] ?? 'CreateOptions', 'meta.k8s.io', '', [
      FieldError.notSupported('dryRun', values, [DRY_RUN_ALL]),
    ]);
  return { dryRun: true };
}

function dryRunOfDeleteOptions(body: unknown): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [];
  const dryRun = (body as { dryRun?: unknown }).dryRun;
  if (dryRun === undefined || dryRun === null) return [];
  if (!Array.isArray(dryRun) || dryRun.some((v) => typeof v !== 'string'))
    throw badRequest('unable to decode DeleteOptions: dryRun: must be a list of strings');
  return dryRun as string[];
}
