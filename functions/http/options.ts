import type { FieldValidation, WriteOptions } from '../app/shared/requests';
import { badRequest, FieldError, invalid, StatusError } from '../core/errors';

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

const FIELD_VALIDATION: FieldValidation[] = ['Ignore', 'Warn', 'Strict'];
/** kube-apiserver's limit on a field manager's name. */
const MAX_FIELD_MANAGER = 128;
export const APPLY_PATCH = 'application/apply-patch+yaml';

/**
 * The options of a write (`method` other than GET): the query's, and for DELETE also the body's; the field manager
 * defaults to the User-Agent's product (`kubectl/v1.32 …` → `kubectl`), as kube-apiserver defaults it.
 */
export function writeOptionsOf(
  method: string,
  query: URLSearchParams,
  body: unknown,
  headers: Record<string, string> = {},
): WriteOptions {
  const values = query.getAll('dryRun');
  if (method === 'DELETE') values.push(...dryRunOfDeleteOptions(body));
  const errors: FieldError[] = [];
  if (values.some((v) => v !== DRY_RUN_ALL))
    errors.push(FieldError.notSupported('dryRun', values, [DRY_RUN_ALL]));
  const options: WriteOptions = values.length ? { dryRun: true } : {};
  if (method === 'DELETE') {
    if (errors.length) throw invalid(OPTIONS_KIND[method]!, 'meta.k8s.io', '', errors);
    return options;
  }
  const isApply =
    method === 'PATCH' && (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === APPLY_PATCH;
  const manager = query.get('fieldManager') ?? '';
  if (isApply && !manager) errors.push(FieldError.required('fieldManager', 'is required for apply patch'));
  if (manager.length > MAX_FIELD_MANAGER) errors.push(FieldError.tooLong('fieldManager', MAX_FIELD_MANAGER));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(manager))
    errors.push(FieldError.invalid('fieldManager', manager, 'must only contain printable characters'));
  const force = query.get('force');
  if (force !== null && method === 'PATCH' && !isApply)
    errors.push(FieldError.forbidden('force', 'may not be specified for non-apply patch'));
  const validation = query.get('fieldValidation') ?? '';
  if (validation && !FIELD_VALIDATION.includes(validation as FieldValidation))
    errors.push(FieldError.notSupported('fieldValidation', validation, ['', ...FIELD_VALIDATION]));
  if (errors.length) throw invalid(OPTIONS_KIND[method] ?? 'CreateOptions', 'meta.k8s.io', '', errors);
  const agent = (headers['user-agent'] ?? '').split('/')[0]!.slice(0, MAX_FIELD_MANAGER);
  options.fieldManager = manager || agent || 'unknown';
  if (force === 'true') options.force = true;
  options.fieldValidation = (validation || 'Warn') as FieldValidation;
  options.warnings = [];
  return options;
}

function dryRunOfDeleteOptions(body: unknown): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [];
  const dryRun = (body as { dryRun?: unknown }).dryRun;
  if (dryRun === undefined || dryRun === null) return [];
  if (!Array.isArray(dryRun) || dryRun.some((v) => typeof v !== 'string'))
    throw badRequest('unable to decode DeleteOptions: dryRun: must be a list of strings');
  return dryRun as string[];
}

const MATCHES = ['Exact', 'NotOlderThan'];

/**
 * A list's `resourceVersion` and `resourceVersionMatch`, checked as kube-apiserver checks ListOptions, before the
 * list reads anything. Lists always answer the latest state, which is what an unset match and `NotOlderThan` ask
 * for; `Exact` asks for a past list this API does not keep, answered 410 Expired as Kubernetes answers a version it
 * no longer has (clients then list afresh).
 */
export function checkListOptions(query: URLSearchParams): void {
  const rv = query.get('resourceVersion') ?? '';
  const match = query.get('resourceVersionMatch') ?? '';
  const errors: FieldError[] = [];
  if (match) {
    if (!rv)
      errors.push(
        FieldError.forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden unless resourceVersion is provided',
        ),
      );
    if (query.get('continue'))
      errors.push(
        FieldError.forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden when continue is provided',
        ),
      );
    if (!MATCHES.includes(match))
      errors.push(FieldError.notSupported('resourceVersionMatch', match, [...MATCHES, '']));
    if (match === 'Exact' && rv === '0')
      errors.push(
        FieldError.forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
        ),
      );
  }
  if (errors.length) throw invalid('ListOptions', 'meta.k8s.io', '', errors);
  if (!rv) return;
  if (query.get('continue'))
    throw badRequest('specifying resource version is not allowed when using continue');
  if (!/^\d+$/.test(rv))
    throw badRequest(`invalid resource version: ${JSON.stringify(rv)}: must be an unsigned integer`);
  if (match === 'Exact' && rv !== '0')
    throw new StatusError(
      410,
      'Expired',
      `too old resource version: ${rv}: this API serves lists at their latest state only; list again without resourceVersionMatch=Exact`,
    );
}
