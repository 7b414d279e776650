import type { Identity } from '../app/shared/context';
import type { WriteOptions } from '../app/shared/requests';

/** What a use case sees of an HTTP call, independent of API Gateway's event shape. */
export interface HttpRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
  identity: Identity;
  /** A write's options (`dryRun`), read once the caller may make the call (functions/http/options.ts). */
  options: WriteOptions;
}

export interface HttpResult {
  status: number;
  body: unknown;
}

export const ok = (body: unknown): HttpResult => ({ status: 200, body });
export const created = (body: unknown): HttpResult => ({ status: 201, body });
