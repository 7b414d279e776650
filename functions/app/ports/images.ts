import type { Image } from '../../core/api-types';
import type { StreamHead } from '../../core/imagestream/model';

/**
 * The image repository: what each project knows about images (its own records, docs/access.md "Images and
 * projects") and the shared records imports verified. functions/store/image-store.ts implements it on DynamoDB.
 */
export interface ImageRepository {
  /** The project's own record for a digest, read through one of its streams (may come from memory). */
  seenBy(scope: StreamScope, digest: string): Promise<ProjectImage | undefined>;
  seenByMany(scope: StreamScope, digests: string[]): Promise<Map<string, ProjectImage>>;
  /** The project's own record for a digest, read from the table. */
  current(ns: string, digest: string): Promise<ProjectImage | undefined>;
  /** Stores a mapping's image unless the project has a record of the digest already (then that one is kept). */
  recordMapping(ns: string, image: Image, by: string): Promise<RecordedImage>;
  /** Stores verified images of this project's import, replacing its `mapping` records of the same digests. */
  recordImports(ns: string, images: Image[], by: string): Promise<void>;
  /** Copies another project's records of these digests (and of manifest lists' children) into `toNs`. */
  copyBetweenProjects(
    fromNs: string,
    toNs: string,
    digests: string[],
    by: string,
  ): Promise<Map<string, ProjectImage>>;
  /** Deletes some of a project's records; true when none are left. */
  deleteProjectImages(ns: string, budget?: number): Promise<boolean>;
  /** The shared image an import verified for this digest. */
  verified(digest: string): Promise<Image | undefined>;
  /** The verified image, else (a digest only ever mapped) one project's record of it. */
  forClusterAdmin(digest: string): Promise<Image | undefined>;
  /** Stores verified images in the shared record (write-once per digest). */
  storeVerified(images: Image[]): Promise<void>;
}

/**
 * Where a project's metadata for an image came from: `import` was fetched from a registry by that project and
 * verified against the digest; `mapping` is what a user of the project sent (imagestreammappings), unverified.
 */
export type ImageSource = 'import' | 'mapping';

/** An image as one project sees it. */
export interface ProjectImage {
  image: Image;
  source: ImageSource;
}

/**
 * A read made through a stream: the namespace and the stream's uid. The uid keys the in-process cache, so a
 * project deleted and re-created under the same name (whose streams all have new uids) never reads another
 * incarnation's records from this process's memory.
 */
export interface StreamScope {
  namespace: string;
  uid: string;
}

/** The scope of a read through the stream `head`. */
export function scopeOf(head: StreamHead): StreamScope {
  return { namespace: head.namespace, uid: head.uid };
}

/** The outcome of writing one project record. */
export interface RecordedImage {
  record: ProjectImage;
  /** The project already had a record for the digest (which was kept): this write changed nothing. */
  existed: boolean;
}
