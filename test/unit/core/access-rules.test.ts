import { describe, expect, it } from 'vitest';
import {
  type AccessPolicy,
  allowsNonResource,
  type Binding,
  decide,
  forbiddenMessage,
  missingForBinding,
  ROLE_NAMES,
  roleAllows,
  rolesOf,
  ruleAllows,
  rulesFor,
} from '../../../functions/core/access/rules';

const policy: AccessPolicy = {
  clusterAdminGroups: ['platform-admins'],
  projectRequesterGroups: ['system:authenticated'],
};
const IMG = 'image.openshift.io';
const alice = { user: 'alice', groups: ['team-a', 'system:authenticated'] };
const bind = (role: string, ...subjects: Binding['subjects']): Binding => ({ role, subjects });

describe('roles (docs/semantics.md#roles)', () => {
  it('has exactly the project roles of the reference', () => {
    expect(ROLE_NAMES.sort()).toEqual(
      ['admin', 'edit', 'system:image-builder', 'system:image-puller', 'system:image-pusher', 'view'].sort(),
    );
  });

  it.each([
    // role, verb, group, resource, allowed
    ['view', 'get', IMG, 'imagestreams', true],
    ['view', 'list', IMG, 'imagestreamtags', true],
    ['view', 'get', IMG, 'imagestreams/layers', true],
    ['view', 'create', IMG, 'imagestreams', false],
    ['view', 'create', IMG, 'imagestreamimports', false],
    ['view', 'get', '', 'secrets', false],
    ['view', 'list', 'rbac.authorization.k8s.io', 'rolebindings', false],
    ['edit', 'create', IMG, 'imagestreams', true],
    ['edit', 'delete', IMG, 'imagestreamtags', true],
    ['edit', 'create', IMG, 'imagestreamimports', true],
    ['edit', 'update', IMG, 'imagestreams/layers', true],
    ['edit', 'update', IMG, 'imagestreams/status', false],
    ['edit', 'create', '', 'secrets', true],
    ['edit', 'create', 'rbac.authorization.k8s.io', 'rolebindings', false],
    ['edit', 'delete', 'project.openshift.io', 'projects', false],
    ['admin', 'create', 'rbac.authorization.k8s.io', 'rolebindings', true],
    ['admin', 'delete', 'project.openshift.io', 'projects', true],
    ['admin', 'get', IMG, 'images', false],
    ['system:image-puller', 'get', IMG, 'imagestreams/layers', true],
    ['system:image-puller', 'get', IMG, 'imagestreams', false],
    ['system:image-pusher', 'update', IMG, 'imagestreams/layers', true],
    ['system:image-pusher', 'create', IMG, 'imagestreams', false],
    ['system:image-builder', 'create', IMG, 'imagestreams', true],
    ['system:image-builder', 'get', IMG, 'imagestreams', false],
  ] as const)('%s %s %s/%s → %s', (role, verb, group, resource, allowed) => {
    expect(roleAllows(role, verb, group, resource)).toBe(allowed);
  });
});

describe('decide', () => {
  const attrs = { verb: 'get' as const, group: IMG, resource: 'imagestreams', namespace: 'p1', name: 'web' };

  it('grants through a User, a Group or a ServiceAccount subject', () => {
    expect(decide(alice, attrs, [bind('view', { kind: 'User', name: 'alice' })], policy)).toEqual({
      allowed: true,
      via: 'view',
    });
    expect(decide(alice, attrs, [bind('view', { kind: 'Group', name: 'team-a' })], policy).allowed).toBe(
      true,
    );
    const robot = { user: 'system:serviceaccount:p1:builder', groups: [] };
    expect(
      decide(robot, attrs, [bind('view', { kind: 'ServiceAccount', name: 'builder' })], policy).allowed,
    ).toBe(true);
    expect(
      decide(
        robot,
        attrs,
        [bind('view', { kind: 'ServiceAccount', name: 'builder', namespace: 'p2' })],
        policy,
      ).allowed,
    ).toBe(false);
  });

  it('denies without a matching binding, and a binding of another user grants nothing', () => {
    expect(decide(alice, attrs, [], policy).allowed).toBe(false);
    expect(decide(alice, attrs, [bind('admin', { kind: 'User', name: 'bob' })], policy).allowed).toBe(false);
    expect(
      decide(alice, attrs, [bind('system:image-puller', { kind: 'User', name: 'alice' })], policy).allowed,
    ).toBe(false);
  });

  it('lets cluster administrators do anything, anywhere, including /images', () => {
    const root = { user: 'root', groups: ['platform-admins'] };
    expect(decide(root, { verb: 'get', group: IMG, resource: 'images' }, [], policy)).toEqual({
      allowed: true,
      via: 'cluster-admin',
    });
    expect(decide(alice, { verb: 'get', group: IMG, resource: 'images' }, [], policy).allowed).toBe(false);
  });

  it('at the cluster scope: every caller may list projects, only requester groups may request them', () => {
    const list = { verb: 'list' as const, group: 'project.openshift.io', resource: 'projects' };
    const request = { verb: 'create' as const, group: 'project.openshift.io', resource: 'projectrequests' };
    const bob = { user: 'bob', groups: ['b'] };
    expect(decide(bob, list, [], policy).allowed).toBe(true);
    expect(decide(bob, request, [], policy).allowed).toBe(false);
    expect(decide(alice, request, [], policy).allowed).toBe(true);
  });
});

describe('missingForBinding (Kubernetes escalation rule)', () => {
  const adminBinding = [bind('admin', { kind: 'User', name: 'alice' })];
  it('lets an admin bind every project role', () => {
    for (const role of ROLE_NAMES)
      expect(missingForBinding(alice, role, adminBinding, 'p1', policy)).toBeUndefined();
  });
  it('stops a caller from granting what they do not hold', () => {
    const edit = [bind('edit', { kind: 'User', name: 'alice' })];
    expect(missingForBinding(alice, 'view', edit, 'p1', policy)).toBeUndefined();
    expect(missingForBinding(alice, 'admin', edit, 'p1', policy)).toMatch(/rolebindings/);
    const pusher = [bind('system:image-pusher', { kind: 'User', name: 'alice' })];
    expect(missingForBinding(alice, 'system:image-puller', pusher, 'p1', policy)).toBeUndefined();
    expect(missingForBinding(alice, 'system:image-builder', pusher, 'p1', policy)).toBe(
      'create imagestreams.image.openshift.io',
    );
  });
  it('roles held through groups count', () => {
    expect(rolesOf(alice, [bind('edit', { kind: 'Group', name: 'team-a' })], 'p1')).toEqual(
      new Set(['edit']),
    );
  });
});

describe('forbiddenMessage', () => {
  it('reads like Kubernetes', () => {
    expect(
      forbiddenMessage(alice, { verb: 'create', group: IMG, resource: 'imagestreams', namespace: 'p1' }),
    ).toBe(
      'imagestreams.image.openshift.io is forbidden: User "alice" cannot create resource "imagestreams" in API group "image.openshift.io" in the namespace "p1"',
    );
    expect(
      forbiddenMessage(alice, { verb: 'get', group: '', resource: 'secrets', namespace: 'p1', name: 'x' }),
    ).toBe(
      'secrets "x" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "p1"',
    );
    expect(forbiddenMessage(alice, { verb: 'get', group: IMG, resource: 'images', name: 'sha256:1' })).toBe(
      'images.image.openshift.io "sha256:1" is forbidden: User "alice" cannot get resource "images" in API group "image.openshift.io" at the cluster scope',
    );
  });
});

describe('what a caller may do, as access reviews list it', () => {
  it('lists exactly the rules decide() applies: the roles held in the namespace plus the cluster rules', () => {
    const bindings = [bind('view', { kind: 'Group', name: 'team-a' })];
    const rules = rulesFor(alice, bindings, 'ns', policy);
    for (const [verb, group, resource] of [
      ['get', IMG, 'imagestreams'],
      ['update', IMG, 'imagestreams'],
      ['create', 'authorization.k8s.io', 'selfsubjectaccessreviews'],
      ['list', 'project.openshift.io', 'projects'],
      ['delete', '', 'secrets'],
    ] as const) {
      const listed = rules.some((r) => ruleAllows(r, verb, group, resource));
      const namespaced = decide(alice, { verb, group, resource, namespace: 'ns' }, bindings, policy).allowed;
      const cluster = decide(alice, { verb, group, resource }, bindings, policy).allowed;
      expect(listed, `${verb} ${resource}`).toBe(namespaced || cluster);
    }
    expect(rulesFor(alice, [], 'other', policy).some((r) => r.groups.includes(IMG))).toBe(false);
    expect(rulesFor({ user: 'root', groups: ['platform-admins'] }, [], 'ns', policy)).toEqual([
      { groups: ['*'], resources: ['*'], verbs: ['*'] },
    ]);
  });

  it('lets every caller read discovery, version, OpenAPI and health paths, and nothing else without a role', () => {
    for (const path of [
      '/api',
      '/api/v1',
      '/apis',
      '/apis/image.openshift.io/v1',
      '/version',
      '/openapi/v2',
      '/livez',
    ])
      expect(allowsNonResource(alice, 'get', path, policy), path).toBe(true);
    expect(allowsNonResource(alice, 'post', '/apis', policy)).toBe(false);
    expect(allowsNonResource(alice, 'get', '/metrics', policy)).toBe(false);
    expect(allowsNonResource(alice, 'get', '/apiserver', policy)).toBe(false);
    expect(allowsNonResource({ user: 'root', groups: ['platform-admins'] }, 'post', '/metrics', policy)).toBe(
      true,
    );
  });
});
