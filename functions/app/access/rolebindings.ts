import * as z from 'zod';
import { API_GROUPS, missingForBinding, ROLE_NAMES, type Subject } from '../../core/access/rules';
import {
  alreadyExists,
  badRequest,
  conflict,
  FieldError,
  forbidden,
  type GroupResource,
  invalid,
  notFound,
  OBJECT_MODIFIED,
  type Status,
  successStatus,
} from '../../core/errors';
import {
  DNS1123_LABEL_MESSAGE,
  dnsSubdomainProblem,
  validateNamespaceName,
  validateObjectMeta,
} from '../../core/imagestream/validation';
import { type BindingRecord, ProjectWriteConflict } from '../ports/projects';
import { type AppContext, actorOf, type Identity } from '../shared/context';
import { decode, meta } from '../shared/decode';
import { listSelectedByName } from '../shared/paging';
import { checkNamespace, type WriteOptions } from '../shared/requests';
import { namespaceTerminating } from './access';

/**
 * RoleBindings in the `rbac.authorization.k8s.io/v1` shape, binding users, groups and service accounts to the
 * project roles of docs/semantics.md#roles (functions/core/access/rules.ts). Every role is a ClusterRole bound per project,
 * as OpenShift's are. A caller may bind only a role whose every permission they hold here (Kubernetes' escalation
 * rule), so a project admin can hand out admin, edit or view, and an editor can hand out nothing.
 */

const RBAC = API_GROUPS.rbac;
const resource: GroupResource = { group: RBAC, resource: 'rolebindings' };
/** Subjects per binding: the subject index entries of a binding and its update must fit one transaction. */
export const MAX_SUBJECTS = 40;
/** Far above any user name (an IAM user's ARN with its longest path is about 600 characters). */
const MAX_SUBJECT_NAME_BYTES = 1024;
const SUBJECT_KINDS = ['User', 'Group', 'ServiceAccount'];

export interface RoleBindingView {
  kind: 'RoleBinding';
  apiVersion: 'rbac.authorization.k8s.io/v1';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  subjects: Array<{ kind: string; apiGroup?: string; name: string; namespace?: string }>;
  roleRef: { apiGroup: string; kind: 'ClusterRole'; name: string };
}

export function bindingView(b: BindingRecord): RoleBindingView {
  return {
    kind: 'RoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    metadata: {
      name: b.name,
      namespace: b.namespace,
      uid: b.uid,
      resourceVersion: String(b.resourceVersion),
      creationTimestamp: b.creationTimestamp,
      ...(Object.keys(b.labels).length ? { labels: b.labels } : {}),
      ...(Object.keys(b.annotations).length ? { annotations: b.annotations } : {}),
    },
    subjects: b.subjects.map((s) =>
      s.kind === 'ServiceAccount'
        ? { kind: s.kind, name: s.name, namespace: s.namespace ?? b.namespace }
        : { kind: s.kind, apiGroup: RBAC, name: s.name },
    ),
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: b.role },
  };
}

const body = z
  .object({
    kind: z.string().optional(),
    apiVersion: z.string().optional(),
    metadata: meta.default({}),
    subjects: z
      .array(
        z
          .object({
            kind: z.string().optional(),
            apiGroup: z.string().optional(),
            name: z.string().optional(),
            namespace: z.string().optional(),
          })
          .loose(),
      )
      .nullish(),
    roleRef: z
      .object({ apiGroup: z.string().optional(), kind: z.string().optional(), name: z.string().optional() })
      .loose()
      .nullish(),
  })
  .loose();
type Body = z.infer<typeof body>;

function decodeBinding(raw: unknown, ns: string): Body {
  const b = decode(body, raw, 'RoleBinding');
  if (b.kind !== undefined && b.kind !== 'RoleBinding')
    throw badRequest(`the kind of the request body is ${JSON.stringify(b.kind)}, expected "RoleBinding"`);
  if (b.apiVersion !== undefined && b.apiVersion !== `${RBAC}/v1`)
    throw badRequest(
      `unsupported apiVersion ${JSON.stringify(b.apiVersion)} for RoleBinding; use ${RBAC}/v1`,
    );
  checkNamespace(b.metadata, ns);
  return b;
}

/** Kubernetes' RoleBinding validation, limited to the roles this service has. 422 lists every problem. */
function validate(b: Body, name: string, ns: string): { role: string; subjects: Subject[] } {
  const errors: FieldError[] = [];
  if (!name) errors.push(FieldError.required('metadata.name', 'name or generateName is required'));
  else if (name === '.' || name === '..' || name.includes('/') || name.includes('%') || name.length > 253)
    errors.push(
      FieldError.invalid(
        'metadata.name',
        name,
        `may not be '.' or '..', contain '/' or '%', or exceed 253 characters`,
      ),
    );
  errors.push(
    ...validateObjectMeta({
      ...(b.metadata.labels ? { labels: b.metadata.labels } : {}),
      ...(b.metadata.annotations ? { annotations: b.metadata.annotations } : {}),
    }),
  );
  const ref = b.roleRef ?? {};
  if (!b.roleRef) errors.push(FieldError.required('roleRef'));
  else {
    if (ref.apiGroup !== RBAC)
      errors.push(FieldError.notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [RBAC]));
    if (ref.kind !== 'ClusterRole')
      errors.push(FieldError.notSupported('roleRef.kind', ref.kind ?? '', ['ClusterRole']));
    if (!ref.name) errors.push(FieldError.required('roleRef.name'));
    else if (!ROLE_NAMES.includes(ref.name))
      errors.push(FieldError.notSupported('roleRef.name', ref.name, ROLE_NAMES));
  }
  const subjects: Subject[] = [];
  const given = b.subjects ?? [];
  if (given.length > MAX_SUBJECTS) errors.push(FieldError.tooMany('subjects', given.length, MAX_SUBJECTS));
  given.forEach((s, i) => {
    const path = `subjects[${i}]`;
    if (!s.kind || !SUBJECT_KINDS.includes(s.kind)) {
      errors.push(FieldError.notSupported(`${path}.kind`, s.kind ?? '', SUBJECT_KINDS));
      return;
    }
    if (!s.name) {
      errors.push(FieldError.required(`${path}.name`));
      return;
    }
    // Kubernetes leaves user and group names free; they key the subject index, so they are bounded here.
    if (Buffer.byteLength(s.name) > MAX_SUBJECT_NAME_BYTES) {
      errors.push(FieldError.tooLong(`${path}.name`, MAX_SUBJECT_NAME_BYTES));
      return;
    }
    if (s.kind === 'ServiceAccount') {
      if (s.apiGroup) errors.push(FieldError.notSupported(`${path}.apiGroup`, s.apiGroup, ['']));
      const nameProblem = dnsSubdomainProblem(s.name);
      if (nameProblem) errors.push(FieldError.invalid(`${path}.name`, s.name, nameProblem));
      const saNamespace = s.namespace || ns;
      if (validateNamespaceName(saNamespace))
        errors.push(FieldError.invalid(`${path}.namespace`, saNamespace, DNS1123_LABEL_MESSAGE));
      subjects.push({ kind: 'ServiceAccount', name: s.name, namespace: saNamespace });
      return;
    }
    // kubectl always sends the group; an omitted one means the same, as `oc policy` writes it.
    if (s.apiGroup && s.apiGroup !== RBAC)
      errors.push(FieldError.notSupported(`${path}.apiGroup`, s.apiGroup, [RBAC]));
    if (s.namespace)
      errors.push(FieldError.forbidden(`${path}.namespace`, `only ServiceAccount subjects have one`));
    subjects.push({ kind: s.kind as 'User' | 'Group', name: s.name });
  });
  if (errors.length) throw invalid('RoleBinding', RBAC, name, errors);
  return { role: ref.name!, subjects };
}

/** Kubernetes' escalation check: 403 unless the caller holds every permission of `role` in `ns`. */
async function checkEscalation(ctx: AppContext, ns: string, name: string, role: string): Promise<void> {
  const caller = ctx.caller as Identity;
  const { bindings } = await ctx.projects.access(ns);
  const missing = missingForBinding(caller, role, bindings, ns, ctx.access);
  if (missing)
    throw forbidden(
      `rolebindings.${RBAC} "${name}" is forbidden: user "${caller.user}" is attempting to grant RBAC permissions not currently held: ${missing} (role "${role}" in namespace "${ns}")`,
    );
}

/** POST /apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings (201). */
export async function createRoleBinding(
  ctx: AppContext,
  ns: string,
  raw: unknown,
  opts: WriteOptions = {},
): Promise<RoleBindingView> {
  const b = decodeBinding(raw, ns);
  const name = b.metadata.name ?? '';
  const { role, subjects } = validate(b, name, ns);
  await checkEscalation(ctx, ns, name, role);
  const record: BindingRecord = {
    namespace: ns,
    name,
    uid: ctx.newUid(),
    resourceVersion: 1,
    creationTimestamp: ctx.clock(),
    role,
    subjects,
    labels: b.metadata.labels ?? {},
    annotations: b.metadata.annotations ?? {},
    by: actorOf(ctx),
  };
  if (opts.dryRun) {
    // The project is Active (the edge checked it for every create); what is left to refuse is a name in use.
    if (await ctx.projects.getBinding(ns, name)) throw alreadyExists(resource, name);
    return bindingView(record);
  }
  try {
    await ctx.projects.createBinding(record);
  } catch (e) {
    if (e instanceof ProjectWriteConflict) {
      if (e.reason === 'terminating') throw namespaceTerminating(ns);
      throw alreadyExists(resource, name);
    }
    throw e;
  }
  return bindingView(record);
}

export async function getRoleBinding(ctx: AppContext, ns: string, name: string): Promise<RoleBindingView> {
  const b = await ctx.projects.getBinding(ns, name);
  if (!b) throw notFound(resource, name);
  return bindingView(b);
}

/** GET …/rolebindings: name order, `labelSelector`, `limit` and `continue`. */
export async function listRoleBindings(ctx: AppContext, ns: string, query: URLSearchParams) {
  const page = await listSelectedByName(query, (p) => ctx.projects.listBindings(ns, p));
  return {
    kind: 'RoleBindingList' as const,
    apiVersion: `${RBAC}/v1` as const,
    metadata: page.continue ? { continue: page.continue } : {},
    items: page.items.map(bindingView),
  };
}

/**
 * PUT …/rolebindings/{name}: replaces the subjects (and labels, annotations). `roleRef` cannot change, as in
 * Kubernetes; a given resourceVersion must match (409 otherwise); a missing binding is created (201), which is
 * what `oc policy add-role-to-user` relies on.
 */
export async function updateRoleBinding(
  ctx: AppContext,
  ns: string,
  name: string,
  raw: unknown,
  opts: WriteOptions = {},
): Promise<{ result: RoleBindingView; created: boolean }> {
  const b = decodeBinding(raw, ns);
  if (b.metadata.name && b.metadata.name !== name)
    throw badRequest(
      `the name of the object (${b.metadata.name}) does not match the name on the URL (${name})`,
    );
  const { role, subjects } = validate(b, name, ns);
  const old = await ctx.projects.getBinding(ns, name);
  if (!old) {
    if (b.metadata.resourceVersion) throw notFound(resource, name);
    return {
      result: await createRoleBinding(ctx, ns, { ...b, metadata: { ...b.metadata, name } }, opts),
      created: true,
    };
  }
  if (old.role !== role)
    throw invalid('RoleBinding', RBAC, name, [
      FieldError.invalid(
        'roleRef',
        { apiGroup: RBAC, kind: 'ClusterRole', name: role },
        'cannot change roleRef',
      ),
    ]);
  if (b.metadata.resourceVersion && b.metadata.resourceVersion !== String(old.resourceVersion))
    throw conflict(resource, name, OBJECT_MODIFIED);
  await checkEscalation(ctx, ns, name, role);
  const next: BindingRecord = {
    ...old,
    resourceVersion: old.resourceVersion + 1,
    subjects,
    labels: b.metadata.labels ?? {},
    annotations: b.metadata.annotations ?? {},
    by: actorOf(ctx),
  };
  if (opts.dryRun)
    return { result: bindingView({ ...next, resourceVersion: old.resourceVersion }), created: false };
  try {
    await ctx.projects.updateBinding(old, next);
  } catch (e) {
    if (e instanceof ProjectWriteConflict) throw conflict(resource, name, OBJECT_MODIFIED);
    throw e;
  }
  return { result: bindingView(next), created: false };
}

/** DELETE …/rolebindings/{name}: a success Status. */
export async function deleteRoleBinding(
  ctx: AppContext,
  ns: string,
  name: string,
  opts: WriteOptions = {},
): Promise<Status> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const b = await ctx.projects.getBinding(ns, name);
    if (!b) throw notFound(resource, name);
    if (opts.dryRun) return successStatus({ name, group: RBAC, kind: 'rolebindings', uid: b.uid });
    try {
      await ctx.projects.deleteBinding(b);
      return successStatus({ name, group: RBAC, kind: 'rolebindings', uid: b.uid });
    } catch (e) {
      if (!(e instanceof ProjectWriteConflict)) throw e;
    }
  }
  throw conflict(resource, name, OBJECT_MODIFIED);
}
