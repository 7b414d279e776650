/**
 * The one rule table of access control (docs/semantics.md#roles): which role grants which verbs on which resources, and the
 * decision for one request. Pure: no I/O, no AWS. The HTTP layer checks every endpoint with {@link decide}; the
 * cross-namespace tag check (docs/semantics.md#cross-project-sources) and the escalation check on role bindings use the same table.
 */

export const Verbs = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
] as const;
export type Verb = (typeof Verbs)[number];

export const API_GROUPS = {
  image: 'image.openshift.io',
  extension: 'imagestreams.io',
  core: '',
  rbac: 'rbac.authorization.k8s.io',
  project: 'project.openshift.io',
  user: 'user.openshift.io',
  authorization: 'authorization.k8s.io',
} as const;

/** What one request does: Kubernetes' authorization attributes. */
export interface Attributes {
  verb: Verb;
  group: string;
  /** The resource, with its subresource after a slash (`imagestreams/layers`). */
  resource: string;
  /** Undefined for cluster-scoped resources (images, projectrequests, the project list). */
  namespace?: string | undefined;
  /** The object's name, when the request names one (used in messages only). */
  name?: string | undefined;
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  /** ServiceAccount subjects only. */
  namespace?: string | undefined;
}

/** What the rules need of a RoleBinding: the role it grants and to whom. */
export interface Binding {
  role: string;
  subjects: Subject[];
}

export interface Caller {
  user: string;
  groups: string[];
}

export interface Rule {
  groups: readonly string[];
  resources: readonly string[];
  verbs: readonly Verb[];
}

const READ: readonly Verb[] = ['get', 'list', 'watch'];
const READ_WRITE: readonly Verb[] = Verbs;
const IMG = [API_GROUPS.image];

/** The image resources everyone with a project role sees (registry-viewer, aggregated to view). */
const viewRules: Rule[] = [
  {
    groups: IMG,
    resources: [
      'imagestreams',
      'imagestreammappings',
      'imagestreamtags',
      'imagetags',
      'imagestreamimages',
      'imagestreams/status',
    ],
    verbs: READ,
  },
  { groups: IMG, resources: ['imagestreams/layers'], verbs: ['get'] },
  { groups: [API_GROUPS.extension], resources: ['imagestreamtaghistories'], verbs: READ },
  { groups: [API_GROUPS.project], resources: ['projects'], verbs: ['get'] },
  // The project as the Namespace kubectl reads (GET /api/v1/namespaces/{name}).
  { groups: [API_GROUPS.core], resources: ['namespaces'], verbs: ['get'] },
];

const editRules: Rule[] = [
  {
    groups: IMG,
    resources: [
      'imagestreams',
      'imagestreammappings',
      'imagestreamtags',
      'imagetags',
      'imagestreamimages',
      'imagestreams/secrets',
    ],
    verbs: READ_WRITE,
  },
  { groups: IMG, resources: ['imagestreams/status'], verbs: READ },
  { groups: IMG, resources: ['imagestreams/layers'], verbs: ['get', 'update'] },
  { groups: IMG, resources: ['imagestreamimports'], verbs: ['create'] },
  { groups: [API_GROUPS.extension], resources: ['imagestreamtaghistories'], verbs: READ },
  // Registry credentials: writable by edit and admin; the API never returns their contents to anyone.
  { groups: [API_GROUPS.core], resources: ['secrets'], verbs: READ_WRITE },
  { groups: [API_GROUPS.project], resources: ['projects'], verbs: ['get'] },
  { groups: [API_GROUPS.core], resources: ['namespaces'], verbs: ['get'] },
];

const adminRules: Rule[] = [
  ...editRules,
  { groups: [API_GROUPS.rbac], resources: ['rolebindings'], verbs: READ_WRITE },
  { groups: [API_GROUPS.project], resources: ['projects'], verbs: ['get', 'delete'] },
];

/** The roles a RoleBinding may name (docs/semantics.md#roles), all cluster roles bound per project. */
export const ROLES: Readonly<Record<string, readonly Rule[]>> = {
  admin: adminRules,
  edit: editRules,
  view: viewRules,
  'system:image-puller': [{ groups: IMG, resources: ['imagestreams/layers'], verbs: ['get'] }],
  'system:image-pusher': [{ groups: IMG, resources: ['imagestreams/layers'], verbs: ['get', 'update'] }],
  'system:image-builder': [
    { groups: IMG, resources: ['imagestreams/layers'], verbs: ['get', 'update'] },
    { groups: IMG, resources: ['imagestreams'], verbs: ['create'] },
  ],
};

export const ROLE_NAMES = Object.keys(ROLES);
/** The rules of a role; a name that is no role (stored data, or `constructor`) has none. */
const rulesOf = (role: string): readonly Rule[] => (Object.hasOwn(ROLES, role) ? ROLES[role]! : []);

export interface AccessPolicy {
  /** Members are cluster administrators: every verb on every resource, in every namespace and at cluster scope. */
  clusterAdminGroups: readonly string[];
  /** Members may create projects (projectrequests). */
  projectRequesterGroups: readonly string[];
}

/**
 * Rules that hold for every authenticated caller regardless of bindings, at cluster scope: listing projects (the
 * list is filtered to what the caller may see) and, for the configured groups, requesting a project.
 */
function clusterRulesFor(caller: Caller, policy: AccessPolicy): Rule[] {
  const rules: Rule[] = [
    { groups: [API_GROUPS.project], resources: ['projects'], verbs: ['list'] },
    // `users/~` (who am I) answers every caller about themselves.
    { groups: [API_GROUPS.user], resources: ['users'], verbs: ['get'] },
    // Kubernetes' `system:basic-user`: everyone may ask what they themselves may do.
    {
      groups: [API_GROUPS.authorization],
      resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
      verbs: ['create'],
    },
  ];
  if (caller.groups.some((g) => policy.projectRequesterGroups.includes(g)))
    rules.push({ groups: [API_GROUPS.project], resources: ['projectrequests'], verbs: ['create', 'list'] });
  return rules;
}

/**
 * Paths that are no resource, readable by every authenticated caller (Kubernetes' `system:discovery` and
 * `system:public-info-viewer`): discovery, version, OpenAPI, health. A trailing `*` matches any rest of the path.
 */
export const DISCOVERY_PATHS: readonly string[] = [
  '/api',
  '/api/*',
  '/apis',
  '/apis/*',
  '/version',
  '/openapi/*',
  '/healthz',
  '/livez',
  '/readyz',
];

export interface NonResourceRule {
  verbs: readonly string[];
  paths: readonly string[];
}

const nonResourcePathMatches = (pattern: string, path: string) =>
  pattern === '*' || (pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : pattern === path);

/** The non-resource rules of `caller`: everything for cluster administrators, discovery for everyone. */
export function nonResourceRulesFor(caller: Caller, policy: AccessPolicy): NonResourceRule[] {
  if (isClusterAdmin(caller, policy)) return [{ verbs: ['*'], paths: ['*'] }];
  return [{ verbs: ['get'], paths: DISCOVERY_PATHS }];
}

/** Whether `caller` may `verb` (an HTTP verb in lower case: get, post, …) the non-resource `path`. */
export function allowsNonResource(caller: Caller, verb: string, path: string, policy: AccessPolicy): boolean {
  return nonResourceRulesFor(caller, policy).some(
    (r) =>
      (r.verbs.includes('*') || r.verbs.includes(verb)) &&
      r.paths.some((p) => nonResourcePathMatches(p, path)),
  );
}

/**
 * Everything `caller` may do in `namespace` (undefined: at cluster scope), as rules: what a
 * SelfSubjectRulesReview lists. Cluster administrators get one rule that allows everything.
 */
export function rulesFor(
  caller: Caller,
  bindings: readonly Binding[],
  namespace: string | undefined,
  policy: AccessPolicy,
): Rule[] {
  if (isClusterAdmin(caller, policy)) return [{ groups: ['*'], resources: ['*'], verbs: ['*' as Verb] }];
  const rules = [...clusterRulesFor(caller, policy)];
  if (namespace !== undefined)
    for (const role of rolesOf(caller, bindings, namespace)) rules.push(...rulesOf(role));
  return rules;
}

export function ruleAllows(rule: Rule, verb: Verb, group: string, resource: string): boolean {
  return rule.groups.includes(group) && rule.resources.includes(resource) && rule.verbs.includes(verb);
}

export function roleAllows(role: string, verb: Verb, group: string, resource: string): boolean {
  return rulesOf(role).some((r) => ruleAllows(r, verb, group, resource));
}

export function isClusterAdmin(caller: Caller, policy: AccessPolicy): boolean {
  return caller.groups.some((g) => policy.clusterAdminGroups.includes(g));
}

/** Kubernetes' service account user name: `system:serviceaccount:<ns>:<name>`. */
export const serviceAccountUser = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;

export function subjectMatches(s: Subject, caller: Caller, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === caller.user;
    case 'Group':
      return caller.groups.includes(s.name);
    case 'ServiceAccount':
      return serviceAccountUser(s.namespace || bindingNamespace, s.name) === caller.user;
    default:
      return false;
  }
}

/** The roles `caller` holds in a namespace through its bindings. */
export function rolesOf(caller: Caller, bindings: readonly Binding[], namespace: string): Set<string> {
  const roles = new Set<string>();
  for (const b of bindings)
    if (b.subjects.some((s) => subjectMatches(s, caller, namespace))) roles.add(b.role);
  return roles;
}

export type Decision = { allowed: true; via: string } | { allowed: false };

/**
 * Whether `caller` may do `attrs`, given the bindings of `attrs.namespace` (empty for cluster-scoped requests).
 * `via` names what granted it, for logs and tests.
 */
export function decide(
  caller: Caller,
  attrs: Attributes,
  bindings: readonly Binding[],
  policy: AccessPolicy,
): Decision {
  if (isClusterAdmin(caller, policy)) return { allowed: true, via: 'cluster-admin' };
  if (attrs.namespace === undefined) {
    const ok = clusterRulesFor(caller, policy).some((r) =>
      ruleAllows(r, attrs.verb, attrs.group, attrs.resource),
    );
    return ok ? { allowed: true, via: 'cluster' } : { allowed: false };
  }
  for (const role of rolesOf(caller, bindings, attrs.namespace))
    if (roleAllows(role, attrs.verb, attrs.group, attrs.resource)) return { allowed: true, via: role };
  return { allowed: false };
}

/**
 * Kubernetes' RBAC escalation rule: a caller may bind a role only if they hold every permission it grants in that
 * namespace (cluster administrators may bind anything). Returns the first permission they lack, if any.
 */
export function missingForBinding(
  caller: Caller,
  role: string,
  callerBindings: readonly Binding[],
  namespace: string,
  policy: AccessPolicy,
): string | undefined {
  if (isClusterAdmin(caller, policy)) return undefined;
  const held = [...rolesOf(caller, callerBindings, namespace)];
  for (const rule of rulesOf(role))
    for (const group of rule.groups)
      for (const resource of rule.resources)
        for (const verb of rule.verbs)
          if (!held.some((h) => roleAllows(h, verb, group, resource)))
            return `${verb} ${group ? `${resource}.${group}` : resource}`;
  return undefined;
}

/** `imagestreams.image.openshift.io`, or `secrets` for the core group, as Kubernetes prints resources. */
export function qualifiedResource(group: string, resource: string): string {
  const base = resource.split('/')[0]!;
  return group ? `${base}.${group}` : base;
}

/** Kubernetes' forbidden message: names the user, verb, resource, group and scope. */
export function forbiddenMessage(caller: Caller | undefined, attrs: Attributes): string {
  const who = caller ? `User "${caller.user}"` : 'User "system:anonymous"';
  const object = `${qualifiedResource(attrs.group, attrs.resource)}${attrs.name ? ` "${attrs.name}"` : ''}`;
  const scope =
    attrs.namespace === undefined ? 'at the cluster scope' : `in the namespace "${attrs.namespace}"`;
  return `${object} is forbidden: ${who} cannot ${attrs.verb} resource "${attrs.resource}" in API group "${attrs.group}" ${scope}`;
}
