import { createHash } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { StatusError } from '../core/errors';
import { API_VERSION, resourceNames } from './discovery';
import { encodeJson } from './encode';
import { encodeOpenApiV2 } from './openapi-protobuf';
import { KIND_SCHEMAS } from './openapi-schemas';
import { type Route, routes } from './routes';

/**
 * OpenAPI v2 (`/openapi/v2`) and v3 (`/openapi/v3`, one document per group version) as kube-apiserver serves
 * them, generated from the route table (every route is an operation) and the schemas the server validates with
 * (functions/http/openapi-schemas.ts), under OpenShift's definition names. kubectl reads them for `explain` and
 * client-side validation.
 */

type Json = Record<string, unknown>;
type Version = 2 | 3;

const refBase = (v: Version) => (v === 2 ? '#/definitions/' : '#/components/schemas/');

/**
 * Rewrites zod's JSON Schema (draft 4) into OpenAPI's schema dialect: optional-or-null becomes optional, `const`
 * an enum, references point into the document (in v3 wrapped in allOf when the field has its own description, as
 * Kubernetes writes them), and keywords OpenAPI does not have are dropped.
 */
function toOpenApiSchema(node: unknown, v: Version): unknown {
  if (Array.isArray(node)) return node.map((n) => toOpenApiSchema(n, v));
  if (!node || typeof node !== 'object') return node;
  let obj = { ...(node as Json) };
  delete obj.$schema;
  delete obj.$id;
  delete obj.id;
  delete obj.propertyNames;
  if (Array.isArray(obj.anyOf)) {
    const branches = (obj.anyOf as Json[]).filter((b) => b.type !== 'null');
    if (branches.length === 1) {
      const { anyOf: _drop, ...rest } = obj;
      obj = { ...branches[0], ...rest };
    }
  }
  // zod wraps a described reference in allOf; Swagger 2.0 readers (kubectl's v2 models) want the reference itself.
  if (Array.isArray(obj.allOf) && obj.allOf.length === 1 && typeof (obj.allOf[0] as Json).$ref === 'string') {
    const { allOf, ...rest } = obj;
    obj = { ...rest, $ref: (allOf as Json[])[0]!.$ref };
  }
  if ('const' in obj) {
    obj.enum = [obj.const];
    delete obj.const;
  }
  const out: Json = {};
  for (const [k, value] of Object.entries(obj)) {
    if (k === 'properties' && value && typeof value === 'object')
      out[k] = Object.fromEntries(Object.entries(value).map(([p, s]) => [p, toOpenApiSchema(s, v)]));
    else if (k === '$ref' && typeof value === 'string')
      out[k] = value.replace(/^#\/definitions\//, refBase(v));
    else if (k.startsWith('x-') || k === 'enum' || k === 'required' || k === 'default') out[k] = value;
    else out[k] = toOpenApiSchema(value, v);
  }
  // Numbers zod bounds by JavaScript's safe integers; OpenAPI clients want the type alone.
  if (out.type === 'integer') {
    delete out.minimum;
    delete out.maximum;
    out.format ??= 'int64';
  }
  if (
    out.additionalProperties &&
    typeof out.additionalProperties === 'object' &&
    !Object.keys(out.additionalProperties).length
  )
    delete out.additionalProperties;
  if (v === 3 && typeof out.$ref === 'string' && Object.keys(out).length > 1) {
    const { $ref, ...rest } = out;
    return { allOf: [{ $ref }], ...rest };
  }
  return out;
}

const memo = new Map<string, unknown>();
/** The documents depend only on code, so each is computed once per process. */
function once<T>(key: string, make: () => T): T {
  if (!memo.has(key)) memo.set(key, make());
  return memo.get(key) as T;
}

/** Every named schema the documents refer to, in OpenAPI's dialect. */
function definitions(v: Version): Record<string, Json> {
  return once(`definitions/${v}`, () => makeDefinitions(v));
}

function makeDefinitions(v: Version): Record<string, Json> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    target: 'draft-4',
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/definitions/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas)
      .map(([id, s]) => [id, toOpenApiSchema(s, v) as Json] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

const idOf = (schema: z.ZodType | undefined) => {
  const id = schema ? (z.globalRegistry.get(schema)?.id as string | undefined) : undefined;
  if (!id) throw new Error('every kind schema has an OpenAPI name');
  return id;
};

/** The definition name of a kind's schema. */
export function definitionOf(kind: string): string {
  return idOf(KIND_SCHEMAS.get(kind) ?? KIND_SCHEMAS.get('Status'));
}

/** `apis/image.openshift.io/v1`, `api/v1`: how /openapi/v3 names a group version's document. */
const v3Key = (group: string) => (group ? `apis/${group}/${API_VERSION}` : `api/${API_VERSION}`);

/** Kubernetes' path parameter names: `{namespace}`, `{name}`. */
const openApiPath = (route: Route) => route.path.replace('{ns}', '{namespace}');

function kubernetesAction(route: Route): string {
  if (route.method === 'GET') return route.verb === 'list' ? 'list' : 'get';
  return route.method.toLowerCase();
}

function operation(route: Route, v: Version, ids: Set<string>) {
  const names = resourceNames(route.group, route.resource);
  const action = kubernetesAction(route);
  const responseKind =
    action === 'list'
      ? `${names.kind}List`
      : action === 'delete' && !KIND_SCHEMAS.has(names.kind)
        ? 'Status'
        : names.kind;
  const groupCamel = (route.group || 'core')
    .split(/[.-]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
  let operationId = `${action === 'post' ? 'create' : action === 'put' ? 'replace' : action}${groupCamel}V1${route.scope === 'namespace' ? 'Namespaced' : ''}${names.kind}`;
  while (ids.has(operationId)) operationId += 'ByName';
  ids.add(operationId);
  const ref = (kind: string) => ({ $ref: `${refBase(v)}${definitionOf(kind)}` });
  const takesBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
  const bodyTypes =
    route.method === 'PATCH'
      ? [
          'application/json-patch+json',
          'application/merge-patch+json',
          'application/strategic-merge-patch+json',
          ...(route.serverSideApply ? ['application/apply-patch+yaml'] : []),
        ]
      : ['application/json'];
  // Only in v3, which is what kubectl reads them from (the v2 protobuf form has no query parameters here).
  const query = v === 3 && takesBody && route.serverSideApply ? writeParameters(route) : [];
  const bodySchema =
    route.method === 'PATCH' ? { type: 'object', description: 'a patch of the object' } : ref(names.kind);
  const ok = route.method === 'POST' ? '201' : '200';
  const common = {
    operationId,
    description: `${action} ${route.resource}${route.group ? `.${route.group}` : ''}`,
    tags: [`${groupCamel}V1`],
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: route.group, version: API_VERSION, kind: names.kind },
  };
  if (v === 2)
    return {
      ...common,
      consumes: takesBody ? bodyTypes : ['*/*'],
      produces: ['application/json'],
      schemes: ['https'],
      ...(takesBody
        ? { parameters: [{ name: 'body', in: 'body', required: true, schema: bodySchema }] }
        : {}),
      responses: {
        [ok]: { description: 'OK', schema: ref(responseKind) },
        '401': { description: 'Unauthorized' },
      },
    };
  return {
    ...common,
    ...(query.length ? { parameters: query } : {}),
    ...(takesBody
      ? {
          requestBody: {
            required: true,
            content: Object.fromEntries(bodyTypes.map((t) => [t, { schema: bodySchema }])),
          },
        }
      : {}),
    responses: {
      [ok]: { description: 'OK', content: { 'application/json': { schema: ref(responseKind) } } },
      '401': { description: 'Unauthorized' },
    },
  };
}

/**
 * The write options a route takes as Kubernetes declares them; kubectl looks for `fieldValidation` on a kind's
 * PATCH to decide that the server, not kubectl, checks for unknown fields.
 */
function writeParameters(route: Route) {
  const param = (name: string, description: string, type = 'string') => ({
    name,
    in: 'query',
    description,
    schema: { type, uniqueItems: true },
  });
  return [
    param('dryRun', 'When present, indicates that modifications should not be persisted. Valid value: All'),
    param(
      'fieldManager',
      'fieldManager is a name associated with the actor or entity that is making these changes.',
    ),
    param(
      'fieldValidation',
      'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields: Ignore, Warn (the default) or Strict.',
    ),
    ...(route.method === 'PATCH'
      ? [
          param(
            'force',
            'Force is going to "force" Apply requests: it re-acquires conflicting fields owned by other people.',
            'boolean',
          ),
        ]
      : []),
  ];
}

function pathParameters(path: string, v: Version) {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    description:
      name === 'namespace'
        ? 'object name and auth scope, such as for teams and projects'
        : `name of the ${name === 'name' ? 'object' : name}`,
    ...(v === 2 ? { type: 'string' } : { schema: { type: 'string', uniqueItems: true } }),
  }));
}

function pathsOf(selected: readonly Route[], v: Version) {
  const ids = new Set<string>();
  const paths: Record<string, Json> = {};
  for (const route of selected) {
    const path = openApiPath(route);
    paths[path] ??= { parameters: pathParameters(path, v) };
    paths[path]![route.method.toLowerCase()] = operation(route, v, ids);
  }
  return paths;
}

const INFO = { title: 'imagestreams', version: 'v1.32.0' };
const SECURITY = {
  BearerToken: {
    type: 'apiKey',
    name: 'authorization',
    in: 'header',
    description: 'Bearer Token authentication',
  },
};

/** The whole API as one Swagger 2.0 document. */
export function openApiV2(table: readonly Route[] = routes): Json {
  if (table === routes) return once('v2', () => makeV2(table));
  return makeV2(table);
}

function makeV2(table: readonly Route[]): Json {
  return {
    swagger: '2.0',
    info: INFO,
    paths: pathsOf(table, 2),
    definitions: definitions(2),
    securityDefinitions: SECURITY,
    security: [{ BearerToken: [] }],
  };
}

/** One group version's OpenAPI 3.0 document (its routes, every named schema). */
export function openApiV3(group: string, table: readonly Route[] = routes): Json | undefined {
  const selected = table.filter((r) => r.group === group);
  if (!selected.length) return undefined;
  return {
    openapi: '3.0.0',
    info: INFO,
    paths: pathsOf(selected, 3),
    components: { schemas: definitions(3), securitySchemes: SECURITY },
    security: [{ BearerToken: [] }],
  };
}

/** The groups with a v3 document: every group a route serves, the core group included. */
const servedGroups = (table: readonly Route[]) => [...new Set(table.map((r) => r.group))].sort();

/** `/openapi/v3`: where each group version's document is, with a hash of its content (clients cache by it). */
export function openApiV3Index(table: readonly Route[] = routes): Json {
  if (table === routes) return once('v3-index', () => makeV3Index(table));
  return makeV3Index(table);
}

function makeV3Index(table: readonly Route[]): Json {
  return {
    paths: Object.fromEntries(
      servedGroups(table).map((g) => {
        const hash = createHash('sha512')
          .update(JSON.stringify(openApiV3(g, table)))
          .digest('hex')
          .slice(0, 128)
          .toUpperCase();
        return [v3Key(g), { serverRelativeURL: `/openapi/v3/${v3Key(g)}?hash=${hash}` }];
      }),
    ),
  };
}

const PROTOBUF_V2 = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** The content type kube-apiserver answers the protobuf document with. */
const PROTOBUF_V2_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** What the client takes first: JSON, the v2 protobuf form (kubectl asks for it alone), or neither. */
function preferred(accept: string | undefined): 'json' | 'protobuf' | undefined {
  if (!accept) return 'json';
  for (const entry of accept.split(',')) {
    const type = entry.split(';')[0]!.trim().toLowerCase();
    if (type === 'application/json' || type === '*/*' || type === 'application/*') return 'json';
    if (type === PROTOBUF_V2) return 'protobuf';
  }
  return undefined;
}

const notAcceptable = (accept: string) =>
  new StatusError(
    406,
    'NotAcceptable',
    `only application/json and ${PROTOBUF_V2} are served here, not ${accept}`,
    {},
  );
const notFound = () =>
  new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});

/** The answer to a GET of an OpenAPI path, or undefined when `path` is none. */
export function openApiResponse(
  path: string,
  headers: Record<string, string>,
): APIGatewayProxyStructuredResultV2 | undefined {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed !== '/openapi/v2' && trimmed !== '/openapi/v3' && !trimmed.startsWith('/openapi/v3/'))
    return undefined;
  const form = preferred(headers.accept);
  if (!form || (form === 'protobuf' && trimmed !== '/openapi/v2')) throw notAcceptable(headers.accept ?? '');
  const gzip = headers['accept-encoding'];
  if (form === 'protobuf') {
    const body = once('v2-protobuf', () => encodeOpenApiV2(openApiV2()));
    return {
      statusCode: 200,
      headers: { 'content-type': PROTOBUF_V2_CONTENT_TYPE },
      body: body.toString('base64'),
      isBase64Encoded: true,
    };
  }
  if (trimmed === '/openapi/v2') return encodeJson(200, openApiV2(), gzip);
  if (trimmed === '/openapi/v3') return encodeJson(200, openApiV3Index(), gzip);
  const m = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(trimmed);
  if (!m || (m[3] !== undefined && m[3] !== API_VERSION)) throw notFound();
  const doc = openApiV3(m[1] ? '' : m[2]!);
  if (!doc) throw notFound();
  const res = encodeJson(200, doc, gzip);
  // Documents are fetched by their hash; the hash changes with the content.
  return { ...res, headers: { ...res.headers, 'cache-control': 'public, immutable' } };
}
