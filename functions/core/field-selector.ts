import { badRequest } from './errors';

/**
 * Kubernetes field selectors on lists: `field=value`, `field==value`, `field!=value`, comma separated (all must
 * hold). This API selects on the fields every object has, `metadata.name` and `metadata.namespace`; any other
 * field is 400 `field label not supported: <field>`, as kube-apiserver words it for its own kinds.
 */
export const SELECTABLE_FIELDS = ['metadata.name', 'metadata.namespace'] as const;

export type SelectableFields = Record<(typeof SELECTABLE_FIELDS)[number], string>;

interface Requirement {
  field: (typeof SELECTABLE_FIELDS)[number];
  equal: boolean;
  value: string;
}

/** The selector as a test of an object's fields; throws 400 for a term it cannot read or a field not offered. */
export function parseFieldSelector(selector: string): (fields: SelectableFields) => boolean {
  const requirements: Requirement[] = [];
  for (const raw of selector.split(',')) {
    const term = raw.trim();
    if (!term) continue;
    const m = /^([^=!]+?)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: '${selector}'; can't understand '${term}'`);
    const field = m[1]!.trim();
    if (!(SELECTABLE_FIELDS as readonly string[]).includes(field))
      throw badRequest(`field label not supported: ${field}`);
    requirements.push({ field: field as Requirement['field'], equal: m[2] !== '!=', value: m[3]!.trim() });
  }
  return (fields) => requirements.every((r) => (fields[r.field] === r.value) === r.equal);
}
