import type { FetchedImage, ImageFetch, ImageRegistry, RepositoryTarget } from '../app/ports/registry';
import type { RegistryClient } from './client';
import type { DeadlineLike } from './deadline';
import { fetchImage } from './image-fetcher';

/** The registry port over this package's HTTP client: one client per process, so caches and tokens survive. */
export class HttpImageRegistry implements ImageRegistry {
  constructor(readonly client: RegistryClient) {}

  fetchImage(target: RepositoryTarget, request: ImageFetch): Promise<FetchedImage> {
    return fetchImage({ ...request, repo: this.client.repository(target) });
  }

  listTags(target: RepositoryTarget, deadline: DeadlineLike): Promise<string[]> {
    return this.client.repository(target).listTags(deadline);
  }

  quota(host: string) {
    return this.client.transport.quota(host);
  }
}
