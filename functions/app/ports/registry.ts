import type { Image } from '../../core/api-types';
import type { DeadlineLike } from '../../registry/deadline';

/**
 * Container registries as imports see them: fetch (or re-check) one image, list a repository's tags, and what a
 * registry said about its request quota. functions/registry/image-registry.ts implements it over HTTP; failures
 * are RegistryErrors (functions/registry/errors.ts), which the importer turns into per-image statuses.
 */
export interface ImageRegistry {
  fetchImage(target: RepositoryTarget, request: ImageFetch): Promise<FetchedImage>;
  listTags(target: RepositoryTarget, deadline: DeadlineLike): Promise<string[]>;
  /** The quota a host's last answer announced, if it announced one. */
  quota(host: string): RegistryQuota | undefined;
}

export interface RegistryCredential {
  username: string;
  password: string;
}

/** One repository on one registry, and how to reach it. */
export interface RepositoryTarget {
  /** Registry host as addressed (`registry-1.docker.io`, `127.0.0.1:5000`). */
  host: string;
  /** Repository path (`library/ubuntu`). */
  path: string;
  /** importPolicy.insecure: plain HTTP (after HTTPS fails) is acceptable. */
  insecure: boolean;
  credential?: RegistryCredential | undefined;
  /** Re-issues the credential after the registry rejected it (ECR tokens); called at most once per call. */
  refreshCredential?: (() => Promise<RegistryCredential | undefined>) | undefined;
}

export type ImportMode = 'Legacy' | 'PreserveOriginal';

/** What to fetch from a repository (docs/semantics.md#import-by-tag-or-digest). */
export interface ImageFetch {
  /** The repository as the user wrote it: image references are `<this>@<digest>`. */
  repositoryAsWritten: string;
  /** Tag or digest. */
  reference: string;
  importMode: ImportMode;
  prefer: { os: string; architecture: string };
  includeManifest: boolean;
  /** When the import's registry work must be over. */
  deadline: DeadlineLike;
  now: string;
  /** Images the caller already fetched and verified, by digest (an unchanged tag then costs one HEAD). */
  known: (digest: string) => Promise<Image | undefined>;
  /** The tag was imported before: resolve it with a HEAD first. */
  recheck: boolean;
}

export interface FetchedImage {
  /** What the tag resolved to on the registry (the list's digest for a manifest list). */
  remoteDigest: string;
  /** The image the tag should point at: the chosen child (Legacy) or the list itself (PreserveOriginal). */
  image: Image;
  /** PreserveOriginal: every child of the list. */
  manifests?: Image[];
  /** Images fetched from the registry that the caller should store (content addressed, write-once). */
  newImages: Image[];
}

/** A registry's announced quota (Docker Hub's `ratelimit-remaining`, the IETF RateLimit headers). */
export interface RegistryQuota {
  remaining: number;
  limit?: number;
  /** When the window is expected to refill (ms since epoch). */
  resetAtMs: number;
}

/** Registry credentials that come from somewhere other than namespace secrets (ECR through IAM). */
export interface ExternalCredentials {
  handles(host: string): boolean;
  get(host: string, refresh: boolean): Promise<RegistryCredential | undefined>;
}

/** A manifest fetched by digest and verified against it: the bytes exactly as the registry stored them. */
export interface ManifestBytes {
  digest: string;
  mediaType: string;
  raw: Buffer;
}

/**
 * Where a blob's bytes come from for a client that pulls it through this service: a location the upstream
 * registry redirected to (storage, a CDN: the client may fetch it without credentials), or the body itself, to be
 * passed on as it arrives.
 */
export type BlobSource =
  | { kind: 'redirect'; location: string }
  | {
      kind: 'stream';
      /** Content-Length as upstream announced it, when it did. */
      size?: number;
      body: AsyncIterable<Buffer>;
      /** Ends the upstream exchange early (the client went away). */
      cancel(): void;
    };

/** What pulling through the service needs of upstream registries, beside imports. */
export interface PullThroughRegistry {
  getManifest(target: RepositoryTarget, digest: string, deadline: DeadlineLike): Promise<ManifestBytes>;
  openBlob(target: RepositoryTarget, digest: string, deadline: DeadlineLike): Promise<BlobSource>;
}
