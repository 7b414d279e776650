/**
 * Who the console calls the API as. Locally the user pastes a bearer token; in AWS the console signs in against
 * the stack's OIDC issuer with the authorization code flow and PKCE (a public client: no secret exists to put in
 * the bundle). The token lives in sessionStorage: it survives a reload of the tab and dies with it.
 */
import { type ConsoleConfig, type OidcSettings, parseConfig } from './config';
import { base64url, pkcePair } from './pkce';

export type { ConsoleConfig, OidcSettings };

/** Reads config.json; without one the console asks for a token and calls its own origin. */
export async function loadConfig(): Promise<ConsoleConfig> {
  try {
    const res = await fetch('./config.json', { cache: 'no-store' });
    return parseConfig(res.ok ? ((await res.json()) as Parameters<typeof parseConfig>[0]) : {});
  } catch {
    return { apiBase: '' };
  }
}

const TOKEN_KEY = 'imagestreams.console.token';
const PENDING_KEY = 'imagestreams.console.oidc';

export const session = {
  token: (): string | undefined => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  save: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

async function discover(issuer: string): Promise<Discovery> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`the identity provider's discovery document (${url}) answered ${res.status}`);
  const doc = (await res.json()) as Partial<Discovery>;
  if (!doc.authorization_endpoint || !doc.token_endpoint)
    throw new Error(
      `the identity provider's discovery document (${url}) names no authorization or token endpoint`,
    );
  return { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint };
}

/** Where the provider sends the user back: the console itself, without query or fragment. */
const redirectUri = () => `${location.origin}${location.pathname}`;

/** Sends the browser to the provider's sign-in page. */
export async function startSignIn(oidc: OidcSettings): Promise<never> {
  const { authorization_endpoint } = await discover(oidc.issuer);
  const { verifier, challenge } = await pkcePair();
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, back: location.hash }));
  const url = new URL(authorization_endpoint);
  const scope = new Set(['openid', ...(oidc.scope ?? '').split(/\s+/).filter(Boolean)]);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.clientId,
    redirect_uri: redirectUri(),
    scope: [...scope].join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
  return new Promise<never>(() => undefined);
}

/**
 * Finishes a sign-in when the provider sent the user back (`?code=&state=`): exchanges the code with the PKCE
 * verifier for tokens, keeps the one the API accepts, and takes the code out of the address bar. Returns false
 * when this page load is not a sign-in callback.
 */
export async function completeSignIn(oidc: OidcSettings): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as {
    verifier: string;
    state: string;
    back: string;
  } | null;
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, '', `${location.pathname}${pending?.back ?? ''}`);
  if (error) throw new Error(`sign-in failed: ${error} ${params.get('error_description') ?? ''}`.trim());
  if (!pending || pending.state !== params.get('state'))
    throw new Error('sign-in failed: the answer does not belong to a sign-in this tab started; try again');
  const { token_endpoint } = await discover(oidc.issuer);
  const res = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri(),
      client_id: oidc.clientId,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const body = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    id_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!res.ok)
    throw new Error(`sign-in failed: ${body.error ?? res.status} ${body.error_description ?? ''}`.trim());
  // API Gateway's JWT authorizer needs a JWT: the access token when it is one (Cognito's carries client_id),
  // else the ID token (its aud is the client id).
  const jwt = (t: string | undefined) => !!t && t.split('.').length === 3;
  const token = jwt(body.access_token) ? body.access_token : body.id_token;
  if (!token) throw new Error('sign-in failed: the identity provider returned no JWT');
  session.save(token);
  return true;
}
