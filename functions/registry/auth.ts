import { createHash } from 'node:crypto';
import type { RegistryCredential } from '../app/ports/registry';
import { type Challenge, parseChallenges, preferredChallenge } from './challenge';
import { asDeadline, beforeDeadline, type DeadlineLike } from './deadline';
import { errorCodes, isRegistryError, RegistryError } from './errors';
import type { RegistryTransport } from './transport';

export type { RegistryCredential };

/** Bearer tokens are small; a huge token reply is an error, not something to buffer. */
const TOKEN_BODY_CAP = 1024 * 1024;
/** A registry must not hand out tokens for less than a minute (token spec); treat shorter claims as 60 s. */
const MIN_TOKEN_LIFE_MS = 60_000;
/** Renew slightly early so a token does not expire between the cache check and the request. */
const TOKEN_MARGIN_MS = 5_000;
const MAX_CACHED_TOKENS = 5_000;
/**
 * How long what a registry's challenge said is trusted before it is asked again. A registry can change its auth
 * setup; a few minutes bounds how long an old answer decides how requests are sent.
 */
export const CHALLENGE_TTL_MS = 5 * 60_000;
const MAX_CACHED_CHALLENGES = 5_000;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Who is asking: the credential for this registry (if any) and a fingerprint that keys its tokens. */
export interface AuthIdentity {
  credential?: RegistryCredential | undefined;
}

interface LearnedChallenge {
  challenge: Challenge | null;
  expiresAt: number;
}

/**
 * Challenge-driven authentication (Docker's registry token authentication spec). Challenges are learned from responses (no ping
 * needed when the first request answers 401) and remembered per origin and identity for a few minutes, so later
 * requests authenticate up front; bearer tokens are cached per (realm, service, scope, identity) until shortly
 * before they expire. Token fetches for the same key are shared by concurrent callers.
 *
 * What one caller learnt never decides another's import: challenges are keyed by the credential that met them
 * (projects with other credentials, or none, ask the registry themselves), and a challenge whose token could
 * not be obtained is forgotten at once, so the next import asks the registry again instead of failing unseen.
 */
export class RegistryAuth {
  private readonly challenges = new Map<string, LearnedChallenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly transport: RegistryTransport,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The challenge learned for an origin by this identity: undefined = not learned (or expired), null = anonymous
   * access worked.
   */
  knownChallenge(origin: string, who: AuthIdentity): Challenge | null | undefined {
    const key = challengeKey(origin, who);
    const learned = this.challenges.get(key);
    if (!learned) return undefined;
    if (learned.expiresAt <= this.now()) {
      this.challenges.delete(key);
      return undefined;
    }
    return learned.challenge;
  }

  learn(origin: string, who: AuthIdentity, header: string | null): Challenge | undefined {
    const challenge = preferredChallenge(parseChallenges(header));
    if (challenge) this.remember(origin, who, { scheme: challenge.scheme, params: { ...challenge.params } });
    return challenge;
  }

  markAnonymous(origin: string, who: AuthIdentity): void {
    if (this.knownChallenge(origin, who) === undefined) this.remember(origin, who, null);
  }

  /** Drops what this identity learned about an origin (its challenge led nowhere). */
  forget(origin: string, who: AuthIdentity): void {
    this.challenges.delete(challengeKey(origin, who));
  }

  private remember(origin: string, who: AuthIdentity, challenge: Challenge | null): void {
    const key = challengeKey(origin, who);
    this.challenges.delete(key);
    this.challenges.set(key, { challenge, expiresAt: this.now() + CHALLENGE_TTL_MS });
    if (this.challenges.size > MAX_CACHED_CHALLENGES)
      this.challenges.delete(this.challenges.keys().next().value as string);
  }

  /**
   * The Authorization header for a request to `origin` needing `scope`, given what the origin challenged.
   * `fresh` forces a new token (after a 401 with a cached one).
   */
  async authorization(
    origin: string,
    challenge: Challenge | null | undefined,
    scope: string,
    who: AuthIdentity,
    deadline: DeadlineLike,
    fresh = false,
  ): Promise<string | undefined> {
    if (!challenge) return undefined;
    try {
      return await this.authorizationFor(origin, challenge, scope, who, deadline, fresh);
    } catch (e) {
      // Not cached: the next request learns the registry's challenge afresh, whatever this one said.
      this.forget(origin, who);
      throw e;
    }
  }

  private async authorizationFor(
    origin: string,
    challenge: Challenge,
    scope: string,
    who: AuthIdentity,
    deadlineLike: DeadlineLike,
    fresh: boolean,
  ): Promise<string | undefined> {
    const deadline = asDeadline(deadlineLike);
    if (challenge.scheme === 'basic') return who.credential ? basic(who.credential) : undefined;
    if (challenge.scheme !== 'bearer') return undefined;
    const realm = challenge.params.realm;
    if (!realm)
      throw new RegistryError('integrity', `${new URL(origin).host}: bearer challenge without a realm`);
    const service = challenge.params.service ?? '';
    const scopes = [
      ...new Set([scope, ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])]),
    ];
    const key = [realm, service, scopes.join(' '), fingerprint(who.credential)].join('|');
    if (fresh) this.tokens.delete(key);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return `Bearer ${cached.token}`;
    let token: CachedToken | undefined;
    // A fetch another caller started runs to that caller's deadline: wait for it no longer than our own, and
    // fetch for ourselves if it ran out of time while ours has some left.
    for (let tries = 0; !token; tries++) {
      let pending = this.inflight.get(key);
      const shared = !!pending;
      if (!pending) {
        pending = this.fetchToken(realm, service, scopes, who.credential, deadline).finally(() =>
          this.inflight.delete(key),
        );
        this.inflight.set(key, pending);
      }
      try {
        token = await beforeDeadline(
          pending,
          deadline,
          () =>
            new RegistryError('transport', `token service for ${new URL(origin).host}: the deadline passed`),
        );
      } catch (e) {
        if (!shared || tries > 0 || !isRegistryError(e, 'transport') || this.inflight.get(key) === pending)
          throw e;
      }
    }
    if (this.tokens.size >= MAX_CACHED_TOKENS) this.tokens.delete(this.tokens.keys().next().value as string);
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  private async fetchToken(
    realm: string,
    service: string,
    scopes: string[],
    credential: RegistryCredential | undefined,
    deadline: DeadlineLike,
  ): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(
        'integrity',
        `the registry's token realm ${JSON.stringify(realm)} is not a URL`,
      );
    }
    if (url.protocol !== 'https:' && !isPlainHttpAllowed(url, this.transport))
      throw new RegistryError('forbidden', `the registry's token realm ${url.host} does not use https`);
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    if (credential) url.searchParams.set('account', credential.username);
    const res = await this.transport.request({
      method: 'GET',
      url,
      authorization: credential ? basic(credential) : undefined,
      maxBytes: TOKEN_BODY_CAP,
      deadline,
    });
    const text = res.body.toString('utf8');
    if (res.status === 401 || res.status === 403) {
      const incorrect = /incorrect username or password/i.test(text) || (!!credential && res.status === 401);
      throw new RegistryError(
        'unauthorized',
        incorrect ? 'incorrect username or password' : 'the token service refused access',
        { status: res.status, incorrectCredentials: incorrect },
      );
    }
    if (res.status !== 200)
      throw new RegistryError('transport', `token service ${url.host} answered ${res.status}${brief(text)}`);
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      json = JSON.parse(text);
    } catch {
      throw new RegistryError('integrity', `token service ${url.host} did not answer JSON`);
    }
    const token =
      typeof json.token === 'string' && json.token
        ? json.token
        : typeof json.access_token === 'string'
          ? json.access_token
          : '';
    if (!token) throw new RegistryError('integrity', `token service ${url.host} returned no token`);
    const life = Math.max(
      MIN_TOKEN_LIFE_MS,
      (typeof json.expires_in === 'number' ? json.expires_in : 60) * 1000,
    );
    // Clock skew: an issue time in the future, or one that would already be expired, counts from now.
    let issued = typeof json.issued_at === 'string' ? Date.parse(json.issued_at) : Number.NaN;
    const now = this.now();
    if (Number.isNaN(issued) || issued > now || issued + life < now) issued = now;
    return { token, expiresAt: issued + life - TOKEN_MARGIN_MS };
  }
}

function isPlainHttpAllowed(url: URL, transport: RegistryTransport): boolean {
  const n = transport.network;
  return n.allowPrivateNetworks || n.insecureRegistries.some((h) => h === url.host || h === url.hostname);
}

function basic(c: RegistryCredential): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

function challengeKey(origin: string, who: AuthIdentity): string {
  return `${origin}|${fingerprint(who.credential)}`;
}

/**
 * Tokens are per identity: an anonymous token must never serve an authenticated caller, nor vice versa. Cached
 * content is keyed the same way (client.ts).
 */
export function fingerprint(c: RegistryCredential | undefined): string {
  if (!c) return 'anonymous';
  return createHash('sha256').update(`${c.username}\0${c.password}`).digest('base64url').slice(0, 16);
}

/** The scope a 401 asks for (`error="insufficient_scope"` replies name it), if any. */
export function challengedScope(header: string | null): string | undefined {
  return preferredChallenge(parseChallenges(header))?.params.scope;
}

/** Tells "wrong password" apart from "not allowed"; OpenShift retries the former without credentials. */
export function isIncorrectCredentials(body: Buffer): boolean {
  const text = body.toString('utf8');
  return (
    /incorrect username or password/i.test(text) ||
    errorCodes(text).some((e) => /incorrect username or password/i.test(e.message))
  );
}

function brief(text: string): string {
  const t = text.trim().slice(0, 200);
  return t ? `: ${t}` : '';
}
