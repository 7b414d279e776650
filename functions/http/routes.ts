import {
  canRequestProjects,
  createProjectRequest,
  deleteProject,
  getNamespace,
  getProject,
  listProjects,
} from '../app/access/projects';
import {
  createRoleBinding,
  deleteRoleBinding,
  getRoleBinding,
  listRoleBindings,
  updateRoleBinding,
} from '../app/access/rolebindings';
import { createSecret, deleteSecret, getSecret, listSecrets, updateSecret } from '../app/access/secrets';
import { createSelfSubjectAccessReview } from '../app/access/selfsubjectaccessreviews';
import { createSelfSubjectRulesReview } from '../app/access/selfsubjectrulesreviews';
import { createImageStreamImport, withoutStreamView } from '../app/imports/imagestreamimports';
import type { WatchResource } from '../app/ports/watch';
import { listInEveryProject, type NamespacedList } from '../app/shared/all-namespaces';
import type { AppContext } from '../app/shared/context';
import { getImage } from '../app/streams/images';
import { getImageStreamImage } from '../app/streams/imagestreamimages';
import { createImageStreamMapping } from '../app/streams/imagestreammappings';
import {
  applyImageStream,
  createImageStream,
  deleteImageStream,
  getImageStream,
  listImageStreams,
  patchImageStream,
  updateImageStream,
} from '../app/streams/imagestreams';
import { getTagHistory } from '../app/streams/imagestreamtaghistories';
import {
  createImageStreamTag,
  deleteImageStreamTag,
  getImageStreamTag,
  listImageStreamTags,
  updateImageStreamTag,
} from '../app/streams/imagestreamtags';
import { positionedList } from '../app/watch/watch';
import { API_GROUPS, type Attributes, type Verb } from '../core/access/rules';
import { EXTENSION_API_GROUP, IMAGE_API_GROUP } from '../core/api-types';
import { badRequest } from '../core/errors';
import { parseImageStreamImageName, parseImageStreamTagName } from '../core/imagestream/names';
import {
  MAX_IMAGE_ID_LENGTH,
  MAX_TAG_NAME_LENGTH,
  streamPathFits,
  validateNamespaceName,
} from '../core/imagestream/validation';
import { type BodyKind, mediaTypeOf } from './body';
import { type ProtoMessage, SELF_SUBJECT_ACCESS_REVIEW, SELF_SUBJECT_RULES_REVIEW } from './protobuf';
import { created, type HttpRequest, type HttpResult, ok } from './request';

/**
 * Every endpoint, with the Kubernetes verb and resource it acts on. The access-control issue checks each call
 * against this table, so no endpoint can exist without a (verb, resource) pair.
 */
export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  verb: Verb;
  resource: string;
  group: string;
  /**
   * Where the check applies: the `{ns}` of the path, the project the path names (`/projects/{name}`), or the
   * cluster (no namespace).
   */
  scope: 'namespace' | 'project' | 'cluster';
  /** True for creates that bring new content into the namespace, which needs an Active project. */
  createsContent?: boolean;
  /**
   * Whether an object of the route's resource could have the `{name}` of the path: longer names than the resource
   * allows are 404 before anything is read (they would not even fit a table key). Routes that create objects by
   * path name validate the name themselves (422).
   */
  nameFits?: (name: string, ns: string) => boolean;
  /**
   * A shorter answer to a write whose answer is too large for a response, still saying everything about what the
   * write did (functions/http/api.ts falls back to a Success Status naming the object after it).
   */
  shorterAnswer?: (body: unknown) => unknown;
  /**
   * Writes keep field ownership (`metadata.managedFields`), take `fieldManager` and `fieldValidation`, and a PATCH
   * takes server-side apply; the OpenAPI declares those parameters, which is how kubectl knows.
   */
  serverSideApply?: boolean;
  /** The kind's protobuf message, for built-in kinds clients send as `application/vnd.kubernetes.protobuf`. */
  protobuf?: ProtoMessage;
  /** A list that also serves `?watch=true` (functions/http/watch.ts); discovery then lists the `watch` verb. */
  watchable?: boolean;
  handle: (ctx: AppContext, req: HttpRequest) => Promise<HttpResult>;
}

/** The authorization attributes of one call to `route`. */
export function attributesOf(route: Route, params: Record<string, string>): Attributes {
  return {
    verb: route.verb,
    group: route.group,
    resource: route.resource,
    namespace: route.scope === 'namespace' ? params.ns : route.scope === 'project' ? params.name : undefined,
    name: params.name,
  };
}

/** The kind of body `route` takes (functions/http/body.ts): patches for PATCH, objects for other writes, none for GET. */
export function acceptedBody(route: Route): BodyKind | undefined {
  if (route.method === 'GET') return undefined;
  return route.method === 'PATCH' ? 'patch' : 'object';
}

const bytes = (s: string) => Buffer.byteLength(s);
const isApplyPatch = (contentType: string) => mediaTypeOf(contentType) === 'application/apply-patch+yaml';
/** Kubernetes' longest names: DNS subdomains and path-segment names (secrets, role bindings), 253 characters. */
const fitsSubdomain = (name: string) => bytes(name) <= 253;
const streamFits = (name: string, ns: string) => streamPathFits(ns, name);
/** Malformed `<stream>:<tag>` names get their 400 from the handler; well-formed ones must fit both parts. */
const istagFits = (name: string, ns: string) => {
  const p = parseImageStreamTagName(name);
  return !p || (streamPathFits(ns, p.stream) && bytes(p.tag) <= MAX_TAG_NAME_LENGTH);
};
const isimageFits = (name: string, ns: string) => {
  const p = parseImageStreamImageName(name);
  return !p || (streamPathFits(ns, p.stream) && bytes(p.id) <= MAX_IMAGE_ID_LENGTH);
};
const projectFits = (name: string) => !validateNamespaceName(name);

const IMG = `/apis/${IMAGE_API_GROUP}/v1/namespaces/{ns}`;
const EXT = `/apis/${EXTENSION_API_GROUP}/v1/namespaces/{ns}`;
const CORE = '/api/v1/namespaces/{ns}';
const RBAC = `/apis/${API_GROUPS.rbac}/v1/namespaces/{ns}`;
const PROJECT = `/apis/${API_GROUPS.project}/v1`;
const AUTHORIZATION = `/apis/${API_GROUPS.authorization}/v1`;

/** Creates through the collection take the object name from the body, as Kubernetes clients send them. */
function nameFromBody(req: HttpRequest): string {
  const name = (req.body as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  if (typeof name !== 'string' || !name)
    throw badRequest('metadata.name is required when creating through the collection');
  return name;
}

/** A cluster-scope list (`kubectl get … -A`): the resource's own list in every project, for cluster administrators. */
function everywhere(
  method: Pick<Route, 'path' | 'resource' | 'group'>,
  list: { kind: string; apiVersion: string },
  listOne: (c: AppContext, ns: string, q: URLSearchParams) => Promise<NamespacedList<unknown>>,
  watched?: WatchResource,
): Route {
  const read = (c: AppContext, r: HttpRequest) =>
    listInEveryProject(c, r.query, list, (ns, q) => listOne(c, ns, q));
  return {
    method: 'GET',
    ...method,
    verb: 'list',
    scope: 'cluster',
    ...(watched ? { watchable: true } : {}),
    handle: async (c, r) =>
      ok(await (watched ? positionedList(c, watched, undefined, r.query, () => read(c, r)) : read(c, r))),
  };
}

export const routes: Route[] = [
  everywhere(
    { path: `/apis/${IMAGE_API_GROUP}/v1/imagestreams`, resource: 'imagestreams', group: IMAGE_API_GROUP },
    { kind: 'ImageStreamList', apiVersion: `${IMAGE_API_GROUP}/v1` },
    listImageStreams,
    'imagestreams',
  ),
  everywhere(
    {
      path: `/apis/${IMAGE_API_GROUP}/v1/imagestreamtags`,
      resource: 'imagestreamtags',
      group: IMAGE_API_GROUP,
    },
    { kind: 'ImageStreamTagList', apiVersion: `${IMAGE_API_GROUP}/v1` },
    listImageStreamTags,
    'imagestreamtags',
  ),
  everywhere(
    { path: '/api/v1/secrets', resource: 'secrets', group: '' },
    { kind: 'SecretList', apiVersion: 'v1' },
    listSecrets,
  ),
  everywhere(
    { path: `/apis/${API_GROUPS.rbac}/v1/rolebindings`, resource: 'rolebindings', group: API_GROUPS.rbac },
    { kind: 'RoleBindingList', apiVersion: `${API_GROUPS.rbac}/v1` },
    listRoleBindings,
  ),
  {
    method: 'GET',
    path: `${IMG}/imagestreams`,
    verb: 'list',
    resource: 'imagestreams',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    watchable: true,
    handle: async (c, r) =>
      ok(
        await positionedList(c, 'imagestreams', r.params.ns!, r.query, () =>
          listImageStreams(c, r.params.ns!, r.query),
        ),
      ),
  },
  {
    method: 'POST',
    path: `${IMG}/imagestreams`,
    verb: 'create',
    resource: 'imagestreams',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    serverSideApply: true,
    createsContent: true,
    handle: async (c, r) => created(await createImageStream(c, r.params.ns!, r.body, r.options)),
  },
  {
    method: 'GET',
    path: `${IMG}/imagestreams/{name}`,
    verb: 'get',
    resource: 'imagestreams',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    nameFits: streamFits,
    handle: async (c, r) => ok(await getImageStream(c, r.params.ns!, r.params.name!, r.query)),
  },
  {
    method: 'PUT',
    path: `${IMG}/imagestreams/{name}`,
    verb: 'update',
    resource: 'imagestreams',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    serverSideApply: true,
    nameFits: streamFits,
    handle: async (c, r) => ok(await updateImageStream(c, r.params.ns!, r.params.name!, r.body, r.options)),
  },
  {
    method: 'PATCH',
    path: `${IMG}/imagestreams/{name}`,
    verb: 'patch',
    resource: 'imagestreams',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    serverSideApply: true,
    nameFits: streamFits,
    handle: async (c, r) => {
      const type = r.headers['content-type'] ?? '';
      if (isApplyPatch(type)) {
        const applied = await applyImageStream(c, r.params.ns!, r.params.name!, r.body, r.options);
        return applied.created ? created(applied.stream) : ok(applied.stream);
      }
      return ok(await patchImageStream(c, r.params.ns!, r.params.name!, type, r.body, r.options));
    },
  },
  {
    method: 'DELETE',
    path: `${IMG}/imagestreams/{name}`,
    verb: 'delete',
    resource: 'imagestreams',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    nameFits: streamFits,
    handle: async (c, r) => ok(await deleteImageStream(c, r.params.ns!, r.params.name!, r.body, r.options)),
  },
  {
    method: 'GET',
    path: `${IMG}/imagestreamtags`,
    verb: 'list',
    resource: 'imagestreamtags',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    watchable: true,
    handle: async (c, r) =>
      ok(
        await positionedList(c, 'imagestreamtags', r.params.ns!, r.query, () =>
          listImageStreamTags(c, r.params.ns!, r.query),
        ),
      ),
  },
  {
    method: 'POST',
    path: `${IMG}/imagestreamtags`,
    verb: 'create',
    resource: 'imagestreamtags',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    createsContent: true,
    handle: async (c, r) =>
      created(await createImageStreamTag(c, r.params.ns!, nameFromBody(r), r.body, r.options)),
  },
  {
    method: 'GET',
    path: `${IMG}/imagestreamtags/{name}`,
    verb: 'get',
    resource: 'imagestreamtags',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    nameFits: istagFits,
    handle: async (c, r) => ok(await getImageStreamTag(c, r.params.ns!, r.params.name!)),
  },
  {
    method: 'POST',
    path: `${IMG}/imagestreamtags/{name}`,
    verb: 'create',
    resource: 'imagestreamtags',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    createsContent: true,
    handle: async (c, r) =>
      created(await createImageStreamTag(c, r.params.ns!, r.params.name!, r.body, r.options)),
  },
  {
    method: 'PUT',
    path: `${IMG}/imagestreamtags/{name}`,
    verb: 'update',
    resource: 'imagestreamtags',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    handle: async (c, r) => {
      const { result, created: isNew } = await updateImageStreamTag(
        c,
        r.params.ns!,
        r.params.name!,
        r.body,
        r.options,
      );
      return { status: isNew ? 201 : 200, body: result };
    },
  },
  {
    method: 'DELETE',
    path: `${IMG}/imagestreamtags/{name}`,
    verb: 'delete',
    resource: 'imagestreamtags',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    nameFits: istagFits,
    handle: async (c, r) => ok(await deleteImageStreamTag(c, r.params.ns!, r.params.name!, r.options)),
  },
  {
    method: 'GET',
    path: `${IMG}/imagestreamimages/{name}`,
    verb: 'get',
    resource: 'imagestreamimages',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    nameFits: isimageFits,
    handle: async (c, r) => ok(await getImageStreamImage(c, r.params.ns!, r.params.name!)),
  },
  {
    method: 'POST',
    path: `${IMG}/imagestreammappings`,
    verb: 'create',
    resource: 'imagestreammappings',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    createsContent: true,
    handle: async (c, r) => created(await createImageStreamMapping(c, r.params.ns!, r.body, r.options)),
  },
  {
    method: 'POST',
    path: `${IMG}/imagestreamimports`,
    verb: 'create',
    resource: 'imagestreamimports',
    group: IMAGE_API_GROUP,
    scope: 'namespace',
    createsContent: true,
    // Each image's outcome is the answer; the stream view can be read on its own.
    shorterAnswer: withoutStreamView,
    handle: async (c, r) => created(await createImageStreamImport(c, r.params.ns!, r.body, r.options)),
  },
  {
    method: 'GET',
    path: `/apis/${IMAGE_API_GROUP}/v1/images/{name}`,
    verb: 'get',
    resource: 'images',
    group: IMAGE_API_GROUP,
    scope: 'cluster',
    nameFits: (name) => bytes(name) <= MAX_IMAGE_ID_LENGTH,
    handle: async (c, r) => ok(await getImage(c, r.params.name!)),
  },
  {
    method: 'GET',
    path: `${CORE}/secrets`,
    verb: 'list',
    resource: 'secrets',
    group: '',
    scope: 'namespace',
    handle: async (c, r) => ok(await listSecrets(c, r.params.ns!, r.query)),
  },
  {
    method: 'POST',
    path: `${CORE}/secrets`,
    verb: 'create',
    resource: 'secrets',
    group: '',
    scope: 'namespace',
    createsContent: true,
    handle: async (c, r) => created(await createSecret(c, r.params.ns!, r.body, r.options)),
  },
  {
    method: 'GET',
    path: `${CORE}/secrets/{name}`,
    verb: 'get',
    resource: 'secrets',
    group: '',
    scope: 'namespace',
    nameFits: fitsSubdomain,
    handle: async (c, r) => ok(await getSecret(c, r.params.ns!, r.params.name!)),
  },
  {
    method: 'PUT',
    path: `${CORE}/secrets/{name}`,
    verb: 'update',
    resource: 'secrets',
    group: '',
    scope: 'namespace',
    nameFits: fitsSubdomain,
    handle: async (c, r) => ok(await updateSecret(c, r.params.ns!, r.params.name!, r.body, r.options)),
  },
  {
    method: 'DELETE',
    path: `${CORE}/secrets/{name}`,
    verb: 'delete',
    resource: 'secrets',
    group: '',
    scope: 'namespace',
    nameFits: fitsSubdomain,
    handle: async (c, r) => ok(await deleteSecret(c, r.params.ns!, r.params.name!, r.options)),
  },
  {
    method: 'GET',
    path: `${EXT}/imagestreamtaghistories/{name}`,
    verb: 'get',
    resource: 'imagestreamtaghistories',
    group: EXTENSION_API_GROUP,
    scope: 'namespace',
    nameFits: istagFits,
    handle: async (c, r) => ok(await getTagHistory(c, r.params.ns!, r.params.name!, r.query)),
  },
  {
    method: 'GET',
    path: `${RBAC}/rolebindings`,
    verb: 'list',
    resource: 'rolebindings',
    group: API_GROUPS.rbac,
    scope: 'namespace',
    handle: async (c, r) => ok(await listRoleBindings(c, r.params.ns!, r.query)),
  },
  {
    method: 'POST',
    path: `${RBAC}/rolebindings`,
    verb: 'create',
    resource: 'rolebindings',
    group: API_GROUPS.rbac,
    scope: 'namespace',
    createsContent: true,
    handle: async (c, r) => created(await createRoleBinding(c, r.params.ns!, r.body, r.options)),
  },
  {
    method: 'GET',
    path: `${RBAC}/rolebindings/{name}`,
    verb: 'get',
    resource: 'rolebindings',
    group: API_GROUPS.rbac,
    scope: 'namespace',
    nameFits: fitsSubdomain,
    handle: async (c, r) => ok(await getRoleBinding(c, r.params.ns!, r.params.name!)),
  },
  {
    method: 'PUT',
    path: `${RBAC}/rolebindings/{name}`,
    verb: 'update',
    resource: 'rolebindings',
    group: API_GROUPS.rbac,
    scope: 'namespace',
    handle: async (c, r) => {
      const { result, created: isNew } = await updateRoleBinding(
        c,
        r.params.ns!,
        r.params.name!,
        r.body,
        r.options,
      );
      return { status: isNew ? 201 : 200, body: result };
    },
  },
  {
    method: 'DELETE',
    path: `${RBAC}/rolebindings/{name}`,
    verb: 'delete',
    resource: 'rolebindings',
    group: API_GROUPS.rbac,
    scope: 'namespace',
    nameFits: fitsSubdomain,
    handle: async (c, r) => ok(await deleteRoleBinding(c, r.params.ns!, r.params.name!, r.options)),
  },
  {
    method: 'POST',
    path: `${PROJECT}/projectrequests`,
    verb: 'create',
    resource: 'projectrequests',
    group: API_GROUPS.project,
    scope: 'cluster',
    handle: async (c, r) => created(await createProjectRequest(c, r.body, r.options)),
  },
  {
    method: 'GET',
    path: `${PROJECT}/projectrequests`,
    verb: 'list',
    resource: 'projectrequests',
    group: API_GROUPS.project,
    scope: 'cluster',
    handle: async () => ok(canRequestProjects()),
  },
  {
    method: 'GET',
    path: `/apis/${API_GROUPS.user}/v1/users/~`,
    verb: 'get',
    resource: 'users',
    group: API_GROUPS.user,
    scope: 'cluster',
    // OpenShift's "who am I": the caller's own user and groups.
    handle: async (_c, r) =>
      ok({
        kind: 'User',
        apiVersion: 'user.openshift.io/v1',
        metadata: { name: r.identity.user },
        groups: r.identity.groups,
      }),
  },
  {
    method: 'POST',
    path: `${AUTHORIZATION}/selfsubjectaccessreviews`,
    verb: 'create',
    resource: 'selfsubjectaccessreviews',
    group: API_GROUPS.authorization,
    scope: 'cluster',
    protobuf: SELF_SUBJECT_ACCESS_REVIEW,
    handle: async (c, r) => created(await createSelfSubjectAccessReview(c, r.identity, r.body)),
  },
  {
    method: 'POST',
    path: `${AUTHORIZATION}/selfsubjectrulesreviews`,
    verb: 'create',
    resource: 'selfsubjectrulesreviews',
    group: API_GROUPS.authorization,
    scope: 'cluster',
    protobuf: SELF_SUBJECT_RULES_REVIEW,
    handle: async (c, r) => created(await createSelfSubjectRulesReview(c, r.identity, r.body)),
  },
  {
    method: 'GET',
    path: `${PROJECT}/projects`,
    verb: 'list',
    resource: 'projects',
    group: API_GROUPS.project,
    scope: 'cluster',
    handle: async (c, r) => ok(await listProjects(c, r.query)),
  },
  {
    method: 'GET',
    path: '/api/v1/namespaces/{name}',
    verb: 'get',
    resource: 'namespaces',
    group: '',
    scope: 'project',
    nameFits: projectFits,
    handle: async (c, r) => ok(await getNamespace(c, r.params.name!)),
  },
  {
    method: 'GET',
    path: `${PROJECT}/projects/{name}`,
    verb: 'get',
    resource: 'projects',
    group: API_GROUPS.project,
    scope: 'project',
    nameFits: projectFits,
    handle: async (c, r) => ok(await getProject(c, r.params.name!)),
  },
  {
    method: 'DELETE',
    path: `${PROJECT}/projects/{name}`,
    verb: 'delete',
    resource: 'projects',
    group: API_GROUPS.project,
    scope: 'project',
    nameFits: projectFits,
    handle: async (c, r) => ok(await deleteProject(c, r.params.name!, r.options)),
  },
];

interface CompiledRoute {
  route: Route;
  regex: RegExp;
  names: string[];
}

const compiled: CompiledRoute[] = routes.map((route) => {
  const names: string[] = [];
  const pattern = route.path.replace(/[.]/g, '\\.').replace(/\{(\w+)\}/g, (_m, n: string) => {
    names.push(n);
    return '([^/]+)';
  });
  return { route, regex: new RegExp(`^${pattern}/?$`), names };
});

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

export function matchRoute(method: string, path: string): RouteMatch {
  const allowed: string[] = [];
  for (const c of compiled) {
    const m = c.regex.exec(path);
    if (!m) continue;
    if (c.route.method !== method) {
      allowed.push(c.route.method);
      continue;
    }
    const params: Record<string, string> = {};
    c.names.forEach((n, i) => {
      params[n] = decodePathSegment(m[i + 1]!);
    });
    return { kind: 'found', route: c.route, params };
  }
  return allowed.length ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
}

/** A percent-encoded path segment; malformed encoding (`%E0%A4%A`) is the client's mistake, 400. */
export function decodePathSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`malformed path segment ${JSON.stringify(s)}`);
  }
}
