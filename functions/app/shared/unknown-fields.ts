import type * as z from 'zod';
import { badRequest } from '../../core/errors';
import type { WriteOptions } from './requests';

/**
 * Unknown fields of a body, as kube-apiserver's `fieldValidation` treats them: the decoders keep them (they are
 * ignored), and this says which they were, by their path (`spec.tags[0].fromm`), from the same zod schema the body
 * is decoded with.
 */
export function unknownFields(schema: z.ZodType, value: unknown): string[] {
  const out: string[] = [];
  walk(schema, value, '', out);
  return out;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  in?: z.ZodType;
}

const defOf = (s: z.ZodType) => (s as unknown as { def: Def }).def;

function walk(schema: z.ZodType, value: unknown, path: string, out: string[]): void {
  let s = schema;
  for (let d = defOf(s); d.innerType || d.type === 'pipe'; d = defOf(s)) s = (d.innerType ?? d.in)!;
  const def = defOf(s);
  if (
    def.type === 'object' &&
    def.shape &&
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value)
  ) {
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${k}` : k;
      const field = def.shape[k];
      if (field) walk(field, v, at, out);
      else out.push(at);
    }
  } else if (def.type === 'array' && def.element && Array.isArray(value)) {
    value.forEach((v, i) => {
      walk(def.element!, v, `${path}[${i}]`, out);
    });
  }
}

/**
 * Applies the write's `fieldValidation` to a body of `kind`: Strict refuses unknown and duplicate fields (400,
 * Kubernetes' message), Warn (the default) answers with a warning per field, Ignore says nothing.
 */
export function checkFields(schema: z.ZodType, kind: string, value: unknown, opts: WriteOptions): void {
  if (!opts.fieldValidation || opts.fieldValidation === 'Ignore') return;
  const texts = [
    ...(opts.duplicateFields ?? []).map((f) => `duplicate field ${JSON.stringify(f)}`),
    ...unknownFields(schema, value).map((f) => `unknown field ${JSON.stringify(f)}`),
  ];
  if (!texts.length) return;
  if (opts.fieldValidation === 'Strict')
    throw badRequest(
      `${kind} in version "v1" cannot be handled as a ${kind}: strict decoding error: ${texts.join(', ')}`,
    );
  opts.warnings?.push(...texts);
}
