import { CliError, ServerError, type Status } from './errors';

/** How long one API call may take before isctl gives up (imports of whole repositories take the longest). */
const TIMEOUT_MS = 120_000;

/** A thin JSON client for the imagestreams API: bearer token, Kubernetes Status errors as {@link ServerError}. */
export class ApiClient {
  constructor(
    readonly server: string,
    private readonly token: string | undefined,
  ) {}

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.server + path, {
        method,
        headers: {
          accept: 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body !== undefined ? { 'content-type': contentType } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `unable to connect to the server at ${this.server}: ${cause?.code ?? cause?.message ?? (e as Error).message}\nIs the server running? Check the URL with isctl login --server <url>`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const status = parsed && typeof parsed === 'object' ? (parsed as Status) : undefined;
      throw new ServerError(res.status, status, text.slice(0, 200) || res.statusText);
    }
    return parsed as T;
  }

  get = <T = unknown>(path: string) => this.request<T>('GET', path);
  post = <T = unknown>(path: string, body: unknown) => this.request<T>('POST', path, body);
  put = <T = unknown>(path: string, body: unknown) => this.request<T>('PUT', path, body);
  delete = <T = unknown>(path: string) => this.request<T>('DELETE', path);
  patch = <T = unknown>(path: string, body: unknown) =>
    this.request<T>('PATCH', path, body, 'application/merge-patch+json');

  /** Every item of a paged list (`limit`/`continue`), bounded. */
  async listAll<T = unknown>(path: string, pageSize = 500, maxPages = 1000): Promise<T[]> {
    const items: T[] = [];
    let cont: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const list = await this.get<{ items?: T[]; metadata?: { continue?: string } }>(
        `${path}${sep}limit=${pageSize}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
      );
      items.push(...(list.items ?? []));
      cont = list.metadata?.continue;
      if (!cont) break;
    }
    return items;
  }
}
