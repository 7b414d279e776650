import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OidcVerifier } from '../../../functions/aws/oidc-verifier';

const ISSUER = 'https://issuer.example.com';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOW = 1_700_000_000_000;

function jwt(claims: Record<string, unknown>, key: KeyObject = privateKey, kid = 'k1', alg = 'RS256') {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg, kid, typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${sign('sha256', Buffer.from(body), key).toString('base64url')}`;
}

function verifier() {
  const fetched: string[] = [];
  const v = new OidcVerifier(
    ISSUER,
    ['client-a'],
    async (url) => {
      fetched.push(url);
      if (url === `${ISSUER}/.well-known/openid-configuration`) return { jwks_uri: `${ISSUER}/jwks` };
      return { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] };
    },
    () => NOW,
  );
  return { v, fetched };
}

const good = { iss: ISSUER, aud: 'client-a', sub: 'alice', exp: NOW / 1000 + 300 };

describe('OIDC verifier of the registry function', () => {
  it("accepts a token the issuer's key signed for an accepted audience", async () => {
    const { v, fetched } = verifier();
    expect(await v.verify(jwt(good))).toMatchObject({ sub: 'alice' });
    expect(await v.verify(jwt({ ...good, aud: undefined, client_id: 'client-a' }))).toMatchObject({
      sub: 'alice',
    });
    // The keys are fetched once and kept.
    expect(fetched).toEqual([`${ISSUER}/.well-known/openid-configuration`, `${ISSUER}/jwks`]);
  });

  it('refuses another key, issuer, audience, an expired or not-yet-valid token, alg none and garbage', async () => {
    const { v } = verifier();
    expect(await v.verify(jwt(good, other.privateKey))).toBeUndefined();
    expect(await v.verify(jwt({ ...good, iss: 'https://evil.example.com' }))).toBeUndefined();
    expect(await v.verify(jwt({ ...good, aud: 'client-b' }))).toBeUndefined();
    expect(await v.verify(jwt({ ...good, exp: NOW / 1000 - 120 }))).toBeUndefined();
    expect(await v.verify(jwt({ ...good, nbf: NOW / 1000 + 120 }))).toBeUndefined();
    expect(await v.verify(jwt(good, privateKey, 'unknown'))).toBeUndefined();
    const [h, p] = jwt(good).split('.');
    const none = Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url');
    expect(await v.verify(`${none}.${p}.`)).toBeUndefined();
    expect(await v.verify(`${h}.${p}`)).toBeUndefined();
    expect(await v.verify('not a token')).toBeUndefined();
  });
});
