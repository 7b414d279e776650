import { describe, expect, it } from 'vitest';
import {
  apiHost,
  familiarName,
  normalizedString,
  parseNormalizedReference,
  repositoryAsWritten,
  repositoryKey,
} from '../../../functions/core/reference';

const D = `sha256:${'b'.repeat(64)}`;

// Cases from distribution/reference normalize_test.go.
describe('parseNormalizedReference (distribution/reference ParseNormalizedNamed)', () => {
  it.each([
    ['ubuntu', 'docker.io', 'library/ubuntu', '', ''],
    ['docker.io/ubuntu', 'docker.io', 'library/ubuntu', '', ''],
    ['library/ubuntu', 'docker.io', 'library/ubuntu', '', ''],
    ['index.docker.io/user/repo', 'docker.io', 'user/repo', '', ''],
    ['localhost/foo', 'localhost', 'foo', '', ''],
    ['localhost:5000/foo/bar:1', 'localhost:5000', 'foo/bar', '1', ''],
    ['Foo/bar', 'Foo', 'bar', '', ''],
    ['foo:5000', 'docker.io', 'library/foo', '5000', ''],
    ['registry-1.docker.io/library/ubuntu', 'registry-1.docker.io', 'library/ubuntu', '', ''],
    [`ghcr.io/owner/img:v1@${D}`, 'ghcr.io', 'owner/img', 'v1', D],
    ['[::1]:5000/x', '[::1]:5000', 'x', '', ''],
    ['127.0.0.1:15000/tiny/app:multi', '127.0.0.1:15000', 'tiny/app', 'multi', ''],
    ['quay.io/a/b/c', 'quay.io', 'a/b/c', '', ''],
    ['user/repo', 'docker.io', 'user/repo', '', ''],
  ])('%s', (spec, domain, path, tag, digest) => {
    expect(parseNormalizedReference(spec)).toEqual({ domain, path, tag, digest });
  });

  it.each([
    ['UPPER', 'must be lowercase'],
    ['docker.io/Library/ubuntu', 'must be lowercase'],
    ['a'.repeat(64), 'cannot specify 64-byte hexadecimal strings'],
    ['', 'at least one component'],
    ['foo@sha256:abc', 'invalid reference format'],
    [`foo@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    [`foo@sha256:${'a'.repeat(40)}`, 'invalid checksum digest length'],
    ['a/b:tag:x', 'invalid reference format'],
    [`docker.io/${'a'.repeat(260)}/b`, 'not be more than 255'],
  ])('rejects %j', (spec, message) => {
    expect(() => parseNormalizedReference(spec)).toThrow(message);
  });

  it('gives one key per repository however it was spelled, and the familiar and API forms', () => {
    const keys = [
      'ubuntu',
      'docker.io/ubuntu',
      'index.docker.io/library/ubuntu:latest',
      'library/ubuntu',
    ].map((s) => repositoryKey(parseNormalizedReference(s)));
    expect(new Set(keys)).toEqual(new Set(['docker.io/library/ubuntu']));
    expect(familiarName(parseNormalizedReference('docker.io/library/ubuntu'))).toBe('ubuntu');
    expect(familiarName(parseNormalizedReference('user/repo'))).toBe('user/repo');
    expect(familiarName(parseNormalizedReference('quay.io/x/y'))).toBe('quay.io/x/y');
    expect(normalizedString(parseNormalizedReference('busybox:nope'))).toBe('docker.io/library/busybox:nope');
    expect(normalizedString(parseNormalizedReference(`q.io/x:1@${D}`))).toBe(`q.io/x@${D}`);
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('quay.io')).toBe('quay.io');
    expect(repositoryAsWritten(`quay.io/x/y:1@${D}`)).toBe('quay.io/x/y');
  });
});
