import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { ContextOverrides } from '../../functions/composition/service-context';
import { readLocalConfig } from '../../functions/local/local-config';
import { type LocalService, startLocalService } from '../../functions/local/service';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Projects the auto-provisioning admin client has requested (or is requesting), per service URL. */
const provisioned = new Map<string, Map<string, Promise<void>>>();

/**
 * An HTTP client for the local API, authenticated as the bootstrap admin unless told otherwise.
 *
 * Streams, secrets and bindings can only be created in an existing project. Most tests are about image streams,
 * not projects, so the admin client of {@link startStack} provisions the project of any namespace it writes to
 * (one `projectrequests` call per namespace, first write only). Clients made with {@link Api.as} never do: tests
 * of projects and access control see exactly what they send.
 */
export class Api {
  constructor(
    readonly url: string,
    private readonly token: string | null = ADMIN_TOKEN,
    private readonly autoProject = false,
  ) {}

  /** The same client with another bearer token, or none (null); it never provisions projects. */
  as(token: string | null): Api {
    return new Api(this.url, token);
  }

  /** Creates a project (POST projectrequests) as this client's user; returns the response. */
  newProject(name: string) {
    return this.call('POST', '/apis/project.openshift.io/v1/projectrequests', {
      kind: 'ProjectRequest',
      apiVersion: 'project.openshift.io/v1',
      metadata: { name },
    });
  }

  private async provision(method: string, path: string): Promise<void> {
    if (!this.autoProject || method === 'GET' || method === 'DELETE') return;
    const ns = /^\/api[s]?\/(?:[^/]+\/)?v1\/namespaces\/([^/]+)\//.exec(path)?.[1];
    if (!ns) return;
    const seen = provisioned.get(this.url) ?? new Map<string, Promise<void>>();
    provisioned.set(this.url, seen);
    // Concurrent first writes to a namespace all wait for its one project request.
    let pending = seen.get(ns);
    if (!pending) {
      pending = this.newProject(decodeURIComponent(ns)).then((res) => {
        // 409: it exists already; 422/403: not a valid project name, so the write itself shows the error.
        if (res.status >= 500)
          throw new Error(`provisioning project ${ns} failed: ${res.status} ${JSON.stringify(res.body)}`);
      });
      seen.set(ns, pending);
    }
    await pending;
  }

  async call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    await this.provision(method, path);
    const res = await fetch(this.url + path, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* plain text answers such as /healthz */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get = <T = any>(path: string, headers?: Record<string, string>) =>
    this.call<T>('GET', path, undefined, headers);
  post = <T = any>(path: string, body: unknown) => this.call<T>('POST', path, body);
  put = <T = any>(path: string, body: unknown) => this.call<T>('PUT', path, body);
  delete = <T = any>(path: string, body?: unknown) => this.call<T>('DELETE', path, body);
  patch = <T = any>(path: string, body: unknown, type = 'application/merge-patch+json') =>
    this.call<T>('PATCH', path, body, { 'content-type': type });
}

export const IS = (ns: string, name = '') =>
  `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreams${name ? `/${name}` : ''}`;
export const ISTAG = (ns: string, name = '') =>
  `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamtags${name ? `/${encodeURIComponent(name)}` : ''}`;
export const ISIMAGE = (ns: string, name: string) =>
  `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimages/${encodeURIComponent(name)}`;
export const ISM = (ns: string) => `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreammappings`;
export const HISTORY = (ns: string, name: string) =>
  `/apis/imagestreams.io/v1/namespaces/${ns}/imagestreamtaghistories/${encodeURIComponent(name)}`;

/**
 * Starts the local service (the same code as `npm start`) on a free port, against the run's shared DynamoDB
 * Local, with its own table so test files never see each other's data. `overrides` replaces real parts, such as
 * the resolver of registry host names.
 */
/** The stacks' logs are silent unless TEST_SERVICE_LOG names a file their warnings and errors go to (debugging). */
/** Tests stay quiet: the service's warnings and errors go to $TEST_SERVICE_LOG when it is set, nothing else. */
const serviceLog = (entry: Record<string, unknown>) => {
  const file = process.env.TEST_SERVICE_LOG;
  const level = String(entry.level).toLowerCase();
  if (file && (level === 'error' || level === 'warn')) appendFileSync(file, `${JSON.stringify(entry)}\n`);
};

export async function startStack(
  env: Record<string, string> = {},
  overrides: ContextOverrides = {},
): Promise<{
  api: Api;
  service: LocalService;
  table: string;
  /** The service's DATA_DIR (its key file, tokens, checkpoints), removed by stop(). */
  dataDir: string;
  stop: () => Promise<void>;
}> {
  const dataDir = mkdtempSync(join(tmpdir(), 'imagestreams-test-'));
  const cfg = readLocalConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    TABLE_NAME: `t${Math.random().toString(36).slice(2, 10)}`,
    DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
    ...env,
  });
  const prior = { ...process.env };
  Object.assign(process.env, env);
  const service = await startLocalService(cfg, { logOutput: serviceLog, ...overrides });
  process.env = prior;
  return {
    api: new Api(service.url, ADMIN_TOKEN, true),
    service,
    table: cfg.TABLE_NAME,
    dataDir: cfg.dataDir,
    stop: async () => {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let digestCounter = 0;
/** A fresh, valid-looking sha256 digest. */
export function digest(seed?: string): string {
  const s = seed ?? `d${process.pid}-${Date.now()}-${digestCounter++}-${Math.random()}`;
  return `sha256:${createHashHex(s)}`;
}

function createHashHex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Registers an image and points `stream:tag` at it through imagestreammappings. */
export async function mapImage(
  api: Api,
  ns: string,
  stream: string,
  tag: string,
  d = digest(),
  repo = 'quay.io/x/y',
) {
  const res = await api.post(ISM(ns), {
    kind: 'ImageStreamMapping',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: stream, namespace: ns },
    tag,
    image: {
      metadata: { name: d },
      dockerImageReference: `${repo}@${d}`,
      dockerImageMetadata: {
        kind: 'DockerImage',
        apiVersion: 'image.openshift.io/1.0',
        Id: d,
        Architecture: 'amd64',
      },
      dockerImageMetadataVersion: '1.0',
      dockerImageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      dockerImageLayers: [
        { name: digest(), size: 100, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
      ],
    },
  });
  if (res.status !== 201) throw new Error(`mapping failed: ${res.status} ${JSON.stringify(res.body)}`);
  return d;
}
