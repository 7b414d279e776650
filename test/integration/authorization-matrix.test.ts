import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_GROUPS, ROLE_NAMES, roleAllows, type Verb } from '../../functions/core/access/rules';
import { type Route, routes } from '../../functions/http/routes';
import { type Api, digest, IS, mapImage, startStack } from '../support/local-stack';

/**
 * The authorization matrix, generated from the rule table: every endpoint × every role (plus a cluster
 * administrator, a member of a bound group, a user of another project and an anonymous caller) through HTTP
 * against the local stack. A call is "denied" when it answers 403 Forbidden naming the verb and resource it was
 * refused; anything else (2xx, 404, 409, 422…) means the access check let it through.
 */

const NS = 'matrix';
const OTHER_NS = 'matrix-other';
const IMG = 'image.openshift.io';

/** One user per project role, bound in NS by the cluster administrator. */
const roleUsers = Object.fromEntries(ROLE_NAMES.map((r) => [r, `u-${r.replace(/[^a-z]/g, '')}`]));
const tokens: Record<string, { user: string; groups: string[] }> = {
  ...Object.fromEntries(ROLE_NAMES.map((r) => [`tok-${roleUsers[r]}`, { user: roleUsers[r]!, groups: [] }])),
  'tok-grouped': { user: 'carol', groups: ['team-editors'] },
  'tok-outsider': { user: 'mallory', groups: [] },
};

type Who =
  | { kind: 'role'; role: string; token: string }
  | { kind: 'cluster-admin' }
  | { kind: 'outsider'; token: string }
  | { kind: 'anonymous' };

const callers: Array<{ label: string; who: Who }> = [
  ...ROLE_NAMES.map((role) => ({
    label: role,
    who: { kind: 'role', role, token: `tok-${roleUsers[role]}` } as Who,
  })),
  // carol is in team-editors, which is bound to edit: she must see exactly what edit sees.
  { label: 'edit (via group)', who: { kind: 'role', role: 'edit', token: 'tok-grouped' } },
  { label: 'user of another project', who: { kind: 'outsider', token: 'tok-outsider' } },
  { label: 'cluster-admin', who: { kind: 'cluster-admin' } },
  { label: 'anonymous', who: { kind: 'anonymous' } },
];

/** What the rule table says: the expected answer class for `who` on `route` in NS. */
function expected(route: Route, who: Who): 'allow' | 'deny' | 'unauthenticated' {
  if (who.kind === 'anonymous') return 'unauthenticated';
  if (who.kind === 'cluster-admin') return 'allow';
  if (route.scope === 'cluster') {
    // Cluster-scoped: the project list, project requests, "who am I" and access reviews about oneself are open to
    // every authenticated caller; /images is not.
    if ([API_GROUPS.project, API_GROUPS.user, API_GROUPS.authorization].includes(route.group as never))
      return 'allow';
    return 'deny';
  }
  if (who.kind === 'outsider') return 'deny';
  return roleAllows(who.role, route.verb as Verb, route.group, route.resource) ? 'allow' : 'deny';
}

let stop: () => Promise<void>;
let admin: Api;
let imageDigest: string;

/** Concrete names and bodies for each endpoint (the resource a call acts on exists where that matters). */
function requestFor(route: Route): { path: string; body?: unknown } {
  const names: Record<string, string> = {
    imagestreams: 'fixture',
    imagestreamtags: 'fixture:latest',
    imagestreamimages: `fixture@${imageDigest}`,
    images: imageDigest,
    secrets: 'reg',
    rolebindings: 'spare',
    imagestreamtaghistories: 'fixture:latest',
    projects: NS,
    namespaces: NS,
  };
  const path = route.path
    .replace('{ns}', NS)
    .replace('{name}', encodeURIComponent(names[route.resource] ?? 'x'));
  const bodies: Record<string, unknown> = {
    'POST imagestreams': { metadata: { name: `new-${Math.random().toString(36).slice(2, 8)}` } },
    'PUT imagestreams': { metadata: { name: 'fixture' }, spec: {} },
    'PATCH imagestreams': { metadata: { labels: { touched: 'yes' } } },
    'POST imagestreamtags': {
      metadata: { name: `fixture:t${Math.random().toString(36).slice(2, 8)}` },
      tag: { name: 'x', from: { kind: 'ImageStreamTag', name: 'fixture:latest' } },
    },
    'PUT imagestreamtags': {
      metadata: { name: 'fixture:latest' },
      tag: { name: 'latest', from: { kind: 'ImageStreamImage', name: `fixture@${imageDigest}` } },
    },
    'POST imagestreammappings': {
      metadata: { name: 'fixture' },
      tag: 'mapped',
      image: { metadata: { name: imageDigest }, dockerImageReference: `quay.io/x/y@${imageDigest}` },
    },
    'POST imagestreamimports': { metadata: { name: 'fixture' }, spec: { import: false, images: [] } },
    'POST secrets': {
      metadata: { name: `reg-${Math.random().toString(36).slice(2, 8)}` },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'r.example': { auth: 'dTpw' } } }) },
    },
    'POST rolebindings': {
      metadata: { name: `rb-${Math.random().toString(36).slice(2, 8)}` },
      roleRef: { apiGroup: API_GROUPS.rbac, kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', name: 'dave' }],
    },
    'PUT rolebindings': {
      metadata: { name: 'spare' },
      roleRef: { apiGroup: API_GROUPS.rbac, kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', name: 'erin' }],
    },
    'POST projectrequests': { metadata: { name: `req-${Math.random().toString(36).slice(2, 8)}` } },
  };
  const body = bodies[`${route.method} ${route.resource}`];
  return body === undefined ? { path } : { path, body };
}

/** Deleting the project ends the matrix: it runs last, with the deniers before the admins. */
const ordered = [...routes].sort((a, b) => Number(isProjectDelete(a)) - Number(isProjectDelete(b)));
function isProjectDelete(r: Route): boolean {
  return r.method === 'DELETE' && r.resource === 'projects';
}

/** The stream `fixture` with `latest` pointing at the image; recreated when an allowed caller deleted it. */
async function refreshFixture(): Promise<void> {
  await admin.post(IS(NS), { metadata: { name: 'fixture' } });
  await mapImage(admin, NS, 'fixture', 'latest', imageDigest);
}

beforeAll(async () => {
  const stack = await startStack({ LOCAL_TOKENS: JSON.stringify(tokens) });
  stop = stack.stop;
  admin = stack.api;
  expect((await admin.newProject(NS)).status).toBe(201);
  expect((await admin.as('tok-outsider').newProject(OTHER_NS)).status).toBe(201);
  for (const role of ROLE_NAMES) {
    const res = await admin.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
      metadata: { name: `bind-${role.replace(/[^a-z]/g, '')}` },
      roleRef: { apiGroup: API_GROUPS.rbac, kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'User', name: roleUsers[role] }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  const group = await admin.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
    metadata: { name: 'team-editors' },
    roleRef: { apiGroup: API_GROUPS.rbac, kind: 'ClusterRole', name: 'edit' },
    subjects: [{ kind: 'Group', name: 'team-editors' }],
  });
  expect(group.status).toBe(201);
  imageDigest = digest();
  await refreshFixture();
  expect((await admin.get(IS(NS, 'fixture'))).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await stop?.();
});

describe('authorization matrix (generated from the rule table)', () => {
  it('covers every endpoint of the route table', () => {
    expect(routes.length).toBeGreaterThanOrEqual(31);
    for (const r of routes) expect(['namespace', 'project', 'cluster']).toContain(r.scope);
  });

  it('denies what the reference says each role must not do (a check on the table itself)', async () => {
    const as = (role: string) => admin.as(`tok-${roleUsers[role]}`);
    // view reads but cannot write or see secrets or bindings.
    expect((await as('view').get(IS(NS, 'fixture'))).status).toBe(200);
    expect((await as('view').post(IS(NS), { metadata: { name: 'nope' } })).status).toBe(403);
    expect((await as('view').get(`/api/v1/namespaces/${NS}/secrets`)).status).toBe(403);
    // edit writes streams and secrets but cannot hand out roles.
    expect((await as('edit').post(IS(NS), { metadata: { name: 'by-edit' } })).status).toBe(201);
    const bind = await as('edit').post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
      metadata: { name: 'by-edit' },
      roleRef: { apiGroup: API_GROUPS.rbac, kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', name: 'x' }],
    });
    expect(bind.status).toBe(403);
    expect(bind.body.message).toBe(
      `rolebindings.rbac.authorization.k8s.io is forbidden: User "${roleUsers.edit}" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "${NS}"`,
    );
    // pullers, pushers and builders see no stream objects through the API.
    for (const role of ['system:image-puller', 'system:image-pusher', 'system:image-builder'])
      expect((await as(role).get(IS(NS, 'fixture'))).status).toBe(403);
    // the builder may create streams (auto-provisioning on push), nothing else.
    expect((await as('system:image-builder').post(IS(NS), { metadata: { name: 'by-builder' } })).status).toBe(
      201,
    );
    // /images is for cluster administrators only, even for a project admin.
    const img = await as('admin').get(`/apis/${IMG}/v1/images/${imageDigest}`);
    expect(img.status).toBe(403);
    expect(img.body.message).toContain('at the cluster scope');
  });
  it('answers every endpoint × caller as the rule table says', { timeout: 120_000 }, async () => {
    const rows: string[] = [];
    const mismatches: string[] = [];
    for (const route of ordered) {
      for (const { label, who } of callers) {
        // Refresh the objects an earlier allowed call may have removed, so each call meets the same world.
        if (route.method !== 'POST') await refreshFixture().catch(() => {});
        const want = expected(route, who);
        const client =
          who.kind === 'anonymous'
            ? admin.as(null)
            : who.kind === 'cluster-admin'
              ? admin
              : admin.as(who.token);
        const { path, body } = requestFor(route);
        const res = await client.call(route.method, path, body);
        const got =
          res.status === 401
            ? 'unauthenticated'
            : res.status === 403 && res.body?.reason === 'Forbidden' && /cannot /.test(res.body.message)
              ? 'deny'
              : 'allow';
        if (got === 'deny') {
          // The refusal names the verb and the resource, as Kubernetes' does.
          expect(res.body.message).toContain(`cannot ${route.verb} resource "${route.resource}"`);
          expect(res.body.code).toBe(403);
        }
        if (got === 'allow') expect(res.status, `${route.method} ${path} as ${label}`).toBeLessThan(500);
        const cell = `${route.method} ${route.path.replace(/^\/apis?\//, '')} × ${label}: want ${want}, got ${got} (${res.status})`;
        rows.push(cell);
        if (got !== want) mismatches.push(`${cell} ${JSON.stringify(res.body)?.slice(0, 300)}`);
      }
    }
    expect(mismatches).toEqual([]);
    // routes × callers cells, every one checked.
    expect(rows.length).toBe(routes.length * callers.length);
  });
});
