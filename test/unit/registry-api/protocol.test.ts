import { describe, expect, it } from 'vitest';
import {
  acceptsManifest,
  DistributionError,
  nextPageLink,
  pageTags,
  parseRegistryPath,
  parseScopes,
} from '../../../functions/core/registry-api/protocol';
import {
  type RegistryTokenClaims,
  signRegistryToken,
  tokenAllowsPull,
  verifyRegistryToken,
} from '../../../functions/core/registry-api/tokens';

const D = `sha256:${'a'.repeat(64)}`;

describe('registry paths', () => {
  it('knows the base, the token endpoint and the three repository routes of <namespace>/<stream>', () => {
    expect(parseRegistryPath('/v2/')).toEqual({ kind: 'base' });
    expect(parseRegistryPath('/v2')).toEqual({ kind: 'base' });
    expect(parseRegistryPath('/v2/token')).toEqual({ kind: 'token' });
    expect(parseRegistryPath('/v2/ns/app/manifests/latest')).toEqual({
      kind: 'manifest',
      namespace: 'ns',
      stream: 'app',
      reference: 'latest',
    });
    expect(parseRegistryPath(`/v2/ns/app/blobs/${D}`)).toEqual({
      kind: 'blob',
      namespace: 'ns',
      stream: 'app',
      digest: D,
    });
    expect(parseRegistryPath('/v2/ns/app/tags/list')).toEqual({
      kind: 'tags',
      namespace: 'ns',
      stream: 'app',
    });
  });

  it('any other repository shape is unknown: one segment, three, invalid names', () => {
    for (const p of [
      '/v2/app/manifests/latest',
      '/v2/a/b/c/manifests/latest',
      '/v2/NS/app/manifests/latest',
      '/v2/ns/-app/tags/list',
      '/v2/ns/app/blobs/uploads/',
      '/v2/_catalog',
    ])
      expect(parseRegistryPath(p), p).toEqual({ kind: 'unknown' });
  });
});

describe('token scopes', () => {
  it('parses space-separated entries, several parameters, names with a port, and drops garbage', () => {
    expect(parseScopes(['repository:ns/app:pull,push repository:ns/b:pull', 'registry:catalog:*'])).toEqual([
      { type: 'repository', name: 'ns/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'ns/b', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    expect(parseScopes(['repository:host:5000/ns/app:pull'])).toEqual([
      { type: 'repository', name: 'host:5000/ns/app', actions: ['pull'] },
    ]);
    expect(parseScopes(['nonsense', 'repository::pull', ':x:pull', ''])).toEqual([]);
  });
});

describe('registry tokens', () => {
  const key = Buffer.alloc(32, 7);
  const claims: RegistryTokenClaims = {
    iss: 'imagestreams',
    sub: 'pat',
    groups: ['system:authenticated'],
    aud: '127.0.0.1:8080',
    scope: ['repository:ns/app:pull'],
    iat: 1000,
    exp: 1300,
  };

  it('round-trips before expiry and covers exactly the granted repositories', () => {
    const token = signRegistryToken(claims, key);
    const read = verifyRegistryToken(token, key, 1299);
    expect(read).toEqual(claims);
    expect(tokenAllowsPull(read!, 'ns/app')).toBe(true);
    expect(tokenAllowsPull(read!, 'ns/other')).toBe(false);
  });

  it('refuses expired, re-signed, altered and malformed tokens', () => {
    const token = signRegistryToken(claims, key);
    expect(verifyRegistryToken(token, key, 1300)).toBeUndefined();
    expect(verifyRegistryToken(token, Buffer.alloc(32, 8), 1000)).toBeUndefined();
    const [h, , s] = token.split('.');
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: ['repository:ns/secret:pull'] })).toString(
      'base64url',
    );
    expect(verifyRegistryToken(`${h}.${widened}.${s}`, key, 1000)).toBeUndefined();
    expect(verifyRegistryToken('a.b', key, 1000)).toBeUndefined();
    expect(verifyRegistryToken('', key, 1000)).toBeUndefined();
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(verifyRegistryToken(`${none}.${token.split('.')[1]}.${s}`, key, 1000)).toBeUndefined();
  });
});

describe('errors and paging', () => {
  it('errors are the distribution JSON form with their statuses', () => {
    const e = new DistributionError('MANIFEST_UNKNOWN', 'manifest unknown', { reference: 'x' });
    expect(e.status).toBe(404);
    expect(JSON.parse(e.body())).toEqual({
      errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { reference: 'x' } }],
    });
    expect(new DistributionError('UNAUTHORIZED', 'x').status).toBe(401);
    expect(new DistributionError('DENIED', 'x').status).toBe(403);
    expect(new DistributionError('UNSUPPORTED', 'x').status).toBe(405);
    expect(JSON.parse(new DistributionError('DENIED', 'no').body())).toEqual({
      errors: [{ code: 'DENIED', message: 'no' }],
    });
  });

  it('pages tags in lexical order with n and last', () => {
    const tags = ['b', 'a', 'd', 'c'];
    expect(pageTags(tags, {})).toEqual({ tags: ['a', 'b', 'c', 'd'] });
    expect(pageTags(tags, { n: '2' })).toEqual({ tags: ['a', 'b'], next: 'b' });
    expect(pageTags(tags, { n: '2', last: 'b' })).toEqual({ tags: ['c', 'd'] });
    expect(pageTags(tags, { n: '0' })).toEqual({ tags: [] });
    expect(pageTags(tags, { last: 'd' })).toEqual({ tags: [] });
    expect(() => pageTags(tags, { n: '-1' })).toThrow(DistributionError);
    expect(nextPageLink({ namespace: 'ns', stream: 'app' }, 2, 'b')).toBe(
      '</v2/ns/app/tags/list?n=2&last=b>; rel="next"',
    );
  });

  it('serves image manifests to any client, an index only to one that accepts it', () => {
    const index = 'application/vnd.oci.image.index.v1+json';
    const manifest = 'application/vnd.oci.image.manifest.v1+json';
    const dockerOnly = 'application/vnd.docker.distribution.manifest.v2+json';
    expect(acceptsManifest(dockerOnly, manifest)).toBe(true);
    expect(acceptsManifest(undefined, index)).toBe(true);
    expect(acceptsManifest(`${dockerOnly}, ${index}; q=0.5`, index)).toBe(true);
    expect(acceptsManifest('*/*', index)).toBe(true);
    expect(acceptsManifest(dockerOnly, index)).toBe(false);
  });
});
