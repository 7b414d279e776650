import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { enforce } from '../app/access/access';
import type { WatchResource } from '../app/ports/watch';
import type { AppContext } from '../app/shared/context';
import { forCaller } from '../app/shared/context';
import { getImageStream } from '../app/streams/imagestreams';
import { getImageStreamTag } from '../app/streams/imagestreamtags';
import { expired, followLog, parsePosition, type WatchEvent, type WatchScope } from '../app/watch/watch';
import { isClusterAdmin } from '../core/access/rules';
import { badRequest, FieldError, invalid, methodNotAllowed, StatusError, unauthorized } from '../core/errors';
import { validateNamespaceName } from '../core/imagestream/validation';
import { parseLabelSelector } from '../core/label-selector';
import { fieldSelectorOf } from './api';
import { identityOf, routePath } from './identity';
import { legacyWatchPath } from './watch-request';

export { isWatchRequest } from './watch-request';

import { negotiateAnswer, notAcceptable } from './negotiate';
import { attributesOf, matchRoute } from './routes';
import { includeObjectOf, toTable } from './table';

const WATCHED: ReadonlySet<string> = new Set<WatchResource>(['imagestreams', 'imagestreamtags']);

/** Where a watch's events go: the local server's response, or a Lambda response stream. */
export interface WatchOutput {
  /** Sends the 200 head; called once, before the first event. */
  start(headers: Record<string, string>): void;
  /** Sends one line; resolves when it may send the next (backpressure). */
  write(line: string): Promise<void>;
  /** Aborts when the client went away. */
  signal: AbortSignal;
}

/**
 * A watch on imagestreams or imagestreamtags (of a project, or of every project for cluster administrators):
 * Kubernetes' watch framing, one JSON `{"type","object"}` per line, fed by the watch log (functions/app/watch).
 * Everything a client can get wrong is refused (thrown as a StatusError) before `out.start`; afterwards, an expired
 * position ends the stream with an ERROR event carrying the 410 Status, as kube-apiserver does, and the stream ends
 * cleanly at `timeoutSeconds` (capped by the service's longest watch).
 */
export async function serveWatch(
  ctx: AppContext,
  event: APIGatewayProxyEventV2,
  out: WatchOutput,
): Promise<void> {
  const identity = identityOf(event);
  if (!identity) throw unauthorized();
  const query = new URLSearchParams(event.rawQueryString ?? '');
  let path = routePath(event);
  const legacy = legacyWatchPath(path);
  if (legacy) {
    path = legacy.path;
    if (legacy.name !== undefined) {
      const byName = `metadata.name=${legacy.name}`;
      const given = query.get('fieldSelector');
      query.set('fieldSelector', given ? `${given},${byName}` : byName);
    }
  }
  const method = event.requestContext.http.method.toUpperCase();
  const match = matchRoute(method, path);
  if (match.kind === 'not-found')
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
  if (match.kind === 'method-not-allowed' || match.route.method !== 'GET')
    throw methodNotAllowed(method, path);
  const { route, params } = match;
  if (!route.watchable || !WATCHED.has(route.resource)) throw methodNotAllowed(`${method} with watch`, path);
  if (params.ns !== undefined) {
    const why = validateNamespaceName(params.ns);
    if (why) throw badRequest(why);
  }
  const attrs = { ...attributesOf(route, params), verb: 'watch' as const };
  const admin = isClusterAdmin(identity, ctx.access);
  const access =
    attrs.namespace !== undefined && !admin ? await ctx.projects.access(attrs.namespace) : undefined;
  enforce(ctx, identity, attrs, access);
  const settings = ctx.watch;
  if (!settings) throw methodNotAllowed(`${method} with watch`, path);
  const answer = negotiateAnswer(event.headers?.accept ?? event.headers?.Accept, true);
  if (answer.format !== 'json') throw notAcceptable();
  const includeObject = answer.table ? includeObjectOf(query) : 'Object';
  const options = watchOptionsOf(query);
  const resource = route.resource as WatchResource;
  const fields = fieldSelectorOf(query);
  const scope: WatchScope = {
    resource,
    namespace: params.ns,
    labels: parseLabelSelector(query.get('labelSelector') ?? ''),
    ...(fields ? { fields } : {}),
  };
  const seconds = Math.min(options.timeoutSeconds ?? settings.maxSeconds, settings.maxSeconds);
  const signal = AbortSignal.any([out.signal, AbortSignal.timeout(seconds * 1000)]);
  const kind = resource === 'imagestreams' ? 'ImageStream' : 'ImageStreamTag';
  const encode = (e: WatchEvent) => {
    const object =
      answer.table && (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED')
        ? toTable(resource, e.object, answer.table, includeObject, Date.now())
        : e.object;
    return `${JSON.stringify({ type: e.type, object })}\n`;
  };
  const send = (e: WatchEvent) => out.write(encode(e));
  const reqCtx = forCaller(ctx, identity);
  let from = options.position;
  // Without a position: the current objects first (ADDED), then the changes after the list they came from.
  const initial: unknown[] = [];
  if (from === undefined) {
    const listQuery = new URLSearchParams(query);
    for (const k of ['watch', 'resourceVersion', 'timeoutSeconds', 'allowWatchBookmarks', 'fieldSelector'])
      listQuery.delete(k);
    let position = 0;
    for (let page = 0; page < 10_000; page++) {
      const result = await route.handle(reqCtx, {
        method: 'GET',
        path,
        params,
        query: listQuery,
        headers: {},
        body: undefined,
        identity,
        options: {},
      });
      const list = result.body as {
        metadata: { continue?: string; resourceVersion?: string };
        items: unknown[];
      };
      if (!position) position = Number(list.metadata.resourceVersion);
      initial.push(...list.items);
      if (!list.metadata.continue) break;
      listQuery.set('continue', list.metadata.continue);
    }
    from = position;
  }
  out.start({ 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
  for (const object of initial) {
    if (fields && !fields(object)) continue;
    const meta = (object as { metadata?: Record<string, unknown> }).metadata ?? {};
    await send({
      type: 'ADDED',
      object: { ...(object as object), metadata: { ...meta, resourceVersion: String(from) } },
    });
  }
  try {
    await followLog(settings, from, scope, send, signal, {
      bookmarks: options.bookmarks,
      fetch: async (r) => {
        const q = new URLSearchParams();
        const got =
          resource === 'imagestreams'
            ? await getImageStream(reqCtx, r.namespace, r.name, q).catch(() => undefined)
            : await getImageStreamTag(reqCtx, r.namespace, r.name).catch(() => undefined);
        return got as Record<string, unknown> | undefined;
      },
      bookmarkObject: (position) => ({
        kind,
        apiVersion: 'image.openshift.io/v1',
        metadata: { resourceVersion: String(position) },
      }),
    });
  } catch (e) {
    if (!(e instanceof StatusError)) throw e;
    await out.write(`${JSON.stringify({ type: 'ERROR', object: e.toStatus() })}\n`);
  }
}

/** A watch's options, checked as kube-apiserver checks ListOptions for a watch. */
function watchOptionsOf(query: URLSearchParams): {
  position: number | undefined;
  timeoutSeconds: number | undefined;
  bookmarks: boolean;
} {
  const rv = query.get('resourceVersion');
  if (rv !== null && rv !== '' && !/^\d+$/.test(rv))
    throw badRequest(`resourceVersion: Invalid value: "${rv}": must be an unsigned integer`);
  const errors: FieldError[] = [];
  if (query.get('sendInitialEvents') === 'true')
    errors.push(
      FieldError.forbidden(
        'sendInitialEvents',
        "sendInitialEvents is not supported by this server; list, then watch from the list's resourceVersion",
      ),
    );
  const match = query.get('resourceVersionMatch');
  if (match)
    errors.push(FieldError.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch'));
  if (errors.length) throw invalid('ListOptions', 'meta.k8s.io', '', errors);
  const timeout = query.get('timeoutSeconds');
  if (timeout !== null && timeout !== '' && !/^\d+$/.test(timeout))
    throw badRequest(`timeoutSeconds: Invalid value: "${timeout}": must be a non-negative integer`);
  const position = parsePosition(rv);
  if (position !== undefined && !Number.isSafeInteger(position)) throw expired(rv!);
  return {
    position,
    timeoutSeconds: timeout ? Number(timeout) || undefined : undefined,
    bookmarks: query.get('allowWatchBookmarks') === 'true',
  };
}
