import { z } from 'zod';
import { alreadyExists, FieldError, invalid, notFound, type Status, successStatus } from '../core/errors';
import { validateObjectMeta } from '../core/imagestream/validation';
import { type DockerConfig, parseDockerConfig } from '../registry/credentials';
import type { SecretMeta } from '../store/secret-store';
import type { AppContext } from './context';
import { requireNamespace } from './imagestreams';
import { decodeContinue, encodeContinue, MAX_PAGE, parseLimit } from './paging';

const DOCKER_TYPES: Record<string, { key: string; legacy: boolean }> = {
  'kubernetes.io/dockerconfigjson': { key: '.dockerconfigjson', legacy: false },
  'kubernetes.io/dockercfg': { key: '.dockercfg', legacy: true },
};
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_SECRET_BYTES = 64 * 1024;
const secretResource = { group: '', resource: 'secrets' };

const secretBody = z
  .object({
    kind: z.string().optional(),
    apiVersion: z.string().optional(),
    metadata: z
      .object({
        name: z.string().optional(),
        labels: z.record(z.string(), z.string()).nullish(),
        annotations: z.record(z.string(), z.string()).nullish(),
      })
      .loose()
      .default({}),
    type: z.string().optional(),
    data: z.record(z.string(), z.string()).nullish(),
    stringData: z.record(z.string(), z.string()).nullish(),
  })
  .loose();

/** What the API shows of a secret: metadata and type, never the data (it is write-only here). */
function view(s: SecretMeta) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: s.name,
      namespace: s.namespace,
      uid: s.uid,
      resourceVersion: String(s.resourceVersion),
      creationTimestamp: s.creationTimestamp,
      ...(Object.keys(s.labels).length ? { labels: s.labels } : {}),
      ...(Object.keys(s.annotations).length ? { annotations: s.annotations } : {}),
    },
    type: s.type,
  };
}

/**
 * POST /api/v1/namespaces/{ns}/secrets: registry credentials for imports (`kubernetes.io/dockerconfigjson` or the
 * legacy `dockercfg`). Validation messages describe the problem without echoing any of the content.
 */
export async function createSecret(ctx: AppContext, ns: string, rawBody: unknown) {
  requireNamespace(ns);
  if (rawBody === null || typeof rawBody !== 'object' || Array.isArray(rawBody))
    throw invalid('Secret', '', '', [FieldError.required('metadata.name')]);
  const parsed = secretBody.safeParse(rawBody);
  const body = parsed.success ? parsed.data : undefined;
  const name = body?.metadata.name ?? '';
  if (!body)
    throw invalid('Secret', '', name, [FieldError.invalid('(root)', '', 'the body is not a Secret')]);
  const errors: FieldError[] = [];
  if (!name) errors.push(FieldError.required('metadata.name'));
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
    errors.push(
      FieldError.invalid(
        'metadata.name',
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
      ),
    );
  errors.push(
    ...validateObjectMeta({
      ...(body.metadata.labels ? { labels: body.metadata.labels } : {}),
      ...(body.metadata.annotations ? { annotations: body.metadata.annotations } : {}),
    }),
  );
  const type = body.type ?? '';
  const kind = DOCKER_TYPES[type];
  let config: DockerConfig | undefined;
  if (!kind) errors.push(FieldError.notSupported('type', type, Object.keys(DOCKER_TYPES)));
  else {
    const field = `data[${kind.key}]`;
    let text = body.stringData?.[kind.key];
    if (text === undefined && body.data?.[kind.key] !== undefined) {
      const b64 = body.data[kind.key]!;
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64))
        errors.push(FieldError.invalid(field, '<hidden>', 'must be base64'));
      else text = Buffer.from(b64, 'base64').toString('utf8');
    }
    if (text === undefined && !errors.some((e) => e.field === field))
      errors.push(FieldError.required(field, `a ${type} secret needs the ${kind.key} key`));
    else if (text !== undefined && Buffer.byteLength(text) > MAX_SECRET_BYTES)
      errors.push(FieldError.tooLong(field, MAX_SECRET_BYTES));
    else if (text !== undefined) {
      try {
        config = parseDockerConfig(JSON.parse(text), kind.legacy);
      } catch (e) {
        const why = e instanceof SyntaxError ? 'is not valid JSON' : (e as Error).message;
        errors.push(FieldError.invalid(field, '<hidden>', `the Docker config ${why}`));
      }
    }
  }
  if (errors.length || !config) throw invalid('Secret', '', name, errors);
  const secret = {
    namespace: ns,
    name,
    uid: ctx.newUid(),
    resourceVersion: 1,
    creationTimestamp: ctx.clock(),
    labels: body.metadata.labels ?? {},
    annotations: body.metadata.annotations ?? {},
    type,
    config,
  };
  if (!(await ctx.secrets.create(secret))) throw alreadyExists(secretResource, name);
  return view(secret);
}

export async function getSecret(ctx: AppContext, ns: string, name: string) {
  requireNamespace(ns);
  const s = await ctx.secrets.get(ns, name);
  if (!s) throw notFound(secretResource, name);
  return view(s);
}

export async function listSecrets(ctx: AppContext, ns: string, query: URLSearchParams) {
  requireNamespace(ns);
  const limit = Math.min(parseLimit(query.get('limit')) ?? MAX_PAGE, MAX_PAGE);
  const token = decodeContinue(
    query.get('continue'),
    (t): t is { after: string } => typeof (t as { after?: unknown })?.after === 'string',
  );
  const page = await ctx.secrets.list(ns, { limit, after: token?.after });
  const last = page.items.at(-1);
  return {
    apiVersion: 'v1',
    kind: 'SecretList',
    metadata: page.more && last ? { continue: encodeContinue({ after: last.name }) } : {},
    items: page.items.map(view),
  };
}

export async function deleteSecret(ctx: AppContext, ns: string, name: string): Promise<Status> {
  requireNamespace(ns);
  if (!(await ctx.secrets.delete(ns, name))) throw notFound(secretResource, name);
  return successStatus({ name, kind: 'secrets' });
}
