import * as z from 'zod';
import type { ImageStream, ImageStreamMapping, ImageStreamTag, ObjectMeta } from '../../core/api-types';
import { badRequest } from '../../core/errors';

/**
 * Structural decoding of request bodies. Shape errors (wrong JSON types) are 400 BadRequest, as Kubernetes
 * answers undecodable bodies; semantic rules are the domain's validation (422).
 */
export const stringMap = z.record(z.string(), z.string());
/** ObjectMeta as clients send it (every field optional; unknown ones kept). */
export const meta = z
  .object({
    name: z.string().optional(),
    generateName: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: z.number().optional(),
    labels: stringMap.nullish(),
    annotations: stringMap.nullish(),
  })
  .loose();

const objectRef = z
  .object({ kind: z.string().optional(), name: z.string().optional(), namespace: z.string().optional() })
  .loose();

const tagReference = z
  .object({
    name: z.string(),
    annotations: stringMap.nullish(),
    from: objectRef.nullish(),
    reference: z.boolean().optional(),
    generation: z.number().int().nullish(),
    importPolicy: z
      .object({
        insecure: z.boolean().optional(),
        scheduled: z.boolean().optional(),
        importMode: z.string().optional(),
      })
      .loose()
      .nullish(),
    referencePolicy: z.object({ type: z.string() }).loose().nullish(),
  })
  .loose();

const typeMeta = { kind: z.string().optional(), apiVersion: z.string().optional() };

const imageStream = z
  .object({
    ...typeMeta,
    metadata: meta.default({}),
    spec: z
      .object({
        lookupPolicy: z.object({ local: z.boolean().optional() }).loose().nullish(),
        dockerImageRepository: z.string().optional(),
        tags: z.array(tagReference).nullish(),
      })
      .loose()
      .nullish(),
    status: z.unknown().optional(),
  })
  .loose();

const image = z
  .object({
    metadata: meta.default({}),
    dockerImageReference: z.string().optional(),
    dockerImageLayers: z
      .array(z.object({ name: z.string(), size: z.number(), mediaType: z.string() }).loose())
      .nullish(),
    dockerImageManifests: z.array(z.object({ digest: z.string() }).loose()).nullish(),
  })
  .loose();

const imageStreamTag = z
  .object({
    ...typeMeta,
    metadata: meta.default({}),
    tag: tagReference.nullish(),
    generation: z.number().optional(),
    lookupPolicy: z.unknown().optional(),
    conditions: z.unknown().optional(),
    image: image.nullish(),
  })
  .loose();

const imageStreamMapping = z
  .object({ ...typeMeta, metadata: meta.default({}), image: image.nullish(), tag: z.string().optional() })
  .loose();

const importPolicy = z
  .object({
    insecure: z.boolean().optional(),
    scheduled: z.boolean().optional(),
    importMode: z.string().optional(),
  })
  .loose()
  .nullish();
const referencePolicy = z.object({ type: z.string() }).loose().nullish();

const imageStreamImport = z
  .object({
    ...typeMeta,
    metadata: meta.default({}),
    spec: z
      .object({
        import: z.boolean().optional(),
        images: z
          .array(
            z
              .object({
                from: objectRef,
                to: z.object({ name: z.string().optional() }).loose().nullish(),
                importPolicy,
                referencePolicy,
                includeManifest: z.boolean().optional(),
              })
              .loose(),
          )
          .nullish(),
        repository: z
          .object({ from: objectRef, importPolicy, referencePolicy, includeManifest: z.boolean().optional() })
          .loose()
          .nullish(),
      })
      .loose()
      .default({}),
    status: z.unknown().optional(),
  })
  .loose();

const deleteOptions = z
  .object({
    ...typeMeta,
    preconditions: z
      .object({ uid: z.string().nullish(), resourceVersion: z.string().nullish() })
      .loose()
      .nullish(),
  })
  .loose();

/** Decodes a JSON object body with `schema`; a non-object or a shape error is 400 BadRequest naming `kind`. */
export function decode<S extends z.ZodType>(schema: S, body: unknown, kind: string): z.infer<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest(`the request body must be a JSON object (a ${kind})`);
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(`unable to decode ${kind}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export function checkKind(body: { kind?: string; apiVersion?: string }, kind: string): void {
  if (body.kind !== undefined && body.kind !== kind)
    throw badRequest(
      `the kind of the request body is ${JSON.stringify(body.kind)}, expected ${JSON.stringify(kind)}`,
    );
  if (
    body.apiVersion !== undefined &&
    body.apiVersion !== 'image.openshift.io/v1' &&
    body.apiVersion !== 'v1'
  )
    throw badRequest(
      `unsupported apiVersion ${JSON.stringify(body.apiVersion)} for ${kind}; use image.openshift.io/v1`,
    );
}

export const decodeImageStream = (body: unknown) =>
  decode(imageStream, body, 'ImageStream') as unknown as Omit<ImageStream, 'spec' | 'metadata'> & {
    metadata: ObjectMeta;
    spec?: ImageStream['spec'] | null;
  };
export const decodeImageStreamTag = (body: unknown) =>
  decode(imageStreamTag, body, 'ImageStreamTag') as unknown as Partial<ImageStreamTag> & {
    metadata: ObjectMeta;
  };
export const decodeImageStreamMapping = (body: unknown) =>
  decode(imageStreamMapping, body, 'ImageStreamMapping') as unknown as Partial<ImageStreamMapping> & {
    metadata: ObjectMeta;
  };
export const decodeImageStreamImport = (body: unknown) =>
  decode(imageStreamImport, body, 'ImageStreamImport');
export type DecodedImageStreamImport = ReturnType<typeof decodeImageStreamImport>;
export const decodeDeleteOptions = (body: unknown) =>
  body === undefined || body === null ? {} : decode(deleteOptions, body, 'DeleteOptions');
