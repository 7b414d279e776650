import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { API_GROUPS } from '../core/access/rules';
import { IMAGE_API_GROUP } from '../core/api-types';
import { StatusError } from '../core/errors';
import { encodeJson } from './encode';
import { type Route, routes } from './routes';

/**
 * Kubernetes API discovery (`/api`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`, `/api/v1`) and
 * `/version`, as kube-apiserver answers them, computed from the route table: a resource is served with the verbs
 * its routes have, namespaced when one of its routes is, so a new route appears here without further work. What the
 * route table cannot say (kind, singular name, short names, categories) is in {@link RESOURCE_NAMES}, with
 * OpenShift's values.
 */

export const API_VERSION = 'v1';

/** The Kubernetes API level this service follows (kubectl compares it with its own for version skew). */
const KUBERNETES_LEVEL = { major: '1', minor: '32' };
/** This service's own version, in the build metadata of the version Kubernetes clients see. */
const SERVICE_VERSION = '0.1.0';

export interface ResourceNames {
  kind: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
}

/** Keyed by `<group>/<resource>`; OpenShift's kinds, short names and categories for its resources. */
const RESOURCE_NAMES: ReadonlyMap<string, ResourceNames> = new Map<string, ResourceNames>([
  [
    `${IMAGE_API_GROUP}/imagestreams`,
    { kind: 'ImageStream', singular: 'imagestream', shortNames: ['is'], categories: ['all'] },
  ],
  [
    `${IMAGE_API_GROUP}/imagestreamtags`,
    { kind: 'ImageStreamTag', singular: 'imagestreamtag', shortNames: ['istag'] },
  ],
  [
    `${IMAGE_API_GROUP}/imagestreamimages`,
    { kind: 'ImageStreamImage', singular: 'imagestreamimage', shortNames: ['isimage'] },
  ],
  [`${IMAGE_API_GROUP}/imagestreammappings`, { kind: 'ImageStreamMapping', singular: 'imagestreammapping' }],
  [`${IMAGE_API_GROUP}/imagestreamimports`, { kind: 'ImageStreamImport', singular: 'imagestreamimport' }],
  [`${IMAGE_API_GROUP}/images`, { kind: 'Image', singular: 'image' }],
  [
    `${API_GROUPS.extension}/imagestreamtaghistories`,
    { kind: 'ImageStreamTagHistory', singular: 'imagestreamtaghistory' },
  ],
  ['/secrets', { kind: 'Secret', singular: 'secret' }],
  ['/namespaces', { kind: 'Namespace', singular: 'namespace', shortNames: ['ns'] }],
  [`${API_GROUPS.rbac}/rolebindings`, { kind: 'RoleBinding', singular: 'rolebinding' }],
  [`${API_GROUPS.project}/projects`, { kind: 'Project', singular: 'project' }],
  [`${API_GROUPS.project}/projectrequests`, { kind: 'ProjectRequest', singular: 'projectrequest' }],
  [`${API_GROUPS.user}/users`, { kind: 'User', singular: 'user' }],
  [
    'authorization.k8s.io/selfsubjectaccessreviews',
    { kind: 'SelfSubjectAccessReview', singular: 'selfsubjectaccessreview' },
  ],
  [
    'authorization.k8s.io/selfsubjectrulesreviews',
    { kind: 'SelfSubjectRulesReview', singular: 'selfsubjectrulesreview' },
  ],
]);

/** The names of a resource; one the table does not know gets Kubernetes' defaults from its plural. */
export function resourceNames(group: string, resource: string): ResourceNames {
  const known = RESOURCE_NAMES.get(`${group}/${resource}`);
  if (known) return known;
  const singular = resource.replace(/ies$/, 'y').replace(/s$/, '');
  return { kind: singular.charAt(0).toUpperCase() + singular.slice(1), singular };
}

/** Whether the names table has an entry for the resource (a test keeps every route's resource in it). */
export const hasResourceNames = (group: string, resource: string) =>
  RESOURCE_NAMES.has(`${group}/${resource}`);

export interface ServedResource {
  group: string;
  version: string;
  resource: string;
  namespaced: boolean;
  verbs: string[];
  names: ResourceNames;
}

/** Every resource the route table serves, with the union of its routes' verbs (sorted, as Kubernetes lists them). */
export function servedResources(table: readonly Route[] = routes): ServedResource[] {
  const byKey = new Map<
    string,
    { group: string; resource: string; namespaced: boolean; verbs: Set<string> }
  >();
  for (const route of table) {
    const key = `${route.group}/${route.resource}`;
    const entry = byKey.get(key) ?? {
      group: route.group,
      resource: route.resource,
      namespaced: false,
      verbs: new Set<string>(),
    };
    entry.verbs.add(route.verb);
    // A watchable list is also the `watch` verb (informers and GitOps tools watch only what discovery says they may).
    if (route.watchable) entry.verbs.add('watch');
    if (route.scope === 'namespace') entry.namespaced = true;
    byKey.set(key, entry);
  }
  return [...byKey.values()].map((e) => ({
    group: e.group,
    version: API_VERSION,
    resource: e.resource,
    namespaced: e.namespaced,
    verbs: [...e.verbs].sort(),
    names: resourceNames(e.group, e.resource),
  }));
}

/** The named groups served (the core group `""` is `/api`), in a stable order. */
export function servedGroups(served: readonly ServedResource[] = servedResources()): string[] {
  return [...new Set(served.map((r) => r.group).filter((g) => g !== ''))].sort();
}

const groupVersion = (group: string) => (group ? `${group}/${API_VERSION}` : API_VERSION);

function apiResource(r: ServedResource) {
  return {
    name: r.resource,
    singularName: r.names.singular,
    namespaced: r.namespaced,
    kind: r.names.kind,
    verbs: r.verbs,
    ...(r.names.shortNames ? { shortNames: r.names.shortNames } : {}),
    ...(r.names.categories ? { categories: r.names.categories } : {}),
  };
}

function apiGroup(group: string) {
  const version = { groupVersion: groupVersion(group), version: API_VERSION };
  return { name: group, versions: [version], preferredVersion: version };
}

function resourceList(group: string, served: readonly ServedResource[]) {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion(group),
    resources: served.filter((r) => r.group === group).map(apiResource),
  };
}

/** The aggregated form of one group (apidiscovery.k8s.io APIGroupDiscovery). */
function groupDiscovery(group: string, served: readonly ServedResource[]) {
  return {
    metadata: group ? { name: group } : {},
    versions: [
      {
        version: API_VERSION,
        resources: served
          .filter((r) => r.group === group)
          .map((r) => ({
            resource: r.resource,
            responseKind: { group, version: API_VERSION, kind: r.names.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.names.singular,
            verbs: r.verbs,
            ...(r.names.shortNames ? { shortNames: r.names.shortNames } : {}),
            ...(r.names.categories ? { categories: r.names.categories } : {}),
          })),
        freshness: 'Current',
      },
    ],
  };
}

type AggregatedVersion = 'v2' | 'v2beta1';

/**
 * The aggregated discovery version the client asks for in `Accept` (kubectl lists v2, then v2beta1, then plain
 * JSON), or undefined when it asks for the plain documents first.
 */
export function aggregatedVersionAccepted(accept: string | undefined): AggregatedVersion | undefined {
  for (const entry of (accept ?? '').split(',')) {
    const [type, ...params] = entry.split(';').map((p) => p.trim());
    const p = new Map(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    if (type === 'application/json' && p.get('g') === 'apidiscovery.k8s.io') {
      const v = p.get('v');
      if (p.get('as') === 'APIGroupDiscoveryList' && (v === 'v2' || v === 'v2beta1')) return v;
      continue;
    }
    if (type === 'application/json' || type === '*/*' || type === 'application/*') return undefined;
  }
  return undefined;
}

function aggregated(
  version: AggregatedVersion,
  groups: string[],
  served: readonly ServedResource[],
  acceptEncoding: string | undefined,
): APIGatewayProxyStructuredResultV2 {
  const body = {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map((g) => groupDiscovery(g, served)),
  };
  const res = encodeJson(200, body, acceptEncoding);
  return {
    ...res,
    headers: {
      ...res.headers,
      'content-type': `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`,
      vary: 'Accept, Accept-Encoding',
    },
  };
}

/** Kubernetes' version.Info: the API level followed, with this service's version as build metadata. */
export function versionInfo() {
  return {
    major: KUBERNETES_LEVEL.major,
    minor: KUBERNETES_LEVEL.minor,
    gitVersion: `v${KUBERNETES_LEVEL.major}.${KUBERNETES_LEVEL.minor}.0+imagestreams-${SERVICE_VERSION}`,
    gitCommit: '',
    gitTreeState: '',
    buildDate: '',
    goVersion: '',
    compiler: '',
    platform: `${process.platform}/${process.arch}`,
  };
}

const notFound = () =>
  new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});

/**
 * The discovery or version answer for a GET of `path`, or undefined when the path is not a discovery path.
 * Every authenticated caller may read them (Kubernetes' `system:discovery` role).
 */
export function discoveryResponse(
  path: string,
  headers: Record<string, string>,
): APIGatewayProxyStructuredResultV2 | undefined {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const gzip = headers['accept-encoding'];
  if (trimmed === '/version') return encodeJson(200, versionInfo(), gzip);
  if (trimmed !== '/api' && trimmed !== '/apis' && !/^\/apis?\/[^/]+(\/[^/]+)?$/.test(trimmed))
    return undefined;
  const served = servedResources();
  const groups = servedGroups(served);
  const wantsAggregated = aggregatedVersionAccepted(headers.accept);
  if (trimmed === '/api') {
    if (wantsAggregated) return aggregated(wantsAggregated, [''], served, gzip);
    return encodeJson(
      200,
      { kind: 'APIVersions', versions: [API_VERSION], serverAddressByClientCIDRs: [] },
      gzip,
    );
  }
  if (trimmed === '/apis') {
    if (wantsAggregated) return aggregated(wantsAggregated, groups, served, gzip);
    return encodeJson(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) }, gzip);
  }
  if (trimmed === `/api/${API_VERSION}`) return encodeJson(200, resourceList('', served), gzip);
  const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(trimmed);
  if (!m) return undefined;
  const [, group, version] = m;
  if (!groups.includes(group!) || (version !== undefined && version !== API_VERSION)) throw notFound();
  if (version === undefined)
    return encodeJson(200, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group!) }, gzip);
  return encodeJson(200, resourceList(group!, served), gzip);
}
