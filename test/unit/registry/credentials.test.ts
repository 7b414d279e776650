import { describe, expect, it } from 'vitest';
import {
  credentialsFor,
  type DockerConfig,
  globMatch,
  parseDockerConfig,
} from '../../../functions/registry/credentials';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const cfg = (auths: DockerConfig['auths']): DockerConfig => ({ auths });
const up = (username: string, password = `${username}-pw`) => ({ username, password });
/** Names of the matching credentials, best first. */
const who = (configs: DockerConfig[], registry: string, repository: string) =>
  credentialsFor(configs, registry, repository).map((c) => c.username);

describe('parseDockerConfig', () => {
  it('reads .dockerconfigjson (auths) and .dockercfg (the map itself)', () => {
    const auths = { 'quay.io': { auth: b64('u:p') } };
    expect(parseDockerConfig({ auths }, false)).toEqual({ auths });
    expect(parseDockerConfig(auths, true)).toEqual({ auths });
  });

  it('keeps auth, username, password and identitytoken; drops everything else', () => {
    const out = parseDockerConfig(
      {
        auths: {
          a: { auth: b64('u:p'), email: 'e@x', serveraddress: 'a' },
          b: { username: 'u', password: 'p', identitytoken: 't' },
        },
        credsStore: 'desktop',
        HttpHeaders: { 'User-Agent': 'x' },
      },
      false,
    );
    expect(out).toEqual({
      auths: { a: { auth: b64('u:p') }, b: { username: 'u', password: 'p', identitytoken: 't' } },
    });
  });

  it('matches field names case-insensitively, as Go’s encoding/json does', () => {
    expect(parseDockerConfig({ auths: { a: { Username: 'u', PASSWORD: 'p' } } }, false)).toEqual({
      auths: { a: { username: 'u', password: 'p' } },
    });
  });

  it('accepts an empty auths map', () => {
    expect(parseDockerConfig({ auths: {} }, false)).toEqual({ auths: {} });
  });

  it.each([
    ['a string', 'x', /must be a JSON object/],
    ['null', null, /must be a JSON object/],
    ['an array', [], /must be a JSON object/],
    ['no auths', { registry: {} }, /"auths" object/],
    ['auths an array', { auths: [] }, /"auths" object/],
    ['an entry that is a string', { auths: { 'quay.io': 'u:p' } }, /entry for "quay.io" must be an object/],
    ['a numeric password', { auths: { q: { username: 'u', password: 1 } } }, /password of the entry for "q"/],
    ['auth not base64', { auths: { q: { auth: 'not base64!' } } }, /base64 of "username:password"/],
    ['auth unpadded', { auths: { q: { auth: b64('u:pp').replace(/=+$/, '') } } }, /base64/],
    ['auth without a colon', { auths: { q: { auth: b64('user') } } }, /base64 of "username:password"/],
    ['auth with an empty user', { auths: { q: { auth: b64(':secret') } } }, /"username:password"/],
    ['a username alone', { auths: { q: { username: 'u' } } }, /username but no password/],
    ['a password alone', { auths: { q: { password: 'p' } } }, /password but no username/],
    ['an entry without credentials', { auths: { q: { email: 'e@x' } } }, /no credentials/],
    ['a key that is not a registry', { auths: { 'ftp://x': { auth: b64('u:p') } } }, /not a registry/],
    ['a key with spaces', { auths: { 'my registry': { auth: b64('u:p') } } }, /not a registry/],
  ])('refuses %s', (_what, json, message) => {
    expect(() => parseDockerConfig(json, false)).toThrow(message);
  });

  it('refuses a .dockerconfigjson given as a legacy .dockercfg', () => {
    expect(() => parseDockerConfig({ auths: { 'quay.io': { auth: b64('u:p') } } }, true)).toThrow(
      /kubernetes\.io\/dockerconfigjson/,
    );
    expect(() => parseDockerConfig({ auths: {} }, true)).toThrow(/dockerconfigjson/);
  });

  it('never puts a credential into its error messages', () => {
    const secrets = ['hunter2', b64('alice:hunter2')];
    const bad: unknown[] = [
      { auths: { q: { username: 'alice', password: 42, auth: 'hunter2' } } },
      { auths: { q: { auth: 'hunter2' } } },
      { auths: { q: { auth: b64('alicehunter2') } } },
      { auths: { q: { password: 'hunter2' } } },
      { auths: { q: { username: 'hunter2' } } },
    ];
    for (const json of bad) {
      let message = '';
      try {
        parseDockerConfig(json, false);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).not.toBe('');
      for (const s of [...secrets, 'alice']) expect(message).not.toContain(s);
    }
  });

  it('keeps a "__proto__" key as data instead of a prototype', () => {
    const json = JSON.parse(`{"auths":{"__proto__":{"username":"u","password":"p"}}}`);
    const out = parseDockerConfig(json, false);
    expect(Object.getPrototypeOf(out.auths)).toBe(Object.prototype);
    expect(Object.keys(out.auths)).toEqual(['__proto__']);
  });
});

describe('credentialsFor: key forms', () => {
  it.each([
    ['host', 'quay.io'],
    ['https://host', 'https://quay.io'],
    ['http://host', 'http://quay.io'],
    ['host with /v1/', 'https://quay.io/v1/'],
    ['host with /v2/', 'quay.io/v2/'],
    ['host with /v2', 'quay.io/v2'],
    ['host with a trailing slash', 'quay.io/'],
    ['upper-case host', 'QUAY.IO'],
  ])('%s matches every repository of that registry', (_what, key) => {
    const c = [cfg({ [key]: up('u') })];
    expect(who(c, 'quay.io', 'org/app')).toEqual(['u']);
    expect(who(c, 'quay.io', 'a/b/c')).toEqual(['u']);
    expect(who(c, 'registry.quay.io', 'org/app')).toEqual([]);
    expect(who(c, 'quay.io:5000', 'org/app')).toEqual([]);
  });

  it('a /v2/ prefix is the API version, the rest is a repository path', () => {
    const c = [cfg({ 'https://quay.io/v2/org': up('u') })];
    expect(who(c, 'quay.io', 'org/app')).toEqual(['u']);
    expect(who(c, 'quay.io', 'other/app')).toEqual([]);
  });

  it('ports must match exactly', () => {
    const c = [cfg({ 'localhost:5000': up('five'), localhost: up('none'), 'localhost:443': up('tls') })];
    expect(who(c, 'localhost:5000', 'x')).toEqual(['five']);
    expect(who(c, 'localhost', 'x')).toEqual(['none']);
    expect(who(c, 'localhost:443', 'x')).toEqual(['tls']);
    expect(who(c, 'localhost:5001', 'x')).toEqual([]);
  });

  it('IPv6 literals with ports', () => {
    const c = [cfg({ '[::1]:5000': up('v6'), 'http://[fd00::1]': up('other') })];
    expect(who(c, '[::1]:5000', 'x/y')).toEqual(['v6']);
    expect(who(c, '[::1]', 'x/y')).toEqual([]);
    expect(who(c, '[fd00::1]', 'x/y')).toEqual(['other']);
  });

  it('a key with a path matches repositories at or under that path, by whole segments', () => {
    const c = [cfg({ 'quay.io/team': up('team'), 'quay.io/team/app/': up('app') })];
    expect(who(c, 'quay.io', 'team')).toEqual(['team']);
    expect(who(c, 'quay.io', 'team/app')).toEqual(['app', 'team']);
    expect(who(c, 'quay.io', 'team/app/sub')).toEqual(['app', 'team']);
    expect(who(c, 'quay.io', 'team/application')).toEqual(['team']);
    // Kubernetes' string prefix would send these to another organisation; segments do not.
    expect(who(c, 'quay.io', 'teammates/app')).toEqual([]);
    expect(who(c, 'quay.io', 'other/team')).toEqual([]);
  });
});

describe('credentialsFor: Docker Hub', () => {
  it.each([
    'docker.io',
    'index.docker.io',
    'registry-1.docker.io',
    'https://index.docker.io/v1/',
    'https://registry-1.docker.io/v2/',
  ])('key %s is Docker Hub', (key) => {
    const c = [cfg({ [key]: up('hub') })];
    expect(who(c, 'docker.io', 'library/ubuntu')).toEqual(['hub']);
    expect(who(c, 'index.docker.io', 'me/app')).toEqual(['hub']);
    expect(who(c, 'registry-1.docker.io', 'me/app')).toEqual(['hub']);
    expect(who(c, 'quay.io', 'library/ubuntu')).toEqual([]);
    expect(who(c, 'docker.io:5000', 'library/ubuntu')).toEqual([]);
  });

  it('a Docker Hub key with a path applies to that namespace only', () => {
    const c = [cfg({ 'docker.io/me': up('mine'), 'https://index.docker.io/v1/': up('all') })];
    expect(who(c, 'docker.io', 'me/app')).toEqual(['mine', 'all']);
    expect(who(c, 'docker.io', 'library/ubuntu')).toEqual(['all']);
  });

  it('the same credential under several Docker Hub names is returned once', () => {
    const c = [cfg({ 'docker.io': up('hub'), 'https://index.docker.io/v1/': { auth: b64('hub:hub-pw') } })];
    expect(credentialsFor(c, 'docker.io', 'library/ubuntu')).toEqual([up('hub')]);
  });
});

describe('credentialsFor: glob hosts (filepath.Match per label)', () => {
  const c = [
    cfg({ '*.example.com': up('any'), 'r?.example.com': up('short'), 'r[0-9].example.com': up('digit') }),
  ];

  it('a glob label matches exactly one label', () => {
    expect(who(c, 'registry.example.com', 'x')).toEqual(['any']);
    expect(who(c, 'example.com', 'x')).toEqual([]);
    expect(who(c, 'a.b.example.com', 'x')).toEqual([]);
    expect(who(c, 'registry.example.org', 'x')).toEqual([]);
  });

  it('?, classes, and ports', () => {
    expect(who(c, 'r1.example.com', 'x')).toEqual(['any', 'short', 'digit']);
    expect(who(c, 'rx.example.com', 'x')).toEqual(['any', 'short']);
    expect(who(c, 'r1.example.com:5000', 'x')).toEqual([]);
    expect(who([cfg({ '*.example.com:5000': up('p') })], 'r.example.com:5000', 'x')).toEqual(['p']);
  });

  it('an exact host comes before a glob of the same path length; a longer path before both', () => {
    const c2 = [
      cfg({
        '*.example.com': up('glob'),
        'r.example.com': up('exact'),
        '*.example.com/team': up('globteam'),
      }),
    ];
    expect(who(c2, 'r.example.com', 'team/app')).toEqual(['globteam', 'exact', 'glob']);
    expect(who(c2, 'r.example.com', 'other/app')).toEqual(['exact', 'glob']);
  });

  it.each([
    ['*', 'anything', true],
    ['*', '', true],
    ['a*z', 'abcz', true],
    ['a*z', 'abc', false],
    ['r?g', 'reg', true],
    ['r?g', 'rg', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[^a-c]x', 'dx', true],
    ['[^a-c]x', 'bx', false],
    ['[ab]', 'b', true],
    ['[\\]]', ']', true],
    ['a\\*', 'a*', true],
    ['a\\*', 'ab', false],
    ['a.b', 'axb', false],
    ['[z-a]', 'm', false],
    // Go's filepath.Match answers ErrBadPattern for these; a bad pattern matches nothing.
    ['[a-', 'a', false],
    ['[]a]', ']', false],
    ['[', '[', false],
    ['a\\', 'a\\', false],
    ['[-a]', '-', false],
  ])('globMatch(%j, %j) is %s', (pattern, label, expected) => {
    expect(globMatch(pattern, label)).toBe(expected);
  });
});

describe('credentialsFor: ordering, sources and duplicates', () => {
  it('returns every match, longest path first, then config order (secrets by name, entries as written)', () => {
    const c = [
      cfg({ 'quay.io': up('a-host'), 'quay.io/org': up('a-org') }),
      cfg({ 'https://quay.io': up('b-host'), 'quay.io/org/app': up('b-app') }),
    ];
    expect(who(c, 'quay.io', 'org/app')).toEqual(['b-app', 'a-org', 'a-host', 'b-host']);
  });

  it('de-duplicates equal credentials, keeping the most specific position', () => {
    const c = [cfg({ 'quay.io': up('x') }), cfg({ 'quay.io/org': up('x'), 'quay.io/org/': up('y') })];
    expect(credentialsFor(c, 'quay.io', 'org/app')).toEqual([up('x'), up('y')]);
  });

  it('auth wins over username/password and splits at the first colon', () => {
    const c = [
      cfg({ 'quay.io': { auth: b64('robot+ci:pa:ss:word'), username: 'ignored', password: 'ignored' } }),
    ];
    expect(credentialsFor(c, 'quay.io', 'a/b')).toEqual([{ username: 'robot+ci', password: 'pa:ss:word' }]);
  });

  it('an identity token alone is not a usable credential; a password next to it is', () => {
    const c = [
      cfg({
        'a.io': { identitytoken: 'refresh' },
        'b.io': { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'refresh' },
        'c.io': { username: 'u', password: 'p', identitytoken: 'refresh' },
      }),
    ];
    expect(who(c, 'a.io', 'x')).toEqual([]);
    expect(who(c, 'b.io', 'x')).toEqual([]);
    expect(credentialsFor(c, 'c.io', 'x')).toEqual([up('u', 'p')]);
  });

  it('ignores keys that are not registries and handles no configs', () => {
    expect(credentialsFor([], 'quay.io', 'a')).toEqual([]);
    const c = [cfg({ 'not a registry': up('bad'), 'quay.io': up('ok') })];
    expect(who(c, 'quay.io', 'a')).toEqual(['ok']);
    expect(who(c, 'not a registry', 'a')).toEqual([]);
  });

  it('works on what parseDockerConfig produced for both formats', () => {
    const json = parseDockerConfig({ auths: { 'https://quay.io/v1/': { auth: b64('j:1') } } }, false);
    const legacy = parseDockerConfig({ 'quay.io': { auth: b64('l:2'), email: 'x@y' } }, true);
    expect(credentialsFor([json, legacy], 'quay.io', 'a/b')).toEqual([
      { username: 'j', password: '1' },
      { username: 'l', password: '2' },
    ]);
  });
});
