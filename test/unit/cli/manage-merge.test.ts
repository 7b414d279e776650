import { describe, expect, it } from 'vitest';
import {
  LAST_APPLIED,
  lastApplied,
  merge3,
  mergeStringMap,
  sameImageStream,
  sameRoleBinding,
  sameTag,
} from '../../../cli/manage/merge';

const KEYED = { tags: 'name' };
const docker = (name: string) => ({ kind: 'DockerImage', name });

describe('merge3 (what apply writes)', () => {
  it('maps: file keys over live keys; keys the last applied configuration had and the file dropped go', () => {
    const live = { a: 1, b: 2, server: 'kept', nested: { x: 1, y: 2 } };
    const file = { a: 10, nested: { x: 5 } };
    const last = { a: 1, b: 2, nested: { x: 1, y: 2 } };
    expect(merge3(live, file, last)).toEqual({ a: 10, server: 'kept', nested: { x: 5 } });
    // Without a last applied configuration nothing is removed.
    expect(merge3(live, file, undefined)).toEqual({ a: 10, b: 2, server: 'kept', nested: { x: 5, y: 2 } });
  });

  it('null in the file removes the field; other lists and scalars are the file’s', () => {
    expect(merge3({ a: 1, list: [1, 2] }, { a: null, list: [3] }, undefined)).toEqual({ list: [3] });
    expect(merge3(undefined, { a: { b: [1] } }, undefined)).toEqual({ a: { b: [1] } });
  });

  it('spec tags merge by name: others’ tags stay, dropped tags go, live-only fields of a tag stay', () => {
    const live = {
      tags: [
        { name: 'a', from: docker('x/a:1'), generation: 4, importPolicy: { importMode: 'PreserveOriginal' } },
        { name: 'dropped', from: docker('x/d:1'), generation: 2 },
        { name: 'theirs', from: docker('x/t:1'), generation: 3 },
      ],
    };
    const last = {
      tags: [
        { name: 'a', from: docker('x/a:1') },
        { name: 'dropped', from: docker('x/d:1') },
      ],
    };
    const file = {
      tags: [
        { name: 'a', from: docker('x/a:2'), importPolicy: { scheduled: true } },
        { name: 'new', from: docker('x/n:1') },
      ],
    };
    expect(merge3(live, file, last, KEYED)).toEqual({
      tags: [
        {
          name: 'a',
          from: docker('x/a:2'),
          generation: 4,
          importPolicy: { importMode: 'PreserveOriginal', scheduled: true },
        },
        { name: 'theirs', from: docker('x/t:1'), generation: 3 },
        { name: 'new', from: docker('x/n:1') },
      ],
    });
  });

  it('duplicate tag names in the file collapse, last wins, as the server reads them', () => {
    const file = {
      tags: [
        { name: 'a', from: docker('x:1') },
        { name: 'a', from: docker('x:2') },
      ],
    };
    expect(merge3({ tags: [] }, file, undefined, KEYED)).toEqual({
      tags: [{ name: 'a', from: docker('x:2') }],
    });
  });

  it('labels and annotations: server-set keys survive, an emptied map is no map', () => {
    expect(
      mergeStringMap(
        { 'openshift.io/image.dockerRepositoryCheck': 't', team: 'a' },
        { team: 'b' },
        { team: 'a' },
      ),
    ).toEqual({ 'openshift.io/image.dockerRepositoryCheck': 't', team: 'b' });
    expect(mergeStringMap({ team: 'a' }, undefined, { team: 'a' })).toBeUndefined();
    expect(mergeStringMap(undefined, null, undefined)).toBeUndefined();
  });
});

describe('sameImageStream (unchanged or configured)', () => {
  const live = {
    metadata: {
      name: 's',
      resourceVersion: '7',
      labels: { team: 'a' },
      annotations: { 'openshift.io/image.dockerRepositoryCheck': 't' },
    },
    spec: {
      lookupPolicy: { local: false },
      dockerImageRepository: '',
      tags: [
        {
          name: 'b',
          annotations: null,
          from: { kind: 'ImageStreamTag', name: 'other:1' },
          generation: 5,
          importPolicy: { importMode: 'Legacy' },
          referencePolicy: { type: 'Source' },
        },
        {
          name: 'a',
          annotations: null,
          from: docker('quay.io/x:1'),
          generation: 3,
          importPolicy: { importMode: 'Legacy', scheduled: true },
          referencePolicy: { type: 'Source' },
        },
      ],
    },
    status: { tags: [] },
  };
  const desired = (change: (d: any) => void = () => {}) => {
    const d: any = {
      metadata: { labels: { team: 'a' }, annotations: { 'openshift.io/image.dockerRepositoryCheck': 't' } },
      spec: {
        tags: [
          { name: 'a', from: docker('quay.io/x:1'), importPolicy: { scheduled: true }, generation: 1 },
          { name: 'b', from: { kind: 'ImageStreamTag', name: 'other:1' }, annotations: {} },
        ],
      },
    };
    change(d);
    return d;
  };

  it('defaults, order, generations and the server’s importMode are no change', () => {
    expect(sameImageStream(desired(), live)).toBe(true);
  });

  it.each([
    ['a tag source', (d: any) => (d.spec.tags[0].from.name = 'quay.io/x:2')],
    ['a tag policy', (d: any) => (d.spec.tags[0].importPolicy.insecure = true)],
    ['the reference policy', (d: any) => (d.spec.tags[1].referencePolicy = { type: 'Local' })],
    ['an import mode', (d: any) => (d.spec.tags[0].importPolicy.importMode = 'PreserveOriginal')],
    ['generation 0 (import again)', (d: any) => (d.spec.tags[0].generation = 0)],
    ['a removed tag', (d: any) => d.spec.tags.pop()],
    ['a label', (d: any) => (d.metadata.labels.team = 'b')],
    ['an annotation', (d: any) => (d.metadata.annotations[LAST_APPLIED] = '{}')],
    ['lookupPolicy', (d: any) => (d.spec.lookupPolicy = { local: true })],
  ])('%s is a change', (_what, change) => {
    expect(sameImageStream(desired(change), live)).toBe(false);
  });

  it('sameTag compares one spec tag the same way', () => {
    expect(
      sameTag(
        { name: 'a', from: docker('quay.io/x:1'), importPolicy: { scheduled: true } },
        live.spec.tags[1]!,
      ),
    ).toBe(true);
    expect(sameTag({ name: 'a', from: docker('quay.io/x:1') }, live.spec.tags[1]!)).toBe(false);
  });
});

describe('sameRoleBinding', () => {
  const live = {
    metadata: { name: 'view', resourceVersion: '3' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
      { kind: 'ServiceAccount', name: 'builder', namespace: 'p1' },
    ],
  };

  it('an implied apiGroup and a service account’s own namespace are no change', () => {
    const d = {
      metadata: {},
      roleRef: { kind: 'ClusterRole', name: 'view' },
      subjects: [
        { kind: 'User', name: 'alice' },
        { kind: 'ServiceAccount', name: 'builder' },
      ],
    };
    expect(sameRoleBinding(d, live, 'p1')).toBe(true);
    expect(sameRoleBinding(d, live, 'p2')).toBe(false);
    expect(sameRoleBinding({ ...d, subjects: [d.subjects[0]] }, live, 'p1')).toBe(false);
    expect(sameRoleBinding({ ...d, roleRef: { kind: 'ClusterRole', name: 'edit' } }, live, 'p1')).toBe(false);
  });
});

describe('lastApplied', () => {
  it('reads the annotation, and ignores a missing or unreadable one', () => {
    expect(lastApplied({ metadata: { annotations: { [LAST_APPLIED]: '{"spec":{"tags":[]}}\n' } } })).toEqual({
      spec: { tags: [] },
    });
    expect(lastApplied({ metadata: { annotations: { [LAST_APPLIED]: 'not json' } } })).toBeUndefined();
    expect(lastApplied({ metadata: {} })).toBeUndefined();
  });
});
