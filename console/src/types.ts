/**
 * Wire shapes the console reads. The image API's come from the service's own definitions (types only: nothing
 * of the server is bundled); projects, role bindings and "who am I" are Kubernetes/OpenShift shapes the service
 * serves but does not export as types.
 */
import type { ImageImportStatus } from '../../functions/core/api-types';

export type {
  ImageStream,
  ImageStreamImport,
  ImageStreamTag,
  ImageStreamTagHistory,
  List,
  NamedTagEventList,
  TagEvent,
  TagEventCondition,
  TagHistoryEntry,
  TagReference,
} from '../../functions/core/api-types';

/** A Kubernetes `metav1.Status`, as every error answer carries it. */
export type Status = ImageImportStatus['status'];

export interface Project {
  kind: 'Project';
  metadata: { name: string; creationTimestamp?: string; annotations?: Record<string, string> };
  status?: { phase?: string };
}

export interface Subject {
  kind: string;
  apiGroup?: string;
  name: string;
  namespace?: string;
}

export interface RoleBinding {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string; creationTimestamp?: string };
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects?: Subject[];
}

export interface User {
  metadata: { name: string };
  groups?: string[];
}
