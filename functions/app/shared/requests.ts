import { randomBytes } from 'node:crypto';
import { badRequest } from '../../core/errors';
import { parseImageStreamTagName } from '../../core/imagestream/names';
import { validateNamespaceName } from '../../core/imagestream/validation';

/** Checks every use case makes of a request before it reads anything with it. */

/** Options every write use case takes (Kubernetes' CreateOptions, UpdateOptions, PatchOptions, DeleteOptions). */
export interface WriteOptions {
  /**
   * `dryRun=All`: every check runs (validation, authorization-dependent checks, preconditions, AlreadyExists,
   * NotFound), nothing is written (no record, no event, no job), and the answer is what would have been written.
   */
  dryRun?: boolean;
  /**
   * Who makes the write, for field ownership (`metadata.managedFields`): the `fieldManager` query parameter, else the
   * client's User-Agent up to its first `/` (`kubectl`), as kube-apiserver defaults it.
   */
  fieldManager?: string;
  /** `force=true` on an apply: take the fields other managers own instead of answering a conflict. */
  force?: boolean;
  /** `fieldValidation`: what unknown fields in the body get (Kubernetes' default: Warn). */
  fieldValidation?: FieldValidation;
  /** Keys the body's JSON text gave twice (the last one counts), for `fieldValidation`. */
  duplicateFields?: string[];
  /** Where a use case puts the warnings its answer carries (`Warning: 299 - "..."` headers). */
  warnings?: string[];
}

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** A namespace that is not a DNS label is 400, as Kubernetes answers it. */
export function requireNamespace(ns: string): void {
  const why = validateNamespaceName(ns);
  if (why) throw badRequest(why);
}

/** A body may name its namespace, but only the one of the path (400 otherwise, as Kubernetes answers). */
export function checkNamespace(metadata: { namespace?: string | undefined }, ns: string): void {
  if (metadata.namespace && metadata.namespace !== ns)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
}

/**
 * `<stream>:<tag>` exactly, else 400: OpenShift's ImageStreamTag names have exactly one colon
 * (docs/semantics.md#istag-names).
 */
export function splitTagName(name: string): { stream: string; tag: string } {
  const parsed = parseImageStreamTagName(name);
  if (!parsed) throw badRequest('ImageStreamTags must be retrieved with <name>:<tag>');
  return parsed;
}

/** `prefix` plus five random characters from Kubernetes' generateName alphabet (no vowels, no look-alikes). */
export function generateName(prefix: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return prefix + [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** `fn` over `items` with at most `concurrency` calls in flight, results in item order. */
export async function mapLimited<T, R>(
  items: T[],
  concurrency: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
