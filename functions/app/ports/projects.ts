import type { Binding, Subject } from '../../core/access/rules';

/**
 * The project repository: projects (namespaces) and their role bindings. functions/store/project-store.ts
 * implements it on DynamoDB.
 */
export interface ProjectRepository {
  /**
   * The project and its bindings in one consistent read (project undefined when there is none). With `maxAgeMs`
   * a read this process made within that time may answer instead.
   */
  access(ns: string, opts?: { maxAgeMs?: number }): Promise<ProjectAccessRecord>;
  getProject(ns: string): Promise<ProjectRecord | undefined>;
  /** Creates a project with its first bindings; ProjectWriteConflict('exists') when the name is taken. */
  createProject(p: ProjectRecord, bindings: BindingRecord[]): Promise<void>;
  listAll(opts: {
    limit: number;
    after?: string | undefined;
  }): Promise<{ items: ProjectRecord[]; more: boolean }>;
  /** The namespaces where any of `subjects` is bound, with the roles bound there. */
  bindingsOf(subjects: Subject[]): Promise<Map<string, Set<string>>>;
  /** Marks a project Terminating; ProjectWriteConflict('missing') when there is none. */
  markTerminating(ns: string, by: string): Promise<ProjectRecord>;
  removeProject(ns: string): Promise<void>;
  getBinding(ns: string, name: string): Promise<BindingRecord | undefined>;
  createBinding(b: BindingRecord): Promise<void>;
  updateBinding(old: BindingRecord, next: BindingRecord): Promise<void>;
  deleteBinding(b: BindingRecord): Promise<void>;
  listBindings(
    ns: string,
    opts: { limit: number; after?: string | undefined },
  ): Promise<{ items: BindingRecord[]; more: boolean }>;
}

export type ProjectPhase = 'Active' | 'Terminating';

/** A project (namespace) as stored: PK `PRJ#<ns>`, SK `PRJ`; its role bindings share the partition. */
export interface ProjectRecord {
  name: string;
  uid: string;
  resourceVersion: number;
  creationTimestamp: string;
  /** Who requested it (OpenShift's `openshift.io/requester`). */
  requester: string;
  displayName: string;
  description: string;
  phase: ProjectPhase;
  /** Who last changed the record (audit). */
  by: string;
}

/** A RoleBinding as stored: PK `PRJ#<ns>`, SK `RB#<name>`. */
export interface BindingRecord extends Binding {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: number;
  creationTimestamp: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  by: string;
}

export interface ProjectAccessRecord {
  project?: ProjectRecord;
  bindings: BindingRecord[];
}

/** Thrown when a conditional write lost: `reason` says which precondition failed. */
export class ProjectWriteConflict extends Error {
  constructor(readonly reason: 'exists' | 'changed' | 'missing' | 'terminating') {
    super(`project store write lost: ${reason}`);
  }
}
