import { describe, expect, it } from 'vitest';
import {
  aggregatedVersionAccepted,
  discoveryResponse,
  hasResourceNames,
  servedResources,
} from '../../functions/http/discovery';
import { type Route, routes } from '../../functions/http/routes';

const KUBECTL_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

function get(path: string, accept = 'application/json') {
  const res = discoveryResponse(path, { accept });
  if (!res) throw new Error(`${path} is no discovery path`);
  return {
    status: res.statusCode,
    type: res.headers?.['content-type'],
    body: JSON.parse(res.body as string),
  };
}

describe('discovery from the route table', () => {
  it('lists every group the routes serve, and each group lists every routed resource with its verbs', () => {
    const groups = get('/apis').body;
    expect(groups.kind).toBe('APIGroupList');
    expect(groups.groups.map((g: { name: string }) => g.name)).toEqual([
      'authorization.k8s.io',
      'image.openshift.io',
      'imagestreams.io',
      'project.openshift.io',
      'rbac.authorization.k8s.io',
      'user.openshift.io',
    ]);
    for (const route of routes) {
      const list = get(route.group ? `/apis/${route.group}/v1` : '/api/v1').body;
      const resource = list.resources.find((r: { name: string }) => r.name === route.resource);
      expect(resource, `${route.method} ${route.path}`).toBeDefined();
      expect(resource.verbs).toContain(route.verb);
      expect(resource.namespaced).toBe(
        routes.some(
          (r) => r.group === route.group && r.resource === route.resource && r.scope === 'namespace',
        ),
      );
      expect(hasResourceNames(route.group, route.resource), `names of ${route.resource}`).toBe(true);
    }
  });

  it("gives image resources OpenShift's kinds, short names and categories", () => {
    const list = get('/apis/image.openshift.io/v1').body;
    expect(list).toMatchObject({ kind: 'APIResourceList', groupVersion: 'image.openshift.io/v1' });
    const byName = new Map(list.resources.map((r: { name: string }) => [r.name, r]));
    expect(byName.get('imagestreams')).toEqual({
      name: 'imagestreams',
      singularName: 'imagestream',
      namespaced: true,
      kind: 'ImageStream',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['is'],
      categories: ['all'],
    });
    expect(byName.get('imagestreamtags')).toMatchObject({ kind: 'ImageStreamTag', shortNames: ['istag'] });
    expect(byName.get('imagestreamimages')).toMatchObject({
      kind: 'ImageStreamImage',
      shortNames: ['isimage'],
    });
    expect(byName.get('images')).toMatchObject({ kind: 'Image', namespaced: false, verbs: ['get'] });
    expect(get('/api/v1').body.resources.map((r: { name: string }) => r.name)).toEqual([
      'secrets',
      'namespaces',
    ]);
    expect(get('/api/v1').body.resources[1]).toMatchObject({
      kind: 'Namespace',
      namespaced: false,
      verbs: ['get'],
      shortNames: ['ns'],
    });
  });

  it('serves a route added to the table without anything else', () => {
    const extra: Route = {
      method: 'GET',
      path: '/apis/example.io/v1/namespaces/{ns}/widgets',
      verb: 'list',
      resource: 'widgets',
      group: 'example.io',
      scope: 'namespace',
      handle: async () => ({ status: 200, body: {} }),
    };
    const served = servedResources([...routes, extra]);
    expect(served.find((r) => r.resource === 'widgets')).toMatchObject({
      group: 'example.io',
      namespaced: true,
      verbs: ['list'],
      names: { kind: 'Widget', singular: 'widget' },
    });
  });

  it('answers the aggregated form kubectl asks for first, v2 or v2beta1, and the plain one otherwise', () => {
    expect(aggregatedVersionAccepted(KUBECTL_ACCEPT)).toBe('v2');
    expect(aggregatedVersionAccepted(KUBECTL_ACCEPT.split(',').slice(1).join(','))).toBe('v2beta1');
    expect(
      aggregatedVersionAccepted(
        'application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
      ),
    ).toBeUndefined();
    expect(aggregatedVersionAccepted(undefined)).toBeUndefined();

    const apis = get('/apis', KUBECTL_ACCEPT);
    expect(apis.type).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    expect(apis.body).toMatchObject({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2' });
    const image = apis.body.items.find(
      (g: { metadata: { name: string } }) => g.metadata.name === 'image.openshift.io',
    );
    expect(image.versions[0].version).toBe('v1');
    expect(image.versions[0].freshness).toBe('Current');
    expect(
      image.versions[0].resources.find((r: { resource: string }) => r.resource === 'imagestreams'),
    ).toEqual({
      resource: 'imagestreams',
      responseKind: { group: 'image.openshift.io', version: 'v1', kind: 'ImageStream' },
      scope: 'Namespaced',
      singularResource: 'imagestream',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['is'],
      categories: ['all'],
    });
    const core = get('/api', KUBECTL_ACCEPT).body;
    expect(core.items).toHaveLength(1);
    expect(core.items[0].metadata).toEqual({});
    expect(core.items[0].versions[0].resources.map((r: { resource: string }) => r.resource)).toEqual([
      'secrets',
      'namespaces',
    ]);
    expect(get('/api').body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    expect(get('/api').type).toBe('application/json');
  });

  it('answers APIGroup for a group, 404 for groups and versions it does not serve, and /version', () => {
    expect(get('/apis/image.openshift.io/').body).toEqual({
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: 'image.openshift.io',
      versions: [{ groupVersion: 'image.openshift.io/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'image.openshift.io/v1', version: 'v1' },
    });
    expect(() => discoveryResponse('/apis/apps', {})).toThrow(/could not find/);
    expect(() => discoveryResponse('/apis/image.openshift.io/v2', {})).toThrow(/could not find/);
    expect(discoveryResponse('/apis/image.openshift.io/v1/namespaces/x/imagestreams', {})).toBeUndefined();
    const version = get('/version').body;
    expect(version).toMatchObject({ major: '1', minor: '32' });
    expect(version.gitVersion).toMatch(/^v1\.32\.0\+imagestreams-\d+\.\d+\.\d+$/);
  });
});
