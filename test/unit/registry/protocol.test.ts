import { describe, expect, it } from 'vitest';
import { parseChallenges, preferredChallenge } from '../../../functions/registry/challenge';
import { nextLink } from '../../../functions/registry/client';
import { checkDestination, isPrivateAddress } from '../../../functions/registry/network-policy';
import { retryAfterMs } from '../../../functions/registry/transport';

describe('WWW-Authenticate parsing (RFC 7235)', () => {
  it('reads one challenge with quoted parameters', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/ubuntu:pull',
        },
      },
    ]);
  });
  it('splits several challenges and prefers Bearer', () => {
    const cs = parseChallenges(
      'Basic realm="https://codeberg.org/v2",service="container_registry",Bearer realm="https://codeberg.org/v2/token",service="container_registry",scope="*"',
    );
    expect(cs.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(preferredChallenge(cs)?.params.realm).toBe('https://codeberg.org/v2/token');
  });
  it('handles token values, escapes and error parameters', () => {
    const [c] = parseChallenges('Bearer realm=https://r/t, error="insufficient_scope", x="a\\"b"');
    expect(c?.params).toEqual({ realm: 'https://r/t', error: 'insufficient_scope', x: 'a"b' });
    expect(parseChallenges(null)).toEqual([]);
    expect(preferredChallenge(parseChallenges('Negotiate abc=='))).toBeUndefined();
  });
});

describe('Link pagination and Retry-After', () => {
  it('finds rel="next" among several links', () => {
    expect(nextLink('</v2/x/tags/list?n=100&last=b>; rel="next"')).toBe('/v2/x/tags/list?n=100&last=b');
    expect(nextLink('<https://a/prev>; rel="prev", <https://a/next>; rel=next')).toBe('https://a/next');
    expect(nextLink('<https://a/prev>; rel="prev"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });
  it('reads delta-seconds and HTTP dates', () => {
    expect(retryAfterMs('3')).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('garbage')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('network policy', () => {
  it('classifies private, loopback, link-local and mapped addresses', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fd00:ec2::254',
      'fe80::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
      '100.64.0.1',
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '2606:4700::1111', '52.94.1.1']) expect(isPrivateAddress(a), a).toBe(false);
  });
  const strict = {
    allowPrivateNetworks: false,
    allowedPrivateHosts: ['10.0.0.5:5000'],
    insecureRegistries: [],
  };
  const local = { allowPrivateNetworks: true, allowedPrivateHosts: [], insecureRegistries: [] };
  const resolve = (ips: string[]) => async () => ips;
  it('refuses private destinations outside local mode unless allow-listed, including by DNS', async () => {
    await expect(checkDestination(new URL('https://127.0.0.1:5000/v2/'), strict)).rejects.toMatchObject({
      kind: 'forbidden',
    });
    await expect(checkDestination(new URL('https://localhost/v2/'), strict)).rejects.toMatchObject({
      kind: 'forbidden',
    });
    await expect(
      checkDestination(new URL('https://reg.example/v2/'), strict, resolve(['10.0.0.9'])),
    ).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(checkDestination(new URL('https://10.0.0.5:5000/v2/'), strict)).resolves.toBeUndefined();
    await expect(
      checkDestination(new URL('https://reg.example/v2/'), strict, resolve(['52.94.1.1'])),
    ).resolves.toBeUndefined();
  });
  it('allows loopback in local mode but never link-local, and only http(s)', async () => {
    await expect(checkDestination(new URL('http://127.0.0.1:5000/v2/'), local)).resolves.toBeUndefined();
    await expect(checkDestination(new URL('http://169.254.169.254/token'), local)).rejects.toMatchObject({
      kind: 'forbidden',
    });
    await expect(checkDestination(new URL('http://[fe80::1]/token'), local)).rejects.toMatchObject({
      kind: 'forbidden',
    });
    await expect(checkDestination(new URL('file:///etc/passwd'), local)).rejects.toMatchObject({
      kind: 'forbidden',
    });
  });
});

describe('quota headers', () => {
  it("reads Docker Hub's and the IETF draft's rate-limit headers", async () => {
    const { parseQuota } = await import('../../../functions/registry/transport');
    const h = (o: Record<string, string>) => new Headers(o);
    expect(
      parseQuota(h({ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '7;w=21600' }), 1_000),
    ).toEqual({
      remaining: 7,
      limit: 100,
      resetAtMs: 1_000 + 21_600_000,
    });
    expect(parseQuota(h({ 'ratelimit-remaining': '3', 'ratelimit-reset': '30' }), 0)).toEqual({
      remaining: 3,
      resetAtMs: 30_000,
    });
    expect(parseQuota(h({ 'ratelimit-remaining': '0' }), 0)?.resetAtMs).toBe(60_000);
    expect(parseQuota(h({}), 0)).toBeUndefined();
    expect(parseQuota(h({ 'ratelimit-remaining': 'lots' }), 0)).toBeUndefined();
  });
});
