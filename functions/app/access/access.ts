import {
  API_GROUPS,
  type Attributes,
  decide,
  forbiddenMessage,
  isClusterAdmin,
  type Verb,
} from '../../core/access/rules';
import type { TagReference } from '../../core/api-types';
import { FieldError, namespaceNotFound, namespaceTerminating, StatusError } from '../../core/errors';
import type { StreamState } from '../../core/imagestream/model';
import type { BindingRecord, ProjectRecord } from '../ports/projects';
import type { AppContext, Identity } from '../shared/context';

/** A project and its bindings as one access check read them. */
export interface ProjectAccess {
  project?: ProjectRecord;
  bindings: BindingRecord[];
}

/** 403 Forbidden as Kubernetes answers it: names the user, verb, resource and scope. */
export function forbiddenFor(caller: Identity | undefined, attrs: Attributes): StatusError {
  return new StatusError(403, 'Forbidden', forbiddenMessage(caller, attrs), {
    ...(attrs.name ? { name: attrs.name } : {}),
    group: attrs.group,
    kind: attrs.resource.split('/')[0]!,
  });
}

export { namespaceNotFound, namespaceTerminating };

/** Verbs that read: their handlers may run while the access check is still in flight. */
export function isReadOnly(verb: Verb): boolean {
  return verb === 'get' || verb === 'list' || verb === 'watch';
}

/**
 * Throws 403 unless `caller` may do `attrs`. `access` holds the bindings of `attrs.namespace` (read once per
 * request by the HTTP layer); cluster administrators need none.
 */
export function enforce(
  ctx: AppContext,
  caller: Identity,
  attrs: Attributes,
  access: ProjectAccess | undefined,
): void {
  const decision = decide(caller, attrs, access?.bindings ?? [], ctx.access);
  if (decision.allowed) return;
  ctx.metrics.record('authorizationDenied');
  throw forbiddenFor(caller, attrs);
}

/**
 * Creating content needs an Active project (Kubernetes' NamespaceLifecycle): 404 when there is none, 403 while
 * it is being deleted.
 */
export function requireActiveProject(ns: string, access: ProjectAccess | undefined): void {
  if (!access?.project) throw namespaceNotFound(ns);
  if (access.project.phase !== 'Active') throw namespaceTerminating(ns);
}

/** Whether `caller` may do `attrs`, reading the namespace's bindings when needed (for checks inside use cases). */
export async function can(ctx: AppContext, caller: Identity, attrs: Attributes): Promise<boolean> {
  if (isClusterAdmin(caller, ctx.access)) return true;
  const access = attrs.namespace === undefined ? undefined : await ctx.projects.access(attrs.namespace);
  return decide(caller, attrs, access?.bindings ?? [], ctx.access).allowed;
}

/** The stream a cross-namespace tag source names (`src:1` → `src`, `src@sha256:…` → `src`). */
function sourceStream(from: NonNullable<TagReference['from']>): string | undefined {
  if (from.kind === 'ImageStreamTag') return from.name?.split(':')[0];
  if (from.kind === 'ImageStreamImage') return from.name?.split('@')[0];
  return undefined;
}

/**
 * docs/semantics.md#cross-project-sources: a spec tag that is new or re-pointed at another namespace's stream needs the caller's
 * `get imagestreams/layers` (pull) on that stream. Same-namespace sources and unchanged tags are not checked, and
 * background work (no caller) only ever re-applies specs a caller already wrote.
 */
export async function verifyTagSources(
  ctx: AppContext,
  after: StreamState,
  changedTags: string[],
): Promise<FieldError[]> {
  const caller = ctx.caller;
  if (!caller || isClusterAdmin(caller, ctx.access)) return [];
  const errors: FieldError[] = [];
  const checked = new Map<string, Promise<boolean>>();
  for (const tag of changedTags) {
    const from = after.tags.get(tag)?.spec?.from;
    if (!from?.namespace || from.namespace === after.head.namespace) continue;
    const stream = sourceStream(from);
    if (!stream) continue;
    const key = `${from.namespace}/${stream}`;
    const pull: Attributes = {
      verb: 'get',
      group: API_GROUPS.image,
      resource: 'imagestreams/layers',
      namespace: from.namespace,
      name: stream,
    };
    if (!checked.has(key)) checked.set(key, can(ctx, caller, pull));
    if (!(await checked.get(key)))
      errors.push(
        FieldError.forbidden(`spec.tags[${tag}].from`, `${key}: ${forbiddenMessage(caller, pull)}`),
      );
  }
  return errors;
}
