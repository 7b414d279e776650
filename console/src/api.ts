import type { Status } from './types';

/** An answer other than 2xx: the HTTP code and, when the server sent one, its Kubernetes Status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: Status | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get reason(): string {
    return this.status?.reason || (this.code === 0 ? 'NetworkError' : `HTTP ${this.code}`);
  }
}

/** How long one call may take (a whole-repository import takes the longest; API Gateway cuts at 30 s). */
const TIMEOUT_MS = 60_000;

/**
 * A JSON client for the public API with the user's own bearer token: the server's authorization decides
 * everything, and its Status is what the user sees when it says no.
 */
export class Api {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly onUnauthorized: (message: string) => void,
  ) {}

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)])
          : AbortSignal.timeout(TIMEOUT_MS),
        cache: 'no-store',
      });
    } catch (e) {
      if ((e as Error).name === 'AbortError' && signal?.aborted) throw e;
      throw new ApiError(0, undefined, `The API could not be reached: ${(e as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const status = isStatus(parsed) ? parsed : undefined;
      const message = status?.message || `${res.status} ${res.statusText}`;
      if (res.status === 401) this.onUnauthorized(message);
      throw new ApiError(res.status, status, message);
    }
    return parsed as T;
  }

  get = <T>(path: string, signal?: AbortSignal) => this.request<T>('GET', path, undefined, signal);
  post = <T>(path: string, body: unknown) => this.request<T>('POST', path, body);
  put = <T>(path: string, body: unknown) => this.request<T>('PUT', path, body);
  delete = <T>(path: string) => this.request<T>('DELETE', path);

  /** Every item of a paged list (`limit`/`continue`), at most `maxPages` pages. */
  async listAll<T>(path: string, signal?: AbortSignal, pageSize = 200, maxPages = 50): Promise<T[]> {
    const items: T[] = [];
    let cont: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const list = await this.get<{ items?: T[]; metadata?: { continue?: string } }>(
        `${path}${sep}limit=${pageSize}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
        signal,
      );
      items.push(...(list.items ?? []));
      cont = list.metadata?.continue;
      if (!cont) break;
    }
    return items;
  }
}

function isStatus(v: unknown): v is Status {
  return !!v && typeof v === 'object' && (v as { kind?: unknown }).kind === 'Status';
}

/** What the user reads when a call failed: the Status reason and message, as the server worded them. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) return `${e.reason}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
