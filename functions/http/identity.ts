import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Identity } from '../app/shared/context';

/**
 * Who the caller is, from what the edge authenticated. Three shapes of `requestContext.authorizer`:
 * - `lambda`: the local server's bearer-token check (`{ user, groups }`, groups an array or a JSON array string);
 * - `jwt`: API Gateway's JWT authorizer on `/{proxy+}` (`claims`, see {@link identityOf});
 * - `iam`: API Gateway's IAM (SigV4) authorizer on `/iam/{proxy+}` (`userArn`; an assumed role's caller is also in
 *   a group named by the role's ARN, see {@link iamRoleGroup}).
 * API Gateway has already verified the credential; nothing here checks signatures.
 *
 * Names starting with `arn:` belong to IAM: only a SigV4 caller is ever named or grouped by one. A JWT whose user
 * claim starts with `arn:` authenticates nobody, and `arn:` groups in a token are dropped, so that no OIDC provider
 * (a self-chosen username, a user-managed group) can pass for an IAM user or role a RoleBinding trusts.
 */

/** The JWT claims that name the user and their groups (stack parameters OidcUserClaim / OidcGroupsClaim). */
export interface JwtClaimNames {
  user: string;
  groups: string;
}

/** Every authenticated caller is in this group; IAM callers are in {@link IAM_GROUP} too. */
export const AUTHENTICATED_GROUP = 'system:authenticated';
export const IAM_GROUP = 'system:iam';
/** The prefix of groups only the service grants; a token's groups claim cannot bring them in. */
const RESERVED_GROUP_PREFIX = 'system:';
/** The prefix of names only IAM (SigV4) callers get: their ARN, their role's ARN. */
const IAM_NAME_PREFIX = 'arn:';
/** The path prefix of the IAM-authorized route (`ANY /iam/{proxy+}`). */
const IAM_PREFIX = '/iam';

let configured: JwtClaimNames | undefined;

/**
 * The claim names from env JWT_USER_CLAIM (default `sub`) and JWT_GROUPS_CLAIM (default `groups`), read on first
 * use and kept (the config schema in functions/config.ts validates the same variables at start).
 */
export function configuredClaimNames(): JwtClaimNames {
  configured ??= {
    user: process.env.JWT_USER_CLAIM || 'sub',
    groups: process.env.JWT_GROUPS_CLAIM || 'groups',
  };
  return configured;
}

type Authorizer = {
  lambda?: { user?: unknown; groups?: unknown };
  jwt?: { claims?: Record<string, unknown> };
  iam?: { userArn?: unknown };
};

const authorizerOf = (event: APIGatewayProxyEventV2) =>
  (event.requestContext as { authorizer?: Authorizer } | undefined)?.authorizer;

/**
 * A groups claim as API Gateway delivers it: an array; a JSON array string; an array flattened to `"[a b]"`
 * (how the JWT authorizer passes array claims, e.g. Cognito's `cognito:groups`); or a space- or comma-separated
 * string.
 */
export function parseGroups(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.filter((g) => typeof g === 'string' && g !== '') as string[];
  if (typeof value !== 'string') return [];
  const text = value.trim();
  if (text.startsWith('[') && text.endsWith(']')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parseGroups(parsed);
    } catch {
      // Not JSON: API Gateway's `[a b]`.
    }
    return splitGroups(text.slice(1, -1));
  }
  return splitGroups(text);
}

const splitGroups = (text: string) => text.split(/[\s,]+/).filter(Boolean);

const withGroups = (user: string, groups: string[], extra: string[] = []): Identity => ({
  user,
  groups: [...new Set([...groups, AUTHENTICATED_GROUP, ...extra])],
});

/** The identity the edge authenticated, or undefined when it authenticated none (healthz, webhooks, no token). */
export function identityOf(
  event: APIGatewayProxyEventV2,
  claims: JwtClaimNames = configuredClaimNames(),
): Identity | undefined {
  const auth = authorizerOf(event);
  const lambda = auth?.lambda;
  if (lambda && typeof lambda.user === 'string' && lambda.user) {
    // Local tokens are configured by the operator, so their groups are taken as they are (system: ones too).
    return withGroups(lambda.user, parseGroups(lambda.groups));
  }
  const jwt = auth?.jwt?.claims;
  if (jwt) return jwtIdentity(jwt, claims);
  const iam = auth?.iam;
  if (iam && typeof iam.userArn === 'string' && iam.userArn) {
    const role = iamRoleGroup(iam.userArn);
    return withGroups(iam.userArn, role ? [role] : [], [IAM_GROUP]);
  }
  return undefined;
}

/** The caller a verified JWT's claims name (by the API Gateway authorizer, or the registry function itself). */
export function jwtIdentity(
  jwt: Record<string, unknown>,
  claims: JwtClaimNames = configuredClaimNames(),
): Identity | undefined {
  const user = claimString(jwt[claims.user]) ?? claimString(jwt.sub);
  if (!user || user.startsWith(IAM_NAME_PREFIX)) return undefined;
  const groups = parseGroups(jwt[claims.groups]).filter(
    (g) => !g.startsWith(RESERVED_GROUP_PREFIX) && !g.startsWith(IAM_NAME_PREFIX),
  );
  return withGroups(user, groups);
}

/** `arn:<partition>:sts::<account>:assumed-role/<role name>/<session name>` (names contain no `/`). */
const ASSUMED_ROLE_ARN = /^arn:([a-z][a-z0-9-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;

/**
 * The group of an assumed-role caller: its role's ARN, `arn:<partition>:iam::<account>:role/<role name>`. The
 * session name in the caller's ARN changes per CodeBuild build, Lambda container or CI job, so RoleBindings name
 * the role. An assumed-role ARN carries no role path, so neither does the group: a role created at
 * `/service-role/` (CodeBuild's default) is `arn:aws:iam::<account>:role/<role name>` here, not its IAM ARN (role
 * names are unique in an account, paths or not). IAM users, the root user and federated users get no group.
 */
export function iamRoleGroup(userArn: string): string | undefined {
  const m = ASSUMED_ROLE_ARN.exec(userArn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : undefined;
}

function claimString(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * The path to route: the raw path, less the `/iam` prefix when the request came in through the IAM route (only
 * then: a JWT or local caller's `/iam/...` is routed as it is, and is not found).
 */
export function routePath(event: APIGatewayProxyEventV2): string {
  const path = event.rawPath;
  if (!authorizerOf(event)?.iam) return path;
  if (path === IAM_PREFIX) return '/';
  return path.startsWith(`${IAM_PREFIX}/`) ? path.slice(IAM_PREFIX.length) : path;
}
