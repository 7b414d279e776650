import * as z from 'zod';
import {
  image,
  imageStream,
  imageStreamImport,
  imageStreamMapping,
  imageStreamSpec,
  imageStreamTag,
  meta,
  OPENAPI_NAMES,
  typeMeta,
} from '../app/shared/decode';
import { API_GROUPS } from '../core/access/rules';
import { IMAGE_API_GROUP } from '../core/api-types';

/**
 * The schemas of the served OpenAPI documents (functions/http/openapi.ts), by definition name. What requests
 * carry is the decode module's own schemas (functions/app/shared/decode.ts: the server validates with them), with
 * OpenShift's descriptions attached there; what only the server writes (status) is described here, with OpenShift's
 * descriptions too. Kinds this service keeps from Kubernetes without modelling them (Secret, RoleBinding, …) are
 * objects with their type and object metadata, whose other fields are kept as sent.
 */

const OPENSHIFT_IMAGE = 'com.github.openshift.api.image.v1';
const gvk = (group: string, kind: string) => ({
  'x-kubernetes-group-version-kind': [{ group, version: 'v1', kind }],
});

const time = () => z.string().meta({ format: 'date-time' });

const tagEventCondition = z
  .object({
    type: z.string().describe('Type of tag event condition, currently only ImportSuccess'),
    status: z.string().describe('Status of the condition, one of True, False, Unknown.'),
    lastTransitionTime: time()
      .optional()
      .describe('LastTransitionTIme is the time the condition transitioned from one status to another.'),
    reason: z
      .string()
      .optional()
      .describe("Reason is a brief machine readable explanation for the condition's last transition."),
    message: z
      .string()
      .optional()
      .describe(
        'Message is a human readable description of the details about last transition, complementing reason.',
      ),
    generation: z
      .number()
      .int()
      .describe('Generation is the spec tag generation that this status corresponds to'),
  })
  .meta({
    id: `${OPENSHIFT_IMAGE}.TagEventCondition`,
    description: 'TagEventCondition contains condition information for a tag event.',
  });

const tagEvent = z
  .object({
    created: time().describe('Created holds the time the TagEvent was created'),
    dockerImageReference: z
      .string()
      .describe('DockerImageReference is the string that can be used to pull this image'),
    image: z.string().describe('Image is the image'),
    generation: z
      .number()
      .int()
      .describe('Generation is the spec tag generation that resulted in this tag being updated'),
    platforms: z
      .array(z.string())
      .optional()
      .describe(
        'Platforms is all platforms supported by the image in this tag as a list of "os/architecture" strings',
      ),
  })
  .meta({
    id: `${OPENSHIFT_IMAGE}.TagEvent`,
    description:
      'TagEvent is used by ImageStreamStatus to keep a historical record of images associated with a tag.',
  });

const namedTagEventList = z
  .object({
    tag: z.string().describe('Tag is the tag for which the history is recorded'),
    items: z.array(tagEvent).describe("Standard object's metadata."),
    conditions: z
      .array(tagEventCondition)
      .optional()
      .describe('Conditions is an array of conditions that apply to the tag event list.'),
  })
  .meta({
    id: `${OPENSHIFT_IMAGE}.NamedTagEventList`,
    description: 'NamedTagEventList relates a tag to its image history.',
  });

const imageStreamStatus = z
  .object({
    dockerImageRepository: z
      .string()
      .describe(
        'DockerImageRepository represents the effective location this stream may be accessed at. May be empty until the server determines where the repository is located',
      ),
    publicDockerImageRepository: z
      .string()
      .optional()
      .describe(
        'PublicDockerImageRepository represents the public location from where the image can be pulled outside the cluster. This field may be empty if the administrator has not exposed the integrated registry externally.',
      ),
    tags: z
      .array(namedTagEventList)
      .optional()
      .describe(
        'Tags are a historical record of images associated with each tag. The first entry in the TagEvent array is the currently tagged image.',
      )
      .meta({
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['tag'],
        'x-kubernetes-patch-merge-key': 'tag',
        'x-kubernetes-patch-strategy': 'merge',
      }),
  })
  .meta({
    id: `${OPENSHIFT_IMAGE}.ImageStreamStatus`,
    description: 'ImageStreamStatus contains information about the state of this image stream.',
  });

const imageSchema = image
  .extend({
    ...typeMeta,
    dockerImageMetadata: z
      .object({})
      .loose()
      .optional()
      .describe('DockerImageMetadata contains metadata about this image')
      .meta({ 'x-kubernetes-preserve-unknown-fields': true }),
    dockerImageMetadataVersion: z
      .string()
      .optional()
      .describe(
        'DockerImageMetadataVersion conveys the version of the object, which if empty defaults to "1.0"',
      ),
    dockerImageManifest: z
      .string()
      .optional()
      .describe('DockerImageManifest is the raw JSON of the manifest'),
    dockerImageManifestMediaType: z
      .string()
      .optional()
      .describe(
        'DockerImageManifestMediaType specifies the mediaType of manifest. This is a part of manifest schema v2.',
      ),
    dockerImageConfig: z
      .string()
      .optional()
      .describe(
        'DockerImageConfig is a JSON blob that the runtime uses to set up the container. This is a part of manifest schema v2. Will not be set when the image represents a manifest list.',
      ),
    signatures: z
      .array(z.object({}).loose())
      .optional()
      .describe('Signatures holds all signatures of the image.'),
    dockerImageSignatures: z
      .array(z.string())
      .optional()
      .describe(
        'DockerImageSignatures provides the signatures as opaque blobs. This is a part of manifest schema v1.',
      ),
  })
  .meta({
    id: `${OPENSHIFT_IMAGE}.Image`,
    description:
      'Image is an immutable representation of a container image and metadata at a point in time. Images are named by taking a hash of their contents (metadata and content) and any change in format, content, or metadata results in a new name.',
    ...gvk(IMAGE_API_GROUP, 'Image'),
  });

const listMeta = z
  .object({
    resourceVersion: z.string().optional(),
    continue: z.string().optional(),
    remainingItemCount: z.number().int().optional(),
  })
  .meta({
    id: 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta',
    description: 'ListMeta describes metadata that synthetic resources must have.',
  });

/** A list kind: its items and the list's metadata. */
function listOf(kind: string, id: string, item: z.ZodType, group: string) {
  return z
    .object({
      ...typeMeta,
      metadata: listMeta.optional(),
      items: z.array(item).describe(`Items is a list of ${kind} objects`),
    })
    .meta({
      id: `${id}List`,
      description: `${kind}List is a list of ${kind} objects.`,
      ...gvk(group, `${kind}List`),
    });
}

/** A Kubernetes kind kept as sent: its type, its object metadata, and any other field. */
function keptKind(id: string, group: string, kind: string, description: string) {
  return z
    .object({ ...typeMeta, metadata: meta.optional() })
    .loose()
    .meta({ id, description, 'x-kubernetes-preserve-unknown-fields': true, ...gvk(group, kind) });
}

const imageStreamSchema = imageStream
  .extend({
    status: imageStreamStatus.optional().describe('Status describes the current state of this stream'),
  })
  .meta({
    id: OPENAPI_NAMES.imageStream,
    description:
      'An ImageStream stores a mapping of tags to images, metadata overrides that are applied when images are tagged in a stream, and an optional reference to a container image repository on a registry. Users typically update the spec.tags field to point to external images which are imported from container registries using credentials in your namespace with the pull secret type, or to existing image stream tags and images which are immediately accessible for tagging or pulling. The history of images applied to a tag is visible in the status.tags field and any user who can view an image stream is allowed to tag that image into their own image streams.',
    ...gvk(IMAGE_API_GROUP, 'ImageStream'),
  });

const imageStreamTagSchema = imageStreamTag
  .extend({
    lookupPolicy: imageStreamSpec.shape.lookupPolicy.describe(
      'lookupPolicy indicates whether this tag will handle image references in this namespace.',
    ),
    generation: z
      .number()
      .int()
      .optional()
      .describe(
        'generation is the current generation of the tagged image - if tag is provided and this value is not equal to the tag generation, a user has requested an import that has not completed, or conditions will be filled out indicating any error.',
      ),
    image: imageSchema.optional().describe('image associated with the ImageStream and tag.'),
    conditions: z
      .array(tagEventCondition)
      .optional()
      .describe('conditions is an array of conditions that apply to the image stream tag.'),
  })
  .meta({
    id: `${OPENSHIFT_IMAGE}.ImageStreamTag`,
    description:
      'ImageStreamTag represents an Image that is retrieved by tag name from an ImageStream. Use this resource to interact with the tags and images in an image stream by tag, or to see the image details for a particular tag.',
    ...gvk(IMAGE_API_GROUP, 'ImageStreamTag'),
  });

/** The schema of each kind, by kind, as routes answer and take them. */
export const KIND_SCHEMAS: ReadonlyMap<string, z.ZodType> = new Map<string, z.ZodType>([
  ['ImageStream', imageStreamSchema],
  ['ImageStreamList', listOf('ImageStream', OPENAPI_NAMES.imageStream, imageStreamSchema, IMAGE_API_GROUP)],
  ['ImageStreamTag', imageStreamTagSchema],
  [
    'ImageStreamTagList',
    listOf('ImageStreamTag', `${OPENSHIFT_IMAGE}.ImageStreamTag`, imageStreamTagSchema, IMAGE_API_GROUP),
  ],
  ['Image', imageSchema],
  [
    'ImageStreamImage',
    z
      .object({
        ...typeMeta,
        metadata: meta.optional(),
        image: imageSchema.optional().describe('Image associated with the ImageStream and image name.'),
      })
      .meta({
        id: `${OPENSHIFT_IMAGE}.ImageStreamImage`,
        description:
          'ImageStreamImage represents an Image that is retrieved by image name from an ImageStream.',
        ...gvk(IMAGE_API_GROUP, 'ImageStreamImage'),
      }),
  ],
  [
    'ImageStreamMapping',
    imageStreamMapping.meta({
      id: `${OPENSHIFT_IMAGE}.ImageStreamMapping`,
      description:
        'ImageStreamMapping represents a mapping from a single image stream tag to a container image as well as the reference to the container image stream the image came from.',
      ...gvk(IMAGE_API_GROUP, 'ImageStreamMapping'),
    }),
  ],
  [
    'ImageStreamImport',
    imageStreamImport.meta({
      id: `${OPENSHIFT_IMAGE}.ImageStreamImport`,
      description:
        'The image stream import resource provides an easy way for a user to find and import container images from other container image registries into the server.',
      ...gvk(IMAGE_API_GROUP, 'ImageStreamImport'),
    }),
  ],
  [
    'ImageStreamTagHistory',
    keptKind(
      'io.imagestreams.v1.ImageStreamTagHistory',
      API_GROUPS.extension,
      'ImageStreamTagHistory',
      "A tag's whole history, newest first, in pages (limit, continue).",
    ),
  ],
  [
    'Secret',
    keptKind(
      'io.k8s.api.core.v1.Secret',
      '',
      'Secret',
      'Secret holds registry credentials (kubernetes.io/dockerconfigjson); their data is never returned once written.',
    ),
  ],
  ['SecretList', listOf('Secret', 'io.k8s.api.core.v1.Secret', z.object({}).loose(), '')],
  [
    'RoleBinding',
    keptKind(
      'io.k8s.api.rbac.v1.RoleBinding',
      API_GROUPS.rbac,
      'RoleBinding',
      'RoleBinding references a role, and contains a list of subjects it applies to in its namespace.',
    ),
  ],
  [
    'RoleBindingList',
    listOf('RoleBinding', 'io.k8s.api.rbac.v1.RoleBinding', z.object({}).loose(), API_GROUPS.rbac),
  ],
  [
    'Project',
    keptKind(
      'com.github.openshift.api.project.v1.Project',
      API_GROUPS.project,
      'Project',
      'Projects are the unit of isolation and collaboration.',
    ),
  ],
  [
    'ProjectList',
    listOf(
      'Project',
      'com.github.openshift.api.project.v1.Project',
      z.object({}).loose(),
      API_GROUPS.project,
    ),
  ],
  [
    'ProjectRequest',
    keptKind(
      'com.github.openshift.api.project.v1.ProjectRequest',
      API_GROUPS.project,
      'ProjectRequest',
      'ProjectRequest is the set of options necessary to fully qualify a project request.',
    ),
  ],
  [
    'User',
    keptKind(
      'com.github.openshift.api.user.v1.User',
      API_GROUPS.user,
      'User',
      'User describes someone that makes requests to the API.',
    ),
  ],
  [
    'SelfSubjectAccessReview',
    keptKind(
      'io.k8s.api.authorization.v1.SelfSubjectAccessReview',
      API_GROUPS.authorization,
      'SelfSubjectAccessReview',
      'SelfSubjectAccessReview checks whether or the current user can perform an action.',
    ),
  ],
  [
    'SelfSubjectRulesReview',
    keptKind(
      'io.k8s.api.authorization.v1.SelfSubjectRulesReview',
      API_GROUPS.authorization,
      'SelfSubjectRulesReview',
      'SelfSubjectRulesReview enumerates the set of actions the current user can perform within a namespace.',
    ),
  ],
  [
    'Status',
    z
      .object({
        ...typeMeta,
        status: z.string().optional(),
        message: z.string().optional(),
        reason: z.string().optional(),
        code: z.number().int().optional(),
      })
      .loose()
      .meta({
        id: 'io.k8s.apimachinery.pkg.apis.meta.v1.Status',
        description: 'Status is a return value for calls that do not return other objects.',
      }),
  ],
]);
