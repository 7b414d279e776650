/** What the console is told about where it runs: `config.json` beside index.html. */

export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** Space-separated scopes; `openid` is always asked for. */
  scope?: string;
}

/**
 * `config.json` beside index.html, written by the deployment (AWS: infra/console-stack.ts) or served by the local
 * server (functions/local/console-assets.ts).
 */
export interface ConsoleConfig {
  /** Origin (and path prefix) of the API; empty: the console's own origin. */
  apiBase: string;
  /** Sign in with this provider; without it the console asks for a bearer token. */
  oidc?: OidcSettings;
}

interface ConfigFile {
  apiBase?: unknown;
  oidcIssuer?: unknown;
  oidcClientId?: unknown;
  oidcScope?: unknown;
}

const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');

export function parseConfig(raw: ConfigFile): ConsoleConfig {
  const issuer = text(raw.oidcIssuer);
  const clientId = text(raw.oidcClientId);
  const scope = text(raw.oidcScope);
  return {
    apiBase: text(raw.apiBase).replace(/\/+$/, ''),
    ...(issuer && clientId ? { oidc: { issuer, clientId, ...(scope ? { scope } : {}) } } : {}),
  };
}
