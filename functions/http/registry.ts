import {
  authorizePull,
  type PullContext,
  pullBlob,
  pullManifest,
  statBlob,
  streamTags,
} from '../app/registry-api/pull';
import type { Identity } from '../app/shared/context';
import {
  DistributionError,
  nextPageLink,
  pageTags,
  parseRegistryPath,
  parseRepositoryName,
  parseScopes,
  pullScope,
  type RepositoryName,
} from '../core/registry-api/protocol';
import {
  REGISTRY_TOKEN_SECONDS,
  type RegistryTokenClaims,
  signRegistryToken,
  tokenAllowsPull,
  verifyRegistryToken,
} from '../core/registry-api/tokens';

/** One request under `/v2/`, as the local server or the registry function received it. */
export interface RegistryHttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  /** The origin clients reach the service at (`http://127.0.0.1:8080`): the token realm is there. */
  origin: string;
}

export interface RegistryHttpResponse {
  status: number;
  headers: Record<string, string>;
  body?: Buffer;
  /** A blob passed on as it arrives; an error while reading it means the connection must be cut. */
  stream?: { body: AsyncIterable<Buffer>; cancel(): void };
}

export interface RegistryDispatcherOptions {
  ctx: PullContext;
  /** The API's own tokens (local tokens; OIDC JWTs in AWS): who a password or bearer token belongs to. */
  authenticate: (token: string) => Promise<Identity | undefined> | Identity | undefined;
  /** The key registry bearer tokens are signed with. */
  tokenKey: Buffer;
  now?: () => number;
}

const API_VERSION = { 'docker-distribution-api-version': 'registry/2.0' };
const ISSUER = 'imagestreams';

/** A caller, and which repositories their credential covers (`all` for an API token or password). */
interface Caller {
  identity: Identity;
  claims?: RegistryTokenClaims;
}

/**
 * The distribution API's read side (docs/registry.md): `/v2/`, manifests, blobs and tag lists of
 * `<namespace>/<stream>`, and `/v2/token`, which turns an API token into a short-lived bearer token. Push is
 * UNSUPPORTED. Every answer carries `Docker-Distribution-API-Version`; refusals are the spec's JSON errors.
 */
export function createRegistryDispatcher(opts: RegistryDispatcherOptions) {
  const now = opts.now ?? Date.now;
  const service = (req: RegistryHttpRequest) => new URL(req.origin).host;
  const challenge = (req: RegistryHttpRequest, repo?: RepositoryName, error?: string) =>
    `Bearer realm="${req.origin}/v2/token",service="${service(req)}"${repo ? `,scope="${pullScope(repo)}"` : ''}${error ? `,error="${error}"` : ''}`;

  const answer = (status: number, headers: Record<string, string>, body?: Buffer | string) => {
    const bytes = body === undefined ? undefined : Buffer.from(body);
    return {
      status,
      headers: {
        ...API_VERSION,
        ...headers,
        ...(bytes ? { 'content-length': String(bytes.length) } : {}),
      },
      ...(bytes ? { body: bytes } : {}),
    };
  };
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
    answer(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value));
  const refuse = (e: DistributionError, headers: Record<string, string> = {}) =>
    answer(e.status, { 'content-type': 'application/json', ...headers }, e.body());

  /** Basic (any user name, the API token as password) or Bearer (a registry token, or an API token). */
  async function callerOf(req: RegistryHttpRequest, registryTokens: boolean): Promise<Caller | undefined> {
    const header = req.headers.authorization ?? '';
    const basic = /^Basic\s+(\S+)$/i.exec(header);
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      const identity = await opts.authenticate(decoded.slice(colon + 1));
      return identity ? { identity } : undefined;
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(header);
    if (!bearer) return undefined;
    if (registryTokens) {
      const claims = verifyRegistryToken(bearer[1]!, opts.tokenKey, Math.floor(now() / 1000));
      if (claims) return { identity: { user: claims.sub, groups: claims.groups }, claims };
    }
    const identity = await opts.authenticate(bearer[1]!);
    return identity ? { identity } : undefined;
  }

  async function issueToken(req: RegistryHttpRequest): Promise<RegistryHttpResponse> {
    const caller = await callerOf(req, false);
    if (!caller)
      return refuse(
        new DistributionError(
          'UNAUTHORIZED',
          'authentication required: log in with your API token as the password',
        ),
        { 'www-authenticate': `Basic realm="${service(req)}"` },
      );
    const granted: string[] = [];
    for (const scope of parseScopes(req.query.getAll('scope'))) {
      const repo = scope.type === 'repository' ? parseRepositoryName(scope.name) : undefined;
      if (!repo || !scope.actions.includes('pull')) continue;
      // A scope the caller may not pull is left out of the token, as token servers do; the pull then says DENIED.
      try {
        await authorizePull(opts.ctx, caller.identity, repo);
        granted.push(pullScope(repo));
      } catch (e) {
        if (!(e instanceof DistributionError)) throw e;
      }
    }
    const iat = Math.floor(now() / 1000);
    const token = signRegistryToken(
      {
        iss: ISSUER,
        sub: caller.identity.user,
        groups: caller.identity.groups,
        aud: req.query.get('service') ?? service(req),
        scope: granted,
        iat,
        exp: iat + REGISTRY_TOKEN_SECONDS,
      },
      opts.tokenKey,
    );
    return json(200, {
      token,
      access_token: token,
      expires_in: REGISTRY_TOKEN_SECONDS,
      issued_at: new Date(iat * 1000).toISOString(),
    });
  }

  async function dispatch(req: RegistryHttpRequest): Promise<RegistryHttpResponse> {
    const route = parseRegistryPath(req.path);
    const reads = req.method === 'GET' || req.method === 'HEAD';
    if (!reads)
      return refuse(
        new DistributionError(
          'UNSUPPORTED',
          'this registry is read-only: push to the upstream registry and import',
          {
            method: req.method,
          },
        ),
        { allow: 'GET, HEAD' },
      );
    if (route.kind === 'token') return issueToken(req);
    const repo =
      route.kind === 'manifest' || route.kind === 'blob' || route.kind === 'tags' ? route : undefined;
    const caller = await callerOf(req, true);
    if (!caller)
      return refuse(new DistributionError('UNAUTHORIZED', 'authentication required'), {
        'www-authenticate': challenge(req, repo),
      });
    if (route.kind === 'base') return json(200, {});
    if (route.kind === 'unknown' || !repo)
      return refuse(
        new DistributionError(
          'NAME_UNKNOWN',
          'repository name not known to registry: names are <namespace>/<imagestream>',
        ),
      );
    await authorizePull(opts.ctx, caller.identity, repo);
    if (caller.claims && !tokenAllowsPull(caller.claims, `${repo.namespace}/${repo.stream}`))
      return refuse(new DistributionError('UNAUTHORIZED', 'the token does not cover this repository'), {
        'www-authenticate': challenge(req, repo, 'insufficient_scope'),
      });
    const head = req.method === 'HEAD';
    if (route.kind === 'tags') {
      const page = pageTags(await streamTags(opts.ctx, route), {
        n: req.query.get('n'),
        last: req.query.get('last'),
      });
      const link: Record<string, string> = page.next
        ? { link: nextPageLink(route, page.tags.length, page.next) }
        : {};
      return json(200, { name: `${route.namespace}/${route.stream}`, tags: page.tags }, link);
    }
    if (route.kind === 'manifest') {
      const m = await pullManifest(opts.ctx, route, route.reference, req.headers.accept);
      const headers = {
        'content-type': m.mediaType,
        'docker-content-digest': m.digest,
        etag: `"${m.digest}"`,
      };
      if (head)
        return {
          status: 200,
          headers: { ...API_VERSION, ...headers, 'content-length': String(m.raw.length) },
        };
      return answer(200, headers, m.raw);
    }
    if (head) {
      const { size } = await statBlob(opts.ctx, route, route.digest);
      return {
        status: 200,
        headers: {
          ...API_VERSION,
          'content-type': 'application/octet-stream',
          'docker-content-digest': route.digest,
          ...(size !== undefined ? { 'content-length': String(size) } : {}),
        },
      };
    }
    const source = await pullBlob(opts.ctx, route, route.digest);
    if (source.kind === 'redirect')
      return answer(307, { location: source.location, 'docker-content-digest': route.digest });
    const headers = {
      ...API_VERSION,
      'content-type': 'application/octet-stream',
      'docker-content-digest': route.digest,
      ...(source.size !== undefined ? { 'content-length': String(source.size) } : {}),
    };
    return { status: 200, headers, stream: { body: source.body, cancel: source.cancel } };
  }

  return async (req: RegistryHttpRequest): Promise<RegistryHttpResponse> => {
    try {
      return await dispatch(req);
    } catch (e) {
      if (e instanceof DistributionError) return refuse(e);
      opts.ctx.log({ level: 'error', message: 'registry request failed', path: req.path, error: String(e) });
      return refuse(new DistributionError('UNKNOWN', 'internal error'));
    }
  };
}

export type RegistryDispatcher = ReturnType<typeof createRegistryDispatcher>;

/** Whether a path belongs to the registry (`/v2`, `/v2/…`). */
export const isRegistryPath = (path: string): boolean => path === '/v2' || path.startsWith('/v2/');
