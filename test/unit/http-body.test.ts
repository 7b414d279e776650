import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { StatusError } from '../../functions/core/errors';
import { mergePatch, strategicMergePatch } from '../../functions/core/patch';
import { duplicateJsonKeys, jsonDepth, MAX_BODY_DEPTH, readBody } from '../../functions/http/body';
import { marshallableKeys } from '../../functions/store/dynamodb-client';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const statusOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return { code: e.code, reason: e.reason, message: e.message };
    throw e;
  }
  return undefined;
};

describe('request bodies at the edge', () => {
  it('measures nesting without parsing, ignoring brackets in strings and escaped quotes', () => {
    expect(jsonDepth('{"a":[1,{"b":2}]}', 10)).toBe(3);
    expect(jsonDepth('{"a":"[[[[{{{{\\"[["}', 10)).toBe(1);
    expect(jsonDepth(nested(10_000), MAX_BODY_DEPTH)).toBe(MAX_BODY_DEPTH + 1);
  });

  it('refuses deep bodies and __proto__ keys with 400, naming where', () => {
    expect(readBody(nested(MAX_BODY_DEPTH), 'application/json', 'object')).toBeDefined();
    expect(statusOf(() => readBody(nested(MAX_BODY_DEPTH + 1), undefined, 'object'))).toMatchObject({
      code: 400,
      reason: 'BadRequest',
    });
    expect(statusOf(() => readBody('{"a":[{"b":{"__proto__":1}}]}', undefined, 'object'))).toMatchObject({
      code: 400,
      message: 'the request body has a key "__proto__" in a[0].b; no field of this API takes that key',
    });
    expect(readBody('{"constructor":{"name":"Set"}}', undefined, 'object')).toEqual({
      constructor: { name: 'Set' },
    });
  });

  it('takes the media types of each kind of body, JSON with parameters and no type as JSON', () => {
    expect(readBody('{}', 'Application/JSON; charset=utf-8', 'object')).toEqual({});
    expect(readBody('{}', undefined, 'object')).toEqual({});
    expect(readBody('{}', 'application/merge-patch+json', 'patch')).toEqual({});
    expect(readBody('{}', 'application/vnd.docker.distribution.events.v1+json', 'notification')).toEqual({});
    expect(readBody('   ', 'text/plain', 'object')).toBeUndefined();
    for (const [type, kind] of [
      ['text/plain', 'object'],
      ['application/merge-patch+json', 'object'],
      ['application/json', 'patch'],
      ['application/x-www-form-urlencoded', 'notification'],
    ] as const)
      expect(statusOf(() => readBody('{}', type, kind))).toMatchObject({
        code: 415,
        reason: 'UnsupportedMediaType',
      });
  });
});

describe('patches', () => {
  it('never read inherited keys nor recurse past the depth bound', () => {
    expect(mergePatch({}, { constructor: { a: 1 }, toString: 'x' })).toEqual({
      constructor: { a: 1 },
      toString: 'x',
    });
    expect(strategicMergePatch({}, { constructor: [{ name: 'a' }] })).toEqual({
      constructor: [{ name: 'a' }],
    });
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++) deep = { a: deep };
    expect(statusOf(() => mergePatch({}, deep))).toMatchObject({ code: 400 });
    expect(statusOf(() => strategicMergePatch({}, deep))).toMatchObject({ code: 400 });
  });
});

describe('items for the table', () => {
  it('marshal maps with a key named constructor as maps', () => {
    const item = {
      labels: { constructor: 'x' },
      doc: { Config: { Labels: { constructor: { name: 'Set' } } } },
    };
    expect(() => marshall(item)).toThrow();
    expect(marshall(marshallableKeys(item))).toEqual({
      labels: { M: { constructor: { S: 'x' } } },
      doc: { M: { Config: { M: { Labels: { M: { constructor: { M: { name: { S: 'Set' } } } } } } } } },
    });
    const plain = { a: { b: [1, { c: 'd' }] } };
    expect(marshallableKeys(plain)).toBe(plain);
  });
});

describe('duplicate JSON keys', () => {
  it('names each key an object gives twice, by its path, in the order met', () => {
    expect(
      duplicateJsonKeys(
        '{"metadata":{"name":"a","labels":{"x":"1","x":"2"},"name":"b"},"spec":{"tags":[{"name":"t","from":{},"name":"u"},{"name":"v"}]},"spec":1}',
      ),
    ).toEqual(['metadata.labels.x', 'metadata.name', 'spec.tags[0].name', 'spec']);
  });

  it('is not fooled by keys inside strings, escapes or equal keys in different objects', () => {
    expect(
      duplicateJsonKeys(
        '{"a":"{\\"a\\":1,\\"a\\":2}","b":{"a":1},"c":[{"a":1},{"a":2}],"d\\"":1,"d\\u0022":2}',
      ),
    ).toEqual(['d"']);
    expect(duplicateJsonKeys('[]')).toEqual([]);
  });
});
