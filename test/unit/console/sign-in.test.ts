import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../console/src/config';
import { base64url, challengeOf, pkcePair } from '../../../console/src/pkce';

describe('console sign-in settings', () => {
  it('signs in with OIDC only when both the issuer and the client are set', () => {
    expect(parseConfig({ apiBase: '' })).toEqual({ apiBase: '' });
    expect(
      parseConfig({ apiBase: 'https://api.example/', oidcIssuer: 'https://idp.example', oidcClientId: '' }),
    ).toEqual({
      apiBase: 'https://api.example',
    });
    expect(
      parseConfig({ oidcIssuer: 'https://idp.example/pool', oidcClientId: 'console', oidcScope: 'email' }),
    ).toEqual({
      apiBase: '',
      oidc: { issuer: 'https://idp.example/pool', clientId: 'console', scope: 'email' },
    });
    expect(parseConfig({ apiBase: 7, oidcIssuer: ['x'], oidcClientId: 'c' })).toEqual({ apiBase: '' });
  });

  it("computes PKCE S256 challenges as RFC 7636's example does", async () => {
    expect(await challengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
    expect(base64url(new Uint8Array([251, 255, 191]))).toBe('-_-_');
    const a = await pkcePair();
    const b = await pkcePair();
    expect(a.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.verifier).not.toBe(b.verifier);
    expect(await challengeOf(a.verifier)).toBe(a.challenge);
  });
});
