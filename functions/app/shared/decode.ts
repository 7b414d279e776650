import * as z from 'zod';
import type { ImageStream, ImageStreamMapping, ImageStreamTag, ObjectMeta } from '../../core/api-types';
import { badRequest } from '../../core/errors';
import { checkNamespace, requireNamespace } from './requests';

/**
 * Structural decoding of request bodies. Shape errors (wrong JSON types) are 400 BadRequest, as Kubernetes
 * answers undecodable bodies; semantic rules are the domain's validation (422).
 */
export const stringMap = z.record(z.string(), z.string());

/**
 * The names the served OpenAPI documents give these schemas (functions/http/openapi.ts): OpenShift's and
 * Kubernetes' definition names, so clients that know OpenShift's types recognise them.
 */
export const OPENAPI_NAMES = {
  objectMeta: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
  objectReference: 'io.k8s.api.core.v1.ObjectReference',
  imageStream: 'com.github.openshift.api.image.v1.ImageStream',
  imageStreamSpec: 'com.github.openshift.api.image.v1.ImageStreamSpec',
  imageLookupPolicy: 'com.github.openshift.api.image.v1.ImageLookupPolicy',
  tagReference: 'com.github.openshift.api.image.v1.TagReference',
  tagImportPolicy: 'com.github.openshift.api.image.v1.TagImportPolicy',
  tagReferencePolicy: 'com.github.openshift.api.image.v1.TagReferencePolicy',
} as const;

/** ObjectMeta as clients send it (every field optional; unknown ones kept). */
export const meta = z
  .object({
    name: z
      .string()
      .optional()
      .describe(
        'Name must be unique within a namespace. It is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Cannot be updated.',
      ),
    generateName: z
      .string()
      .optional()
      .describe(
        'An optional prefix used by the server to generate a unique name ONLY IF the Name field has not been provided.',
      ),
    namespace: z
      .string()
      .optional()
      .describe('Namespace defines the space within which each name must be unique. Cannot be updated.'),
    uid: z
      .string()
      .optional()
      .describe(
        'UID is the unique in time and space value for this object. Populated by the system. Read-only.',
      ),
    resourceVersion: z
      .string()
      .optional()
      .describe(
        'An opaque value that represents the internal version of this object that can be used by clients to determine when objects have changed. Populated by the system. Read-only.',
      ),
    generation: z
      .number()
      .optional()
      .describe(
        'A sequence number representing a specific generation of the desired state. Populated by the system. Read-only.',
      ),
    labels: stringMap
      .nullish()
      .describe(
        'Map of string keys and values that can be used to organize and categorize (scope and select) objects.',
      ),
    annotations: stringMap
      .nullish()
      .describe(
        'Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata.',
      ),
    // Set by the server; clients send them back unchanged (a read object applied again), and they are ignored.
    creationTimestamp: z
      .unknown()
      .optional()
      .describe(
        'CreationTimestamp is a timestamp representing the server time when this object was created.',
      ),
    deletionTimestamp: z
      .unknown()
      .optional()
      .describe('DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.'),
    deletionGracePeriodSeconds: z
      .unknown()
      .optional()
      .describe(
        'Number of seconds allowed for this object to gracefully terminate before it will be removed.',
      ),
    ownerReferences: z.unknown().optional().describe('List of objects depended by this object.'),
    finalizers: z
      .unknown()
      .optional()
      .describe('Must be empty before the object is deleted from the registry.'),
    managedFields: z
      .unknown()
      .optional()
      .describe(
        'ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.',
      ),
    selfLink: z
      .unknown()
      .optional()
      .describe('Deprecated: selfLink is a legacy read-only field that is no longer populated.'),
  })
  .loose()
  .meta({
    id: OPENAPI_NAMES.objectMeta,
    description:
      'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
  });

const objectRef = z
  .object({
    kind: z.string().optional().describe('Kind of the referent.'),
    name: z.string().optional().describe('Name of the referent.'),
    namespace: z.string().optional().describe('Namespace of the referent.'),
  })
  .loose()
  .meta({
    id: OPENAPI_NAMES.objectReference,
    description:
      'ObjectReference contains enough information to let you inspect or modify the referred object.',
  });

const tagImportPolicy = z
  .object({
    insecure: z
      .boolean()
      .optional()
      .describe(
        'Insecure is true if the server may bypass certificate verification or connect directly over HTTP during image import.',
      ),
    scheduled: z
      .boolean()
      .optional()
      .describe(
        'Scheduled indicates to the server that this tag should be periodically checked to ensure it is up to date, and imported',
      ),
    importMode: z.string().optional().describe('ImportMode describes how to import an image manifest.'),
  })
  .loose()
  .meta({
    id: OPENAPI_NAMES.tagImportPolicy,
    description: 'TagImportPolicy controls how images related to this tag will be imported.',
  });

const tagReferencePolicy = z
  .object({
    type: z
      .string()
      .describe(
        "Type determines how the image pull spec should be transformed when the image stream tag is used in deployment config triggers or new builds. The default value is `Source`, indicating the original location of the image should be used (if imported). The user may also specify `Local`, indicating that the pull spec should point to the integrated container image registry and leverage the registry's ability to proxy the pull to an upstream registry. `Local` allows the credentials used to pull this image to be managed from the image stream's namespace, so others on the platform can access a remote image but have no access to the remote secret. It also allows the image layers to be mirrored into the local registry which the images can still be pulled even if the upstream registry is unavailable.",
      ),
  })
  .loose()
  .meta({
    id: OPENAPI_NAMES.tagReferencePolicy,
    description:
      'TagReferencePolicy describes how pull-specs for images in this image stream tag are generated when image change triggers in deployment configs or builds are resolved. This allows the image stream author to control how images are accessed.',
  });

const importPolicy = tagImportPolicy.nullish();
const referencePolicy = tagReferencePolicy.nullish();

export const tagReference = z
  .object({
    name: z.string().describe('Name of the tag'),
    annotations: stringMap
      .nullish()
      .describe(
        'Optional; if specified, annotations that are applied to images retrieved via ImageStreamTags.',
      ),
    from: objectRef
      .nullish()
      .describe(
        'Optional; if specified, a reference to another image that this tag should point to. Valid values are ImageStreamTag, ImageStreamImage, and DockerImage.  ImageStreamTag references can only reference a tag within this same ImageStream.',
      ),
    reference: z
      .boolean()
      .optional()
      .describe(
        'Reference states if the tag will be imported. Default value is false, which means the tag will be imported.',
      ),
    generation: z
      .number()
      .int()
      .nullish()
      .describe(
        'Generation is a counter that tracks mutations to the spec tag (user intent). When a tag reference is changed the generation is set to match the current stream generation (which is incremented every time spec is changed). Other processes in the system like the image importer observe that the generation of spec tag is newer than the generation recorded in the status and use that as a trigger to import the newest remote tag. To trigger a new import, clients may set this value to zero which will reset the generation to the latest stream generation. Legacy clients will send this value as nil which will be merged with the current tag generation.',
      ),
    importPolicy: importPolicy.describe(
      'ImportPolicy is information that controls how images may be imported by the server.',
    ),
    referencePolicy: referencePolicy.describe(
      'ReferencePolicy defines how other components should consume the image.',
    ),
  })
  .loose()
  .meta({
    id: OPENAPI_NAMES.tagReference,
    description:
      'TagReference specifies optional annotations for images using this tag and an optional reference to an ImageStreamTag, ImageStreamImage, or DockerImage this tag should track.',
  });

export const typeMeta = {
  kind: z
    .string()
    .optional()
    .describe('Kind is a string value representing the REST resource this object represents.'),
  apiVersion: z
    .string()
    .optional()
    .describe('APIVersion defines the versioned schema of this representation of an object.'),
};

const imageLookupPolicy = z
  .object({
    local: z
      .boolean()
      .optional()
      .describe(
        'local will change the docker short image references (like "mysql" or "php:latest") on objects in this namespace to the image ID whenever they match this image stream, instead of reaching out to a remote registry. The name will be fully qualified to an image ID if found. The tag\'s referencePolicy is taken into account on the replaced value. Only works within the current namespace.',
      ),
  })
  .loose()
  .meta({
    id: OPENAPI_NAMES.imageLookupPolicy,
    description:
      'ImageLookupPolicy describes how an image stream can be used to override the image references used by pods, builds, and other resources in a namespace.',
  });

export const imageStreamSpec = z
  .object({
    lookupPolicy: imageLookupPolicy
      .nullish()
      .describe('lookupPolicy controls how other resources reference images within this namespace.'),
    dockerImageRepository: z
      .string()
      .optional()
      .describe(
        'dockerImageRepository is optional, if specified this stream is backed by a container repository on this server Deprecated: This field is deprecated as of v3.7 and will be removed in a future release. Specify the source for the tags to be imported in each tag via the spec.tags.from reference instead.',
      ),
    tags: z
      .array(tagReference)
      .nullish()
      .describe('tags map arbitrary string values to specific image locators')
      .meta({
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        'x-kubernetes-patch-merge-key': 'name',
        'x-kubernetes-patch-strategy': 'merge',
      }),
  })
  .loose()
  .meta({
    id: OPENAPI_NAMES.imageStreamSpec,
    description: 'ImageStreamSpec represents options for ImageStreams.',
  });

export const imageStream = z
  .object({
    ...typeMeta,
    metadata: meta.default({}),
    spec: imageStreamSpec.nullish().describe('Spec describes the desired state of this stream'),
    status: z.unknown().optional(),
  })
  .loose();

export const image = z
  .object({
    metadata: meta.default({}),
    dockerImageReference: z.string().optional(),
    dockerImageLayers: z
      .array(z.object({ name: z.string(), size: z.number(), mediaType: z.string() }).loose())
      .nullish(),
    dockerImageManifests: z.array(z.object({ digest: z.string() }).loose()).nullish(),
  })
  .loose();

export const imageStreamTag = z
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

export const imageStreamMapping = z
  .object({ ...typeMeta, metadata: meta.default({}), image: image.nullish(), tag: z.string().optional() })
  .loose();

export const imageStreamImport = z
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

/**
 * The body of a write to a namespaced image object, in the order the edge promises: the path's namespace is a valid
 * name, the body decodes, names `kind` (or nothing) and no namespace but the path's.
 */
export function decodeNamespaced<
  T extends { kind?: string; apiVersion?: string; metadata: { namespace?: string | undefined } },
>(ns: string, rawBody: unknown, decode: (raw: unknown) => T, kind: string): T {
  requireNamespace(ns);
  const body = decode(rawBody);
  checkKind(body, kind);
  checkNamespace(body.metadata, ns);
  return body;
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
