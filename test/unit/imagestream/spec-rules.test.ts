import { describe, expect, it } from 'vitest';
import type { TagReference } from '../../../functions/core/api-types';
import { addTagEvent } from '../../../functions/core/imagestream/history';
import type { StreamState } from '../../../functions/core/imagestream/model';
import {
  applySpecUpdate,
  normalizeTagReference,
  tagRefChanged,
  topsOf,
  trackedSourceTag,
  updateTrackingTags,
} from '../../../functions/core/imagestream/spec-rules';

const cfg = { defaultImportMode: 'Legacy' as const };
let tid = 0;
const newTid = () => `tid${tid++}`;
const docker = (name: string, from: string, more: Partial<TagReference> = {}): TagReference =>
  normalizeTagReference({ name, from: { kind: 'DockerImage', name: from }, ...more }, cfg);

function state(): StreamState {
  return {
    head: {
      namespace: 'ns',
      name: 'is',
      uid: 'u',
      resourceVersion: 1,
      generation: 0,
      creationTimestamp: 'now',
      labels: {},
      annotations: {},
      lookupPolicy: { local: false },
      dockerImageRepository: '',
    },
    tags: new Map(),
    complete: true,
  };
}

describe('normalizeTagReference', () => {
  it('applies decode defaults and canonical empties', () => {
    expect(normalizeTagReference({ name: 'a', annotations: {} }, cfg)).toEqual({
      name: 'a',
      annotations: null,
      generation: null,
      importPolicy: { importMode: 'Legacy' },
      referencePolicy: { type: 'Source' },
    });
  });
});

describe('tagRefChanged (docs/semantics.md#generations)', () => {
  const base = docker('a', 'quay.io/x/y:1', { generation: 2 });
  it.each([
    ['from.name', { from: { kind: 'DockerImage', name: 'quay.io/x/y:2' } }, true],
    ['namespace', { from: { kind: 'DockerImage', name: 'quay.io/x/y:1', namespace: 'other' } }, true],
    ['reference', { reference: true }, true],
    ['importMode', { importPolicy: { importMode: 'PreserveOriginal' as const } }, true],
    ['generation 0', { generation: 0 }, true],
    ['scheduled', { importPolicy: { importMode: 'Legacy' as const, scheduled: true } }, false],
    ['insecure', { importPolicy: { importMode: 'Legacy' as const, insecure: true } }, false],
    ['referencePolicy', { referencePolicy: { type: 'Local' } }, false],
    ['annotations', { annotations: { a: 'b' } }, false],
    ['kind', { from: { kind: 'ImageStreamTag', name: 'quay.io/x/y:1' } }, false],
  ])('%s -> %s', (_what, change, expected) => {
    expect(tagRefChanged(base, { ...base, ...change } as TagReference, 'ns')).toBe(expected);
  });
  it('is false for a tag without from', () => {
    expect(tagRefChanged(base, { name: 'a' }, 'ns')).toBe(false);
  });
});

describe('applySpecUpdate', () => {
  it('create sets every generation to 1', () => {
    const s = state();
    const r = applySpecUpdate(
      s,
      { tags: new Map([['a', docker('a', 'x/y:1', { generation: 7 })]]) },
      { create: true, newTid },
    );
    expect(s.head.generation).toBe(1);
    expect(s.tags.get('a')!.spec!.generation).toBe(1);
    expect(r.changedTags).toEqual(['a']);
  });

  it('keeps stored generations, bumps the stream, new tags get the new generation', () => {
    const s = state();
    applySpecUpdate(s, { tags: new Map([['a', docker('a', 'x/y:1')]]) }, { create: true, newTid });
    s.head.generation = 3;
    s.tags.get('a')!.spec!.generation = 2;
    const r = applySpecUpdate(
      s,
      {
        tags: new Map([
          ['a', docker('a', 'x/y:1', { generation: 99 })],
          ['b', docker('b', 'x/b:1')],
        ]),
      },
      { create: false, newTid },
    );
    expect(r.specChanged).toBe(true);
    expect(s.head.generation).toBe(4);
    expect(s.tags.get('a')!.spec!.generation).toBe(2);
    expect(s.tags.get('b')!.spec!.generation).toBe(4);
    expect(r.changedTags).toEqual(['b']);
    const again = applySpecUpdate(
      s,
      { tags: new Map([['a', docker('a', 'x/y:1')]]) },
      { create: false, newTid },
    );
    expect(again.specChanged).toBe(false);
    expect(s.head.generation).toBe(4);
  });

  it('removing a spec tag keeps its record when it has history', () => {
    const s = state();
    applySpecUpdate(s, { tags: new Map([['a', docker('a', 'x/y:1')]]) }, { create: true, newTid });
    addTagEvent(s.tags.get('a')!, {
      created: 'c',
      dockerImageReference: 'x/y@sha256:1',
      image: 'sha256:1',
      generation: 1,
    });
    applySpecUpdate(s, { tags: new Map([['a', null]]) }, { create: false, newTid });
    expect(s.tags.get('a')!.spec).toBeNull();
    expect(s.tags.get('a')!.recent).toHaveLength(1);
    expect(s.head.generation).toBe(2);
  });

  it('maintains alias lists on the tracked tag, including a placeholder for an empty source', () => {
    const s = state();
    const alias = normalizeTagReference({ name: 'b', from: { kind: 'ImageStreamTag', name: 'is:a' } }, cfg);
    applySpecUpdate(s, { tags: new Map([['b', alias]]) }, { create: true, newTid });
    expect(s.tags.get('a')!.aliases).toEqual(['b']);
    expect(s.tags.get('a')!.spec).toBeNull();
    applySpecUpdate(s, { tags: new Map([['b', docker('b', 'x/y:1')]]) }, { create: false, newTid });
    expect(s.tags.get('a')!.aliases).toEqual([]);
  });
});

describe('trackedSourceTag / updateTrackingTags (docs/semantics.md#alias-tracking)', () => {
  it('recognizes same-stream references only', () => {
    const ist = (name: string, namespace?: string): TagReference => ({
      name: 'x',
      from: { kind: 'ImageStreamTag', name, ...(namespace ? { namespace } : {}) },
    });
    expect(trackedSourceTag(ist('a'), 'ns', 'is')).toBe('a');
    expect(trackedSourceTag(ist('is:a'), 'ns', 'is')).toBe('a');
    expect(trackedSourceTag(ist('is:a', 'ns'), 'ns', 'is')).toBe('a');
    expect(trackedSourceTag(ist('other:a'), 'ns', 'is')).toBeUndefined();
    expect(trackedSourceTag(ist('is:a', 'elsewhere'), 'ns', 'is')).toBeUndefined();
  });

  it('propagates transitively, visiting each tag once even with cycles', () => {
    const s = state();
    const ist = (name: string, src: string) =>
      normalizeTagReference({ name, from: { kind: 'ImageStreamTag', name: src } }, cfg);
    applySpecUpdate(
      s,
      {
        tags: new Map([
          ['a', { name: 'a' }],
          ['b', ist('b', 'a')],
          ['c', ist('c', 'b')],
          ['d', ist('d', 'e')],
          ['e', ist('e', 'd')],
        ]),
      },
      { create: true, newTid },
    );
    const before = topsOf(s);
    addTagEvent(s.tags.get('a')!, {
      created: 'c',
      dockerImageReference: 'r@sha256:1',
      image: 'sha256:1',
      generation: 1,
    });
    const updated = updateTrackingTags(s, before);
    expect(updated.sort()).toEqual(['b', 'c']);
    expect(s.tags.get('c')!.recent[0]!.image).toBe('sha256:1');
    expect(s.tags.get('d')!.recent).toEqual([]);
  });
});
