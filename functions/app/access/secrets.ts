import * as z from 'zod';
import type { List } from '../../core/api-types';
import {
  alreadyExists,
  badRequest,
  conflict,
  FieldError,
  type GroupResource,
  invalid,
  notFound,
  OBJECT_MODIFIED,
  type Status,
  successStatus,
} from '../../core/errors';
import { validateObjectMeta } from '../../core/imagestream/validation';
import { type DockerConfig, parseDockerConfig } from '../../registry/credentials';
import type { CredentialSealer, SecretIdentity } from '../ports/credential-sealer';
import type { SecretMeta, StoredSecret } from '../ports/secrets';
import { type AppContext, actorOf } from '../shared/context';
import { listSelectedByName, MAX_PAGE } from '../shared/paging';
import { checkNamespace, generateName, requireNamespace, type WriteOptions } from '../shared/requests';
import { namespaceTerminating } from './access';

/**
 * Kubernetes v1 Secrets, limited to registry credentials for image imports. They are write-only: create, get,
 * list and delete show metadata and type, never `data`, and no message ever echoes the content. PUT replaces a
 * secret's content in place (rotation without a window in which imports find no credential). The content is
 * sealed (functions/app/ports/credential-sealer.ts) before it is stored, for this secret's namespace, name and uid.
 */

/** The core API group is empty, so messages read `secrets "x" not found`, as Kubernetes prints them. */
const secretResource: GroupResource = { group: '', resource: 'secrets' };

/** The docker secret types and the one data key each carries (`.dockercfg` holds the `auths` map itself). */
const DOCKER_TYPES: ReadonlyMap<string, { key: string; legacy: boolean }> = new Map([
  ['kubernetes.io/dockerconfigjson', { key: '.dockerconfigjson', legacy: false }],
  ['kubernetes.io/dockercfg', { key: '.dockercfg', legacy: true }],
]);

/** Far above any real Docker config, and keeps a secret's item well inside DynamoDB's 400 KB. */
export const MAX_DOCKER_CONFIG_BYTES = 64 * 1024;
/** Kubernetes' placeholder for a secret value in a field error. */
const REDACTED = '<secret contents redacted>';
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Go's base64.StdEncoding, which Kubernetes uses for `data`: padded, standard alphabet (CR/LF ignored). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const stringMap = z.record(z.string(), z.string());
const secretBody = z
  .object({
    kind: z.string().optional(),
    apiVersion: z.string().optional(),
    metadata: z
      .object({
        name: z.string().optional(),
        generateName: z.string().optional(),
        namespace: z.string().optional(),
        labels: stringMap.nullish(),
        annotations: stringMap.nullish(),
      })
      .loose()
      .default({}),
    type: z.string().optional(),
    data: stringMap.nullish(),
    stringData: stringMap.nullish(),
  })
  .loose();
type SecretBody = z.infer<typeof secretBody>;

/** Shape errors are 400 BadRequest as in decode.ts; zod's messages name paths and types, never values. */
function decodeSecret(body: unknown): SecretBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the request body must be a JSON object (a Secret)');
  const parsed = secretBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(`unable to decode Secret: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const s = parsed.data;
  if (s.kind !== undefined && s.kind !== 'Secret')
    throw badRequest(`the kind of the request body is ${JSON.stringify(s.kind)}, expected "Secret"`);
  if (s.apiVersion !== undefined && s.apiVersion !== 'v1')
    throw badRequest(`unsupported apiVersion ${JSON.stringify(s.apiVersion)} for Secret; use v1`);
  return s;
}

export interface SecretView {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  type: string;
}

/** What the API shows of a secret. Built from metadata only, so `data` cannot leak into a response by accident. */
function view(s: SecretMeta): SecretView {
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

function validateName(name: string, generated: boolean): FieldError[] {
  if (!name) return [FieldError.required('metadata.name', 'name or generateName is required')];
  if (name.length > 253)
    return [FieldError.invalid('metadata.name', name, 'must be no more than 253 characters')];
  if (!DNS1123_SUBDOMAIN.test(name))
    return [
      FieldError.invalid(
        generated ? 'metadata.generateName' : 'metadata.name',
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
      ),
    ];
  return [];
}

/**
 * The Docker config of a docker secret, or the field errors that explain why not. `stringData` wins over `data`
 * as in Kubernetes. Messages say what is wrong (not base64, not JSON and where, which part of the shape) but
 * never quote the content: a Status is logged and shown by clients.
 */
function dockerConfigOf(body: SecretBody, type: string, errors: FieldError[]): DockerConfig | undefined {
  const kind = DOCKER_TYPES.get(type);
  if (!kind) {
    // Everything but registry credentials is out of scope; say so rather than store data nothing would use.
    errors.push(FieldError.notSupported('type', type, [...DOCKER_TYPES.keys()]));
    return undefined;
  }
  const field = `data[${kind.key}]`;
  // Other keys would be dropped silently (only the config is stored), so they are refused instead.
  const extra = new Set([...Object.keys(body.data ?? {}), ...Object.keys(body.stringData ?? {})]);
  extra.delete(kind.key);
  for (const k of [...extra].sort())
    errors.push(FieldError.forbidden(`data[${k}]`, `a ${type} secret holds only the ${kind.key} key`));

  let text = body.stringData?.[kind.key];
  if (text === undefined) {
    const b64 = body.data?.[kind.key]?.replace(/[\r\n]/g, '');
    if (b64 === undefined) {
      errors.push(FieldError.required(field, `a ${type} secret needs the ${kind.key} key`));
      return undefined;
    }
    // Checked before decoding so an oversized value is never expanded.
    if (b64.length > Math.ceil(MAX_DOCKER_CONFIG_BYTES / 3) * 4) {
      errors.push(FieldError.tooLong(field, MAX_DOCKER_CONFIG_BYTES));
      return undefined;
    }
    if (!BASE64.test(b64)) {
      errors.push(FieldError.invalid(field, REDACTED, 'must be base64-encoded (standard alphabet, padded)'));
      return undefined;
    }
    text = Buffer.from(b64, 'base64').toString('utf8');
  }
  if (!text.trim()) {
    errors.push(FieldError.required(field, `the ${kind.key} key must not be empty`));
    return undefined;
  }
  if (Buffer.byteLength(text) > MAX_DOCKER_CONFIG_BYTES) {
    errors.push(FieldError.tooLong(field, MAX_DOCKER_CONFIG_BYTES));
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // V8's messages quote the text around the error; keep only the position.
    const at = /at position (\d+)/.exec((e as Error).message)?.[1];
    errors.push(FieldError.invalid(field, REDACTED, `is not valid JSON${at ? ` (at position ${at})` : ''}`));
    return undefined;
  }
  try {
    return parseDockerConfig(json, kind.legacy);
  } catch (e) {
    errors.push(FieldError.invalid(field, REDACTED, `the Docker config ${(e as Error).message}`));
    return undefined;
  }
}

/** POST /api/v1/namespaces/{ns}/secrets (201). Nothing is written unless every check passes. */
export async function createSecret(
  ctx: AppContext,
  ns: string,
  rawBody: unknown,
  opts: WriteOptions = {},
): Promise<SecretView> {
  requireNamespace(ns);
  const body = decodeSecret(rawBody);
  checkNamespace(body.metadata, ns);
  const generated = !body.metadata.name && !!body.metadata.generateName;
  const name = body.metadata.name || (generated ? generateName(body.metadata.generateName!) : '');
  // Kubernetes defaults an absent type to Opaque, which is then refused below like any other non-docker type.
  const type = body.type || 'Opaque';
  const errors: FieldError[] = [
    ...validateName(name, generated),
    ...validateObjectMeta({
      ...(body.metadata.labels ? { labels: body.metadata.labels } : {}),
      ...(body.metadata.annotations ? { annotations: body.metadata.annotations } : {}),
    }),
  ];
  const config = dockerConfigOf(body, type, errors);
  if (errors.length || !config) throw invalid('Secret', '', name, errors);
  const uid = ctx.newUid();
  if (opts.dryRun) {
    // The project is Active (the edge checked it for every create); what is left to refuse is a name in use.
    if (await ctx.secrets.get(ns, name)) throw alreadyExists(secretResource, name);
    return view({
      namespace: ns,
      name,
      uid,
      resourceVersion: 1,
      creationTimestamp: ctx.clock(),
      ...metaOf(body),
      type,
    });
  }
  const secret: StoredSecret = {
    namespace: ns,
    name,
    uid,
    resourceVersion: 1,
    creationTimestamp: ctx.clock(),
    labels: body.metadata.labels ?? {},
    annotations: body.metadata.annotations ?? {},
    type,
    sealed: await seal(ctx.sealer, config, { namespace: ns, name, uid }),
    by: actorOf(ctx),
  };
  const outcome = await ctx.secrets.create(secret);
  if (outcome === 'exists') throw alreadyExists(secretResource, name);
  if (outcome === 'no-project') throw namespaceTerminating(ns);
  return view(secret);
}

/**
 * PUT /api/v1/namespaces/{ns}/secrets/{name}: replaces labels, annotations and content. The secret must exist
 * (404), its type cannot change (422, as in Kubernetes), and a given resourceVersion must be current (409).
 */
export async function updateSecret(
  ctx: AppContext,
  ns: string,
  name: string,
  rawBody: unknown,
  opts: WriteOptions = {},
): Promise<SecretView> {
  requireNamespace(ns);
  const body = decodeSecret(rawBody);
  checkNamespace(body.metadata, ns);
  if (body.metadata.name && body.metadata.name !== name)
    throw badRequest(
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
    );
  const live = await ctx.secrets.get(ns, name);
  if (!live) throw notFound(secretResource, name);
  const type = body.type || live.type;
  const errors: FieldError[] = validateObjectMeta({
    ...(body.metadata.labels ? { labels: body.metadata.labels } : {}),
    ...(body.metadata.annotations ? { annotations: body.metadata.annotations } : {}),
  });
  if (type !== live.type) errors.push(FieldError.invalid('type', type, 'field is immutable'));
  const config = dockerConfigOf(body, type, errors);
  if (errors.length || !config) throw invalid('Secret', '', name, errors);
  const rv = (body.metadata as { resourceVersion?: unknown }).resourceVersion;
  if (rv !== undefined && String(rv) !== String(live.resourceVersion))
    throw conflict(secretResource, name, OBJECT_MODIFIED);
  if (opts.dryRun) return view({ ...live, ...metaOf(body), type });
  const next: StoredSecret = {
    ...live,
    resourceVersion: live.resourceVersion + 1,
    labels: body.metadata.labels ?? {},
    annotations: body.metadata.annotations ?? {},
    type,
    sealed: await seal(ctx.sealer, config, { namespace: ns, name, uid: live.uid }),
    by: actorOf(ctx),
  };
  if (!(await ctx.secrets.replace(next, live.resourceVersion)))
    throw conflict(secretResource, name, OBJECT_MODIFIED);
  return view(next);
}

export async function getSecret(ctx: AppContext, ns: string, name: string): Promise<SecretView> {
  requireNamespace(ns);
  const s = await ctx.secrets.get(ns, name);
  if (!s) throw notFound(secretResource, name);
  return view(s);
}

/** GET …/secrets: name order, `labelSelector`, `limit` (at most {@link MAX_PAGE}) and `continue`. */
export async function listSecrets(
  ctx: AppContext,
  ns: string,
  query: URLSearchParams,
): Promise<List<SecretView>> {
  requireNamespace(ns);
  const page = await listSelectedByName(query, (p) => ctx.secrets.list(ns, p));
  return {
    kind: 'SecretList',
    apiVersion: 'v1',
    metadata: page.continue ? { continue: page.continue } : {},
    items: page.items.map(view),
  };
}

/** DELETE …/secrets/{name}: a Kubernetes success Status naming what was removed. */
export async function deleteSecret(
  ctx: AppContext,
  ns: string,
  name: string,
  opts: WriteOptions = {},
): Promise<Status> {
  requireNamespace(ns);
  const gone = opts.dryRun ? await ctx.secrets.get(ns, name) : await ctx.secrets.delete(ns, name);
  if (!gone) throw notFound(secretResource, name);
  return successStatus({ name, kind: secretResource.resource, uid: gone.uid });
}

function metaOf(body: SecretBody) {
  return { labels: body.metadata.labels ?? {}, annotations: body.metadata.annotations ?? {} };
}

function seal(sealer: CredentialSealer, config: DockerConfig, owner: SecretIdentity) {
  return sealer.seal(Buffer.from(JSON.stringify(config)), owner);
}
