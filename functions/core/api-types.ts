import type { Status } from './errors';
import type { ManagedFieldsEntry } from './managed-fields';
/**
 * Wire shapes of `image.openshift.io/v1`, field for field, so ImageStream YAML written for OpenShift works here
 * unchanged. Optional fields follow Go's `omitempty`.
 */

export const IMAGE_API_GROUP = 'image.openshift.io';
export const IMAGE_API_VERSION = 'image.openshift.io/v1';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: ManagedFieldsEntry[];
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export type FromKind = 'DockerImage' | 'ImageStreamTag' | 'ImageStreamImage';

export interface ObjectReference {
  kind?: string;
  name?: string;
  namespace?: string;
}

export type ImportMode = 'Legacy' | 'PreserveOriginal' | '';

export interface TagImportPolicy {
  insecure?: boolean;
  scheduled?: boolean;
  importMode?: ImportMode;
}

export interface TagReferencePolicy {
  type: 'Source' | 'Local' | string;
}

export interface TagReference {
  name: string;
  annotations?: Record<string, string> | null;
  from?: ObjectReference | null;
  reference?: boolean;
  generation?: number | null;
  importPolicy?: TagImportPolicy;
  referencePolicy?: TagReferencePolicy;
}

export interface TagEvent {
  created: string;
  dockerImageReference: string;
  image: string;
  generation: number;
}

export interface TagEventCondition {
  type: 'ImportSuccess';
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
  generation: number;
}

export interface NamedTagEventList {
  tag: string;
  items: TagEvent[] | null;
  conditions?: TagEventCondition[];
}

export interface ImageLookupPolicy {
  local: boolean;
}

export interface ImageStreamSpec {
  lookupPolicy?: ImageLookupPolicy;
  dockerImageRepository?: string;
  tags?: TagReference[];
}

export interface ImageStreamStatus {
  dockerImageRepository: string;
  publicDockerImageRepository?: string;
  tags?: NamedTagEventList[];
}

export interface ImageStream {
  kind: 'ImageStream';
  apiVersion: typeof IMAGE_API_VERSION;
  metadata: ObjectMeta;
  spec: ImageStreamSpec;
  status?: ImageStreamStatus;
}

export interface ImageLayer {
  name: string;
  size: number;
  mediaType: string;
}

export interface ImageManifest {
  digest: string;
  mediaType: string;
  manifestSize: number;
  architecture: string;
  os: string;
  variant?: string;
}

export interface Image {
  kind?: 'Image';
  apiVersion?: typeof IMAGE_API_VERSION;
  metadata: ObjectMeta;
  dockerImageReference: string;
  dockerImageMetadata?: Record<string, unknown>;
  dockerImageMetadataVersion?: string;
  dockerImageManifest?: string;
  dockerImageConfig?: string;
  dockerImageManifestMediaType?: string;
  dockerImageLayers?: ImageLayer[];
  dockerImageManifests?: ImageManifest[];
  dockerImageSignatures?: string[];
  signatures?: unknown[];
}

export interface ImageStreamTag {
  kind: 'ImageStreamTag';
  apiVersion: typeof IMAGE_API_VERSION;
  metadata: ObjectMeta;
  tag: TagReference | null;
  generation: number;
  lookupPolicy: ImageLookupPolicy;
  conditions?: TagEventCondition[];
  image: Image;
}

export interface ImageStreamImage {
  kind: 'ImageStreamImage';
  apiVersion: typeof IMAGE_API_VERSION;
  metadata: ObjectMeta;
  image: Image;
}

export interface ImageStreamMapping {
  kind?: 'ImageStreamMapping';
  apiVersion?: string;
  metadata: ObjectMeta;
  image: Image;
  tag: string;
}

export interface List<T> {
  kind: string;
  apiVersion: string;
  metadata: ListMeta;
  items: T[];
}

/** Extension (group `imagestreams.io`): a tag's full history, newest first, paginated. */
export const EXTENSION_API_GROUP = 'imagestreams.io';
export const EXTENSION_API_VERSION = 'imagestreams.io/v1';

export interface ImageStreamTagHistory {
  kind: 'ImageStreamTagHistory';
  apiVersion: typeof EXTENSION_API_VERSION;
  metadata: ObjectMeta & { continue?: string };
  /** Number of events in the whole history. */
  total: number;
  items: TagHistoryEntry[];
}

/** A history entry of the extension API: OpenShift's TagEvent plus who wrote it (audit). */
export interface TagHistoryEntry extends TagEvent {
  /** The user (or `system:imagestreams:*` actor) whose write recorded this entry. */
  by: string;
}

export interface ImageImportSpec {
  from: ObjectReference;
  to?: { name?: string } | null;
  importPolicy?: TagImportPolicy;
  referencePolicy?: TagReferencePolicy;
  includeManifest?: boolean;
}

export interface RepositoryImportSpec {
  from: ObjectReference;
  importPolicy?: TagImportPolicy;
  referencePolicy?: TagReferencePolicy;
  includeManifest?: boolean;
}

export interface ImageImportStatus {
  status: Status;
  image?: Image;
  tag?: string;
  manifests?: Image[];
}

export interface RepositoryImportStatus {
  status: Status;
  images?: ImageImportStatus[];
  additionalTags?: string[];
}

export interface ImageStreamImport {
  kind: 'ImageStreamImport';
  apiVersion: typeof IMAGE_API_VERSION;
  metadata: ObjectMeta;
  spec: { import: boolean; images?: ImageImportSpec[]; repository?: RepositoryImportSpec | null };
  status: { import?: ImageStream; images?: ImageImportStatus[]; repository?: RepositoryImportStatus };
}
