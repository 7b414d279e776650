import type { Identity } from '../app/shared/context';

/** What a use case sees of an HTTP call, independent of API Gateway's event shape. */
export interface HttpRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
  identity: Identity;
}

export interface HttpResult {
  status: number;
  body: unknown;
}

export const ok = (body: unknown): HttpResult => ({ status: 200, body });
export const created = (body: unknown): HttpResult => ({ status: 201, body });
