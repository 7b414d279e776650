import type {
  BlobSource,
  FetchedImage,
  ImageFetch,
  ImageRegistry,
  ManifestBytes,
  PullThroughRegistry,
  RepositoryTarget,
} from '../app/ports/registry';
import type { RegistryClient } from './client';
import type { DeadlineLike } from './deadline';
import { fetchImage } from './image-fetcher';

/** The registry port over this package's HTTP client: one client per process, so caches and tokens survive. */
export class HttpImageRegistry implements ImageRegistry, PullThroughRegistry {
  constructor(readonly client: RegistryClient) {}

  fetchImage(target: RepositoryTarget, request: ImageFetch): Promise<FetchedImage> {
    return fetchImage({ ...request, repo: this.client.repository(target) });
  }

  listTags(target: RepositoryTarget, deadline: DeadlineLike): Promise<string[]> {
    return this.client.repository(target).listTags(deadline);
  }

  async getManifest(
    target: RepositoryTarget,
    digest: string,
    deadline: DeadlineLike,
  ): Promise<ManifestBytes> {
    const m = await this.client.repository(target).getManifest(digest, deadline);
    return { digest: m.digest, mediaType: m.mediaType, raw: m.raw };
  }

  openBlob(target: RepositoryTarget, digest: string, deadline: DeadlineLike): Promise<BlobSource> {
    return this.client.repository(target).openBlob(digest, deadline);
  }

  quota(host: string) {
    return this.client.transport.quota(host);
  }
}
