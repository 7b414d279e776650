import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { enforce, isReadOnly, requireActiveProject } from '../app/access/access';
import { receiveWebhook } from '../app/imports/webhooks';
import { type AppContext, forCaller, type Identity } from '../app/shared/context';
import type { Log } from '../app/shared/log';
import type { WriteOptions } from '../app/shared/requests';
import { type Attributes, allowsNonResource, isClusterAdmin } from '../core/access/rules';
import { IMAGE_API_GROUP } from '../core/api-types';
import {
  badRequest,
  forbidden,
  methodNotAllowed,
  notFound,
  StatusError,
  successStatus,
  unauthorized,
} from '../core/errors';
import { parseFieldSelector } from '../core/field-selector';
import { validateNamespaceName } from '../core/imagestream/validation';
import { type BodyKind, duplicateJsonKeys, mediaTypeOf, readBody } from './body';
import { discoveryResponse } from './discovery';
import { encodeAnswer, encodeJson } from './encode';
import { identityOf, routePath } from './identity';
import { type Answer, errorFormat, negotiateAnswer } from './negotiate';
import { openApiResponse } from './openapi';
import { checkListOptions, writeOptionsOf } from './options';
import { decodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE } from './protobuf';
import type { HttpResult } from './request';
import { acceptedBody, attributesOf, decodePathSegment, matchRoute, type Route } from './routes';
import { type IncludeObject, includeObjectOf, toTable } from './table';
import { isWatchRequest } from './watch-request';

/** The identity the edge authenticated (local token check, or API Gateway's JWT or IAM authorizer). */
export { identityOf } from './identity';

/** Kubernetes' health endpoints: open to anyone, they read nothing. */
export const HEALTH_PATHS: ReadonlySet<string> = new Set(['/healthz', '/livez', '/readyz']);

/** The body text of an event (API Gateway base64-encodes bodies it does not take for text). */
function bodyText(event: APIGatewayProxyEventV2): string | undefined {
  if (!event.body) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** The body's bytes, for media types that are not text (Kubernetes protobuf). */
function bodyBytes(event: APIGatewayProxyEventV2): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

/** A route's body: Kubernetes protobuf where the route reads it (built-in kinds kubectl sends so), else text. */
function routeBody(
  event: APIGatewayProxyEventV2,
  contentType: string | undefined,
  route: Route,
  kind: BodyKind,
) {
  if (route.protobuf && mediaTypeOf(contentType) === PROTOBUF_MEDIA_TYPE) {
    const bytes = bodyBytes(event);
    return bytes.length ? decodeKubernetesProtobuf(bytes, route.protobuf) : undefined;
  }
  return readBody(bodyText(event), contentType, kind);
}

/** JSON bodies, and apply patches, which are YAML but which kubectl sends as JSON. */
function isJsonText(contentType: string | undefined): boolean {
  const type = mediaTypeOf(contentType);
  return (
    type === 'application/apply-patch+yaml' || (type.startsWith('application/') && type.endsWith('json'))
  );
}

function lowerHeaders(h: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/** Routes one API Gateway (payload 2.0) event to its use case and encodes the answer. */
export async function dispatch(
  ctx: AppContext,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  const headers = lowerHeaders(event.headers);
  const method = event.requestContext.http.method.toUpperCase();
  // `/iam/...` (SigV4 callers) routes as the path without the prefix.
  const path = routePath(event);
  if (HEALTH_PATHS.has(path) && method === 'GET')
    return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  const hook = /^\/webhooks\/([^/]+)$/.exec(path);
  if (hook) {
    // Registries authenticate with the shared webhook secret instead of a user identity.
    if (method !== 'POST') throw methodNotAllowed(method, path);
    const query = new URLSearchParams(event.rawQueryString ?? '');
    const receipt = await receiveWebhook(ctx, {
      format: decodePathSegment(hook[1]!),
      authorization: headers.authorization,
      queryToken: query.get('token') ?? undefined,
      // Read only once the sender is known to be a registry.
      body: () => readBody(bodyText(event), headers['content-type'], 'notification'),
    });
    return encodeJson(202, receipt, headers['accept-encoding']);
  }
  const identity = identityOf(event);
  if (!identity) throw unauthorized();
  const discovery =
    method === 'GET' ? (discoveryResponse(path, headers) ?? openApiResponse(path, headers)) : undefined;
  if (discovery) {
    if (!allowsNonResource(identity, 'get', path, ctx.access))
      throw forbidden(`forbidden: User "${identity.user}" cannot get path "${path}"`);
    return discovery;
  }
  const query = new URLSearchParams(event.rawQueryString ?? '');
  // Watches stream; API Gateway buffers answers. They are served where responses stream (docs/watch.md).
  if (method === 'GET' && isWatchRequest(path, query))
    throw new StatusError(
      405,
      'MethodNotAllowed',
      `watch is not served through this endpoint, which cannot stream: ${process.env.WATCH_URL ? `use ${process.env.WATCH_URL}` : 'use the watch function URL (stack output WatchUrl)'}`,
    );
  const match = matchRoute(method, path);
  if (match.kind === 'not-found')
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
  if (match.kind === 'method-not-allowed') throw methodNotAllowed(method, path);
  const { route, params } = match;
  checkPathNames(route, params);
  const accepts = acceptedBody(route);
  const request = {
    method,
    path,
    params,
    query,
    headers,
    body: undefined as unknown,
    identity,
    options: {} as WriteOptions,
  };
  let answer: Answer = { format: 'json' };
  let includeObject: IncludeObject = 'Metadata';
  let selects: ((item: unknown) => boolean) | undefined;
  // As in Kubernetes, the answer's format, then the body (media type, then shape) are looked at only once the caller
  // may make the call, and before anything is read or written with it.
  const result = await authorized(ctx, identity, route, attributesOf(route, params), (reqCtx) => {
    answer = negotiateAnswer(headers.accept, method === 'GET');
    if (route.verb === 'list') {
      checkListOptions(request.query);
      selects = fieldSelectorOf(request.query);
    }
    if (answer.table) includeObject = includeObjectOf(request.query);
    if (accepts) request.body = routeBody(event, headers['content-type'], route, accepts);
    if (method !== 'GET') request.options = writeOptionsOf(method, request.query, request.body, headers);
    // Duplicate keys are gone once parsed: the text says which there were (YAML bodies refuse them when read).
    if (route.serverSideApply && request.body !== undefined && isJsonText(headers['content-type']))
      request.options.duplicateFields = duplicateJsonKeys(bodyText(event) ?? '');
    return route.handle(reqCtx, request);
  });
  const { format } = answer;
  if (selects) selectItems(result.body, selects);
  if (route.method === 'GET') {
    const body = answer.table
      ? toTable(route.resource, result.body, answer.table, includeObject, Date.now())
      : result.body;
    return encodeAnswer(result.status, body, format, headers['accept-encoding']);
  }
  if (request.options.dryRun && result.status === 201) withoutResourceVersion(result.body);
  // The write has happened: its answer must say so even when the object is too large to carry back.
  let size = 0;
  return withWarnings(
    request.options.warnings,
    encodeAnswer(result.status, result.body, format, headers['accept-encoding'], [
      ...(route.shorterAnswer
        ? [
            (bytes: number) => {
              size = bytes;
              return route.shorterAnswer!(result.body);
            },
          ]
        : []),
      (bytes: number) => writeSummary(route, params, result, size || bytes),
    ]),
  );
}

/** Warnings as kube-apiserver sends them: `Warning: 299 - "<text>"`, several as one comma-separated list. */
function withWarnings(
  warnings: string[] | undefined,
  response: ReturnType<typeof encodeAnswer>,
): ReturnType<typeof encodeAnswer> {
  if (!warnings?.length) return response;
  const value = warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
  return { ...response, headers: { ...response.headers, warning: value } };
}

/**
 * A list's `fieldSelector` (functions/core/field-selector.ts), read before the list runs so a field no object offers
 * is 400 before anything is read; undefined when there is none. It applies to the page the list read: as
 * Kubernetes allows, a page may then hold fewer than `limit` items, and `continue` still resumes after it.
 */
export function fieldSelectorOf(query: URLSearchParams): ((item: unknown) => boolean) | undefined {
  const selector = query.get('fieldSelector');
  if (!selector?.trim()) return undefined;
  const test = parseFieldSelector(selector);
  return (item) => {
    const meta = (item as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
    return test({
      'metadata.name': typeof meta?.name === 'string' ? meta.name : '',
      'metadata.namespace': typeof meta?.namespace === 'string' ? meta.namespace : '',
    });
  };
}

function selectItems(body: unknown, selects: (item: unknown) => boolean): void {
  const list = body as { items?: unknown } | null;
  if (list && Array.isArray(list.items)) list.items = list.items.filter(selects);
}

/**
 * A dry-run create answers the object it would have created without a resourceVersion, as Kubernetes does: none
 * was stored, so there is none a later write or watch could name.
 */
function withoutResourceVersion(body: unknown): void {
  const meta = (body as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  if (meta && typeof meta === 'object') delete meta.resourceVersion;
}

/**
 * The namespace and name of the path, checked before anything is read with them: a namespace that is not a DNS
 * label is 400 (as every endpoint answered it), a name no object of the resource can have is 404.
 */
function checkPathNames(route: Route, params: Record<string, string>): void {
  if (params.ns !== undefined) {
    const why = validateNamespaceName(params.ns);
    if (why) throw badRequest(why);
  }
  if (params.name !== undefined && route.nameFits && !route.nameFits(params.name, params.ns ?? ''))
    throw notFound({ group: route.group, resource: route.resource }, params.name);
}

/**
 * What a successful write answers when its object is too large for a response: a Success Status with the write's
 * own code, naming the object (the write is done, and the caller must be able to rely on that) and where to read
 * it in parts.
 */
function writeSummary(
  route: Route,
  params: Record<string, string>,
  result: HttpResult,
  bytes: number,
): unknown {
  const meta = (result.body as { metadata?: { name?: unknown; uid?: unknown } } | null)?.metadata;
  const name = typeof meta?.name === 'string' ? meta.name : (params.name ?? '');
  const what = `${route.resource}${route.group ? `.${route.group}` : ''} "${name}"`;
  const streams = `/apis/${IMAGE_API_GROUP}/v1/namespaces/${params.ns}`;
  const readIt =
    route.group === IMAGE_API_GROUP && params.ns
      ? `read the stream with GET ${streams}/imagestreams/${route.resource === 'imagestreamtags' ? (name.split(':')[0] ?? '') : name}?historyLimit=0, its tags page by page with GET ${streams}/imagestreamtags?limit=100`
      : 'read it with GET';
  return {
    ...successStatus({
      name,
      group: route.group,
      kind: route.resource,
      ...(typeof meta?.uid === 'string' ? { uid: meta.uid } : {}),
    }),
    code: result.status,
    message: `${what} ${result.status === 201 ? 'created' : 'written'}, but its answer is ${bytes} bytes, more than a response may carry: ${readIt}`,
  };
}

/**
 * The one access check every route passes (functions/core/access/rules.ts): the caller's verb on the route's
 * resource, in the route's namespace. A namespaced call reads the project and its bindings once (cluster
 * administrators only when they create content, which needs an Active project). Reads run alongside that read
 * (which may be a remembered one, ACCESS_CACHE_SECONDS), and their result is dropped when the check denies.
 * Writes wait for a fresh read.
 */
async function authorized(
  ctx: AppContext,
  caller: Identity,
  route: Route,
  attrs: Attributes,
  run: (reqCtx: AppContext) => Promise<HttpResult>,
): Promise<HttpResult> {
  const reqCtx = forCaller(ctx, caller);
  const ns = attrs.namespace;
  const admin = isClusterAdmin(caller, ctx.access);
  const readAccess = ns !== undefined && (!admin || route.createsContent);
  // Reads may use a read of the bindings up to ACCESS_CACHE_SECONDS old; writes always read them afresh.
  const maxAgeMs = isReadOnly(attrs.verb) ? ctx.access.cacheMs : 0;
  const check = async () => {
    const access = readAccess ? await ctx.projects.access(ns!, { maxAgeMs }) : undefined;
    enforce(ctx, caller, attrs, access);
    if (route.createsContent) requireActiveProject(ns!, access);
  };
  if (!isReadOnly(attrs.verb)) {
    await check();
    return run(reqCtx);
  }
  const [allowed, result] = await Promise.allSettled([check(), run(reqCtx)]);
  if (allowed.status === 'rejected') throw allowed.reason;
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** The one place errors become HTTP answers: StatusErrors as they are, anything else as a bare 500. */
export function errorResponse(
  err: unknown,
  event: APIGatewayProxyEventV2,
  log: Log,
): APIGatewayProxyStructuredResultV2 {
  const headers = lowerHeaders(event.headers);
  const accept = headers['accept-encoding'];
  if (err instanceof StatusError)
    return encodeAnswer(err.code, err.toStatus(), errorFormat(headers.accept), accept);
  log({
    level: 'error',
    message: 'unhandled error',
    error: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
    path: event.rawPath,
    method: event.requestContext.http.method,
  });
  const status = new StatusError(
    500,
    'InternalError',
    'Internal error occurred: the server could not complete the request',
  ).toStatus();
  return encodeJson(500, status, accept);
}
