/**
 * Manifest bytes a project pulled through its streams, kept by digest so a second pull costs no upstream request,
 * and which blobs each lists (so a blob is served only to a project whose stream references a manifest that lists
 * it). Per project, like the project's image records (docs/access.md "Images and projects"): a project reads only
 * what was fetched with its own credentials. functions/store/manifest-store.ts implements it on DynamoDB.
 */
export interface ManifestRepository {
  get(ns: string, digest: string): Promise<StoredManifest | undefined>;
  /** Stores a verified manifest (content addressed: write-once) and the blobs it lists. */
  put(ns: string, manifest: StoredManifest): Promise<void>;
  /** Digests of this project's stored manifests that list `blob` (config, layer, or an index's child). */
  listing(ns: string, blob: string): Promise<string[]>;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  raw: Buffer;
  /** Config and layer digests of an image manifest; the child manifests of an index. */
  references: string[];
}
