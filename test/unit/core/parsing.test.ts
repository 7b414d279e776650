import { describe, expect, it } from 'vitest';
import {
  parseImageStreamImageName,
  parseImageStreamTagName,
} from '../../../functions/core/imagestream/names';
import { parseLabelSelector } from '../../../functions/core/label-selector';
import { mergePatch, strategicMergePatch } from '../../../functions/core/patch';
import { parseDockerImageReference } from '../../../functions/core/reference';

describe('parseDockerImageReference (OpenShift splitting rules)', () => {
  it.each([
    ['busybox', { registry: '', namespace: '', name: 'busybox', tag: '', id: '' }],
    ['library/busybox:1', { registry: '', namespace: 'library', name: 'busybox', tag: '1', id: '' }],
    ['quay.io/a/b/c:t', { registry: 'quay.io', namespace: 'a', name: 'b/c', tag: 't', id: '' }],
    ['localhost/x', { registry: 'localhost', namespace: '', name: 'x', tag: '', id: '' }],
    [
      '127.0.0.1:5000/ns/img@sha256:' + 'a'.repeat(64),
      { registry: '127.0.0.1:5000', namespace: 'ns', name: 'img', tag: '', id: `sha256:${'a'.repeat(64)}` },
    ],
    ['[::1]:5000/img:v1', { registry: '[::1]:5000', namespace: '', name: 'img', tag: 'v1', id: '' }],
  ])('%s', (spec, expected) => {
    expect(parseDockerImageReference(spec)).toEqual(expected);
  });

  it.each([
    ['', 'at least one component'],
    ['quay.io/Upper/case', 'must be lowercase'],
    ['a::b', 'invalid reference format'],
    ['x:' + 'a'.repeat(129), 'invalid reference format'],
  ])('rejects %j', (spec, message) => {
    expect(() => parseDockerImageReference(spec)).toThrow(message);
  });
});

describe('image stream names', () => {
  it('splits <stream>:<tag> and <stream>@<id> strictly', () => {
    expect(parseImageStreamTagName('a:b')).toEqual({ stream: 'a', tag: 'b' });
    for (const bad of ['a', 'a:', ':b', 'a:b:c', 'a@b:c'])
      expect(parseImageStreamTagName(bad)).toBeUndefined();
    expect(parseImageStreamImageName('a@sha256:1')).toEqual({ stream: 'a', id: 'sha256:1' });
    for (const bad of ['a', 'a@', '@b', 'a@b@c']) expect(parseImageStreamImageName(bad)).toBeUndefined();
  });
});

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web,tier=front', true],
    ['app!=web', false],
    ['app in (api, web)', true],
    ['tier notin (front)', false],
    ['app', true],
    ['!app', false],
    ['missing!=x', true],
  ])('%j -> %s', (sel, expected) => {
    expect(parseLabelSelector(sel)(labels)).toBe(expected);
  });
  it('rejects malformed selectors with 400', () => {
    expect(() => parseLabelSelector('a in (')).toThrow(expect.objectContaining({ code: 400 }));
  });
});

describe('patches', () => {
  it('merge patch follows RFC 7386', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1] }, { b: { c: null, e: 4 }, l: [2], n: 'x' })).toEqual(
      {
        a: 1,
        b: { d: 3, e: 4 },
        l: [2],
        n: 'x',
      },
    );
  });
  it('strategic merge patch merges spec.tags by name and honours $patch: delete', () => {
    const is = { spec: { tags: [{ name: 'a', x: 1 }, { name: 'b' }] }, other: [1, 2] };
    expect(
      strategicMergePatch(is, {
        spec: { tags: [{ name: 'a', y: 2 }, { name: 'b', $patch: 'delete' }, { name: 'c' }] },
        other: [3],
      }),
    ).toEqual({ spec: { tags: [{ name: 'a', x: 1, y: 2 }, { name: 'c' }] }, other: [3] });
  });
});
