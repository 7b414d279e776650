import * as z from 'zod';
import {
  API_GROUPS,
  type Attributes,
  allowsNonResource,
  decide,
  isClusterAdmin,
  type Verb,
  Verbs,
} from '../../core/access/rules';
import { FieldError, invalid } from '../../core/errors';
import { validateNamespaceName } from '../../core/imagestream/validation';
import type { AppContext, Identity } from '../shared/context';
import { decode, meta } from '../shared/decode';

/**
 * `SelfSubjectAccessReview` (authorization.k8s.io/v1): may I do this? Answered by the same rule table and bindings
 * as every request (functions/core/access/rules.ts), so `kubectl auth can-i` tells exactly what a request would
 * meet. Nothing is stored.
 */

const KIND = 'SelfSubjectAccessReview';

const review = z
  .object({
    kind: z.string().optional(),
    apiVersion: z.string().optional(),
    metadata: meta.optional(),
    spec: z
      .object({
        resourceAttributes: z
          .object({
            namespace: z.string().optional(),
            verb: z.string().optional(),
            group: z.string().optional(),
            version: z.string().optional(),
            resource: z.string().optional(),
            subresource: z.string().optional(),
            name: z.string().optional(),
          })
          .loose()
          .nullish(),
        nonResourceAttributes: z
          .object({ path: z.string().optional(), verb: z.string().optional() })
          .loose()
          .nullish(),
      })
      .loose(),
  })
  .loose();

type ResourceAttributes = NonNullable<z.infer<typeof review>['spec']['resourceAttributes']>;

interface Decision {
  allowed: boolean;
  reason?: string;
}

const isVerb = (v: string): v is Verb => (Verbs as readonly string[]).includes(v);

async function decideResource(ctx: AppContext, caller: Identity, a: ResourceAttributes): Promise<Decision> {
  const group = a.group ?? '';
  const resource = `${a.resource ?? ''}${a.subresource ? `/${a.subresource}` : ''}`;
  // A project is authorized in the namespace it is (functions/http/routes.ts, scope `project`).
  const namespace =
    a.namespace || (group === API_GROUPS.project && a.resource === 'projects' && a.name ? a.name : undefined);
  if (isClusterAdmin(caller, ctx.access)) return { allowed: true, reason: 'cluster administrator' };
  const verb = a.verb ?? '';
  if (!isVerb(verb)) return { allowed: false, reason: `no role grants the verb ${JSON.stringify(verb)}` };
  if (namespace !== undefined && validateNamespaceName(namespace))
    return { allowed: false, reason: `${JSON.stringify(namespace)} is not a project name` };
  const attrs: Attributes = { verb, group, resource, namespace, name: a.name };
  const access = namespace === undefined ? undefined : await ctx.projects.access(namespace);
  const decision = decide(caller, attrs, access?.bindings ?? [], ctx.access);
  if (!decision.allowed) return { allowed: false };
  return {
    allowed: true,
    reason:
      decision.via === 'cluster'
        ? 'allowed to every authenticated user'
        : `allowed by role "${decision.via}" in project "${namespace}"`,
  };
}

/** POST selfsubjectaccessreviews: the review with its `status` (allowed, and why). */
export async function createSelfSubjectAccessReview(ctx: AppContext, caller: Identity, body: unknown) {
  const r = decode(review, body, KIND);
  const { resourceAttributes, nonResourceAttributes } = r.spec;
  if (!resourceAttributes === !nonResourceAttributes)
    throw invalid(KIND, API_GROUPS.authorization, '', [
      FieldError.invalid(
        'spec.resourceAttributes',
        resourceAttributes ?? null,
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    ]);
  const decision = resourceAttributes
    ? await decideResource(ctx, caller, resourceAttributes)
    : {
        allowed: allowsNonResource(
          caller,
          nonResourceAttributes?.verb ?? '',
          nonResourceAttributes?.path ?? '',
          ctx.access,
        ),
      };
  return {
    kind: KIND,
    apiVersion: `${API_GROUPS.authorization}/v1`,
    metadata: { creationTimestamp: null },
    spec: r.spec,
    status: {
      allowed: decision.allowed,
      ...('reason' in decision && decision.reason ? { reason: decision.reason } : {}),
    },
  };
}
