import * as z from 'zod';
import { API_GROUPS, isClusterAdmin, roleAllows, type Subject } from '../../core/access/rules';
import {
  alreadyExists,
  badRequest,
  FieldError,
  forbidden,
  type GroupResource,
  invalid,
  notFound,
  type Status,
  successStatus,
} from '../../core/errors';
import { validateNamespaceName } from '../../core/imagestream/validation';
import { type BindingRecord, type ProjectRecord, ProjectWriteConflict } from '../ports/projects';
import { type AppContext, actorOf, type Identity } from '../shared/context';
import { decode, meta } from '../shared/decode';
import { decodeContinue, encodeContinue, MAX_PAGE, parseLimit } from '../shared/paging';
import type { WriteOptions } from '../shared/requests';

/**
 * Projects (namespaces): `POST projectrequests` creates one and makes the requester its admin (`oc new-project`);
 * `GET projects` lists those the caller can see; deleting one removes everything in it. Streams, secrets and role
 * bindings can only be created in an Active project.
 */

const PROJECT_GROUP = API_GROUPS.project;
const projectResource: GroupResource = { group: PROJECT_GROUP, resource: 'projects' };
/** OpenShift's AlreadyExists for `oc new-project` reads `project.project.openshift.io "x" already exists`. */
const projectSingular: GroupResource = { group: PROJECT_GROUP, resource: 'project' };

export const ANNOTATIONS = {
  requester: 'openshift.io/requester',
  displayName: 'openshift.io/display-name',
  description: 'openshift.io/description',
} as const;

/** Names OpenShift keeps for itself: project requests may not use them. */
const RESERVED_PREFIXES = ['openshift-', 'kube-'];
const RESERVED_NAMES = ['default', 'openshift', 'kube-system', 'kube-public'];
/** Free-text fields are annotations; keep them well inside an item. */
const MAX_TEXT = 4096;

export interface ProjectView {
  kind: 'Project';
  apiVersion: 'project.openshift.io/v1';
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    annotations: Record<string, string>;
  };
  spec: { finalizers: string[] };
  status: { phase: string };
}

export function projectView(p: ProjectRecord): ProjectView {
  const annotations: Record<string, string> = { [ANNOTATIONS.requester]: p.requester };
  if (p.displayName) annotations[ANNOTATIONS.displayName] = p.displayName;
  if (p.description) annotations[ANNOTATIONS.description] = p.description;
  return {
    kind: 'Project',
    apiVersion: 'project.openshift.io/v1',
    metadata: {
      name: p.name,
      uid: p.uid,
      resourceVersion: String(p.resourceVersion),
      creationTimestamp: p.creationTimestamp,
      annotations,
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: p.phase },
  };
}

const requestBody = z
  .object({
    kind: z.string().optional(),
    apiVersion: z.string().optional(),
    metadata: meta.default({}),
    displayName: z.string().optional(),
    description: z.string().optional(),
  })
  .loose();

/** POST /apis/project.openshift.io/v1/projectrequests (201 with the Project). */
export async function createProjectRequest(
  ctx: AppContext,
  raw: unknown,
  opts: WriteOptions = {},
): Promise<ProjectView> {
  const caller = requireCaller(ctx);
  const body = decode(requestBody, raw, 'ProjectRequest');
  if (body.kind !== undefined && body.kind !== 'ProjectRequest')
    throw badRequest(
      `the kind of the request body is ${JSON.stringify(body.kind)}, expected "ProjectRequest"`,
    );
  if (body.apiVersion !== undefined && body.apiVersion !== 'project.openshift.io/v1')
    throw badRequest(
      `unsupported apiVersion ${JSON.stringify(body.apiVersion)}; use project.openshift.io/v1`,
    );
  const name = body.metadata.name ?? '';
  const errors: FieldError[] = [];
  if (!name) errors.push(FieldError.required('metadata.name', 'name is required'));
  else {
    const why = validateNamespaceName(name);
    if (why)
      errors.push(FieldError.invalid('metadata.name', name, why.replace(/^invalid namespace "[^"]*": /, '')));
  }
  if ((body.displayName ?? '').length > MAX_TEXT) errors.push(FieldError.tooLong('displayName', MAX_TEXT));
  if ((body.description ?? '').length > MAX_TEXT) errors.push(FieldError.tooLong('description', MAX_TEXT));
  if (errors.length) throw invalid('ProjectRequest', PROJECT_GROUP, name, errors);
  if (RESERVED_NAMES.includes(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p)))
    throw forbidden(`cannot request a project with the name "${name}": it is reserved for the system`);

  const now = ctx.clock();
  const project: ProjectRecord = {
    name,
    uid: ctx.newUid(),
    resourceVersion: 1,
    creationTimestamp: now,
    requester: caller.user,
    displayName: body.displayName ?? '',
    description: body.description ?? '',
    phase: 'Active',
    by: actorOf(ctx),
  };
  // The requester becomes the project's admin, as `oc new-project` does (RoleBinding "admin").
  const admin: BindingRecord = {
    namespace: name,
    name: 'admin',
    uid: ctx.newUid(),
    resourceVersion: 1,
    creationTimestamp: now,
    role: 'admin',
    subjects: [{ kind: 'User', name: caller.user }],
    labels: {},
    annotations: {},
    by: actorOf(ctx),
  };
  if (opts.dryRun) {
    if (await ctx.projects.getProject(name)) throw alreadyExists(projectSingular, name);
    return projectView(project);
  }
  try {
    await ctx.projects.createProject(project, [admin]);
  } catch (e) {
    if (e instanceof ProjectWriteConflict) throw alreadyExists(projectSingular, name);
    throw e;
  }
  return projectView(project);
}

/** GET projectrequests: Success when the caller may request projects (the check happened before this runs). */
export function canRequestProjects(): Status {
  return successStatus();
}

function requireCaller(ctx: AppContext): Identity {
  if (!ctx.caller) throw new Error('a project use case ran without a caller');
  return ctx.caller;
}

/** The subjects a caller is, as the subject index keys them (service accounts are users by name). */
function subjectsOf(caller: Identity): Subject[] {
  return [
    { kind: 'User', name: caller.user },
    ...caller.groups.map((g): Subject => ({ kind: 'Group', name: g })),
  ];
}

/**
 * GET /apis/project.openshift.io/v1/projects: every project for cluster administrators (paged with `limit` and
 * `continue`), otherwise those where the caller holds a role that may `get` the project.
 */
export async function listProjects(ctx: AppContext, query: URLSearchParams) {
  const caller = requireCaller(ctx);
  const list = (items: ProjectView[], cont?: string) => ({
    kind: 'ProjectList' as const,
    apiVersion: 'project.openshift.io/v1' as const,
    metadata: cont ? { continue: cont } : {},
    items,
  });
  if (isClusterAdmin(caller, ctx.access)) {
    const limit = Math.min(parseLimit(query.get('limit')) ?? MAX_PAGE, MAX_PAGE);
    const token = decodeContinue(
      query.get('continue'),
      (t): t is { after: string } => typeof (t as { after?: unknown })?.after === 'string',
    );
    const page = await ctx.projects.listAll({ limit, after: token?.after });
    const last = page.items.at(-1)?.name;
    return list(page.items.map(projectView), page.more && last ? encodeContinue({ after: last }) : undefined);
  }
  const bound = await ctx.projects.bindingsOf(subjectsOf(caller));
  const visible = [...bound.entries()]
    .filter(([, roles]) => [...roles].some((r) => roleAllows(r, 'get', PROJECT_GROUP, 'projects')))
    .map(([ns]) => ns)
    .sort();
  const records = await Promise.all(visible.map((ns) => ctx.projects.getProject(ns)));
  return list(records.filter((p): p is ProjectRecord => !!p).map(projectView));
}

/** GET /apis/project.openshift.io/v1/projects/{name}. */
/**
 * GET /api/v1/namespaces/{name}: a project as the Namespace kubectl reads before it names a missing object of the
 * namespace (so it can say which object is missing). Read-only; the same project, phase and uid.
 */
export async function getNamespace(ctx: AppContext, name: string) {
  const p = await ctx.projects.getProject(name);
  if (!p) throw notFound({ group: '', resource: 'namespaces' }, name);
  const { metadata, spec, status } = projectView(p);
  return { kind: 'Namespace' as const, apiVersion: 'v1' as const, metadata, spec, status };
}

export async function getProject(ctx: AppContext, name: string): Promise<ProjectView> {
  const p = await ctx.projects.getProject(name);
  if (!p) throw notFound(projectResource, name);
  return projectView(p);
}

/**
 * DELETE /apis/project.openshift.io/v1/projects/{name}: the project turns Terminating at once (nothing new can be
 * created in it), then a job deletes its streams (each deletion emits its tags' `deleted` events), its image
 * records, secrets and bindings, and finally the project. Deleting a Terminating project again re-queues that job.
 */
export async function deleteProject(ctx: AppContext, name: string, opts: WriteOptions = {}): Promise<Status> {
  if (opts.dryRun) {
    const p = await ctx.projects.getProject(name);
    if (!p) throw notFound(projectResource, name);
    return successStatus({ name, group: PROJECT_GROUP, kind: 'projects', uid: p.uid });
  }
  let p: ProjectRecord;
  try {
    p = await ctx.projects.markTerminating(name, actorOf(ctx));
  } catch (e) {
    if (e instanceof ProjectWriteConflict) throw notFound(projectResource, name);
    throw e;
  }
  await ctx.jobs?.enqueue([{ kind: 'project', namespace: name, by: actorOf(ctx) }]);
  return successStatus({ name, group: PROJECT_GROUP, kind: 'projects', uid: p.uid });
}
