import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { enforce, isReadOnly, requireActiveProject } from '../app/access';
import { type AppContext, forCaller, type Identity } from '../app/context';
import { receiveWebhook } from '../app/webhooks';
import { type Attributes, isClusterAdmin } from '../core/access/rules';
import { badRequest, methodNotAllowed, StatusError, unauthorized } from '../core/errors';
import { encodeJson } from './encode';
import { identityOf, routePath } from './identity';
import type { HttpResult } from './request';
import { attributesOf, matchRoute, type Route } from './routes';

/** The identity the edge authenticated (local token check, or API Gateway's JWT or IAM authorizer). */
export { identityOf } from './identity';

function parseBody(event: APIGatewayProxyEventV2): unknown {
  if (!event.body) return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
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
  if (path === '/healthz' && method === 'GET')
    return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  const hook = /^\/webhooks\/([^/]+)$/.exec(path);
  if (hook) {
    // Registries authenticate with the shared webhook secret instead of a user identity.
    if (method !== 'POST') throw methodNotAllowed(method, path);
    const query = new URLSearchParams(event.rawQueryString ?? '');
    const receipt = await receiveWebhook(ctx, {
      format: decodeURIComponent(hook[1]!),
      authorization: headers.authorization,
      queryToken: query.get('token') ?? undefined,
      body: parseBody(event),
    });
    return encodeJson(202, receipt, headers['accept-encoding']);
  }
  const identity = identityOf(event);
  if (!identity) throw unauthorized();
  const match = matchRoute(method, path);
  if (match.kind === 'not-found')
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
  if (match.kind === 'method-not-allowed') throw methodNotAllowed(method, path);
  const { route, params } = match;
  const request = {
    method,
    path,
    params,
    query: new URLSearchParams(event.rawQueryString ?? ''),
    headers,
    body: parseBody(event),
    identity,
  };
  const result = await authorized(ctx, identity, route, attributesOf(route, params), (reqCtx) =>
    route.handle(reqCtx, request),
  );
  return encodeJson(result.status, result.body, headers['accept-encoding']);
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
  log: (entry: { level?: string; [key: string]: unknown }) => void,
): APIGatewayProxyStructuredResultV2 {
  const accept = lowerHeaders(event.headers)['accept-encoding'];
  if (err instanceof StatusError) return encodeJson(err.code, err.toStatus(), accept);
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
