import * as z from 'zod';
import { API_GROUPS, nonResourceRulesFor, rulesFor } from '../../core/access/rules';
import { FieldError, invalid } from '../../core/errors';
import { validateNamespaceName } from '../../core/imagestream/validation';
import type { AppContext, Identity } from '../shared/context';
import { decode, meta } from '../shared/decode';

/**
 * `SelfSubjectRulesReview` (authorization.k8s.io/v1): everything I may do in a project (`kubectl auth can-i
 * --list -n <project>`), from the same rule table and bindings as every request. Nothing is stored.
 */

const KIND = 'SelfSubjectRulesReview';

const review = z
  .object({
    kind: z.string().optional(),
    apiVersion: z.string().optional(),
    metadata: meta.optional(),
    spec: z.object({ namespace: z.string().optional() }).loose().default({}),
  })
  .loose();

/** POST selfsubjectrulesreviews: the caller's resource and non-resource rules in `spec.namespace`. */
export async function createSelfSubjectRulesReview(ctx: AppContext, caller: Identity, body: unknown) {
  const r = decode(review, body, KIND);
  const namespace = r.spec.namespace || undefined;
  if (namespace !== undefined) {
    const why = validateNamespaceName(namespace);
    if (why)
      throw invalid(KIND, API_GROUPS.authorization, '', [
        FieldError.invalid('spec.namespace', namespace, why),
      ]);
  }
  const access = namespace === undefined ? undefined : await ctx.projects.access(namespace);
  const rules = rulesFor(caller, access?.bindings ?? [], namespace, ctx.access);
  return {
    kind: KIND,
    apiVersion: `${API_GROUPS.authorization}/v1`,
    metadata: { creationTimestamp: null },
    spec: { ...r.spec, namespace: namespace ?? '' },
    status: {
      resourceRules: rules.map((rule) => ({
        verbs: [...rule.verbs],
        apiGroups: [...rule.groups],
        resources: [...rule.resources],
      })),
      nonResourceRules: nonResourceRulesFor(caller, ctx.access).map((rule) => ({
        verbs: [...rule.verbs],
        nonResourceURLs: [...rule.paths],
      })),
      incomplete: false,
    },
  };
}
