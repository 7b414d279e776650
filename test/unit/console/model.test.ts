import { describe, expect, it } from 'vitest';
import {
  followersOf,
  howOf,
  parseTagName,
  projectEvents,
  pullSpecOf,
  repositoryOf,
  rollbackTag,
  segmentsOf,
  shortDigest,
  summarize,
  tagInto,
} from '../../../console/src/model';
import type { ImageStream, TagHistoryEntry } from '../../../console/src/types';

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const at = (min: number) => new Date(Date.UTC(2026, 0, 6, 12, min)).toISOString();
const entry = (n: number, min: number, by = 'alice', ref = `quay.io/team/app@${D(n)}`): TagHistoryEntry => ({
  image: D(n),
  created: at(min),
  dockerImageReference: ref,
  generation: 1,
  by,
});

function stream(over: Partial<ImageStream> = {}): ImageStream {
  return {
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: 'app', namespace: 'demo', resourceVersion: '7' },
    spec: { tags: [] },
    status: { dockerImageRepository: 'registry.local/demo/app', tags: [] },
    ...over,
  };
}

describe('console model', () => {
  it('shortens a digest to its first 12 hex digits', () => {
    expect(shortDigest('sha256:0123456789abcdef0123')).toBe('0123456789ab');
  });

  it('tells how an entry came to be: service imports, rollbacks, tags, imports, pushes', () => {
    const s = stream({
      spec: { tags: [{ name: 'prod', from: { kind: 'DockerImage', name: 'quay.io/team/app:1.2' } }] },
      status: {
        dockerImageRepository: '',
        tags: [
          {
            tag: 'staging',
            items: [{ image: D(3), created: at(1), dockerImageReference: 'x', generation: 1 }],
          },
        ],
      },
    });
    const entries = [
      entry(1, 9), // back to an image prod had before
      entry(4, 8, 'bob', `mirror.example/other@${D(4)}`), // pushed
      entry(3, 7), // staging had it first
      entry(2, 6, 'system:imagestreams:scheduler'),
      entry(1, 5), // from the repository prod imports from
    ];
    expect(entries.map((_, i) => howOf(entries, i, s, 'prod'))).toEqual([
      'rollback',
      'push',
      'tag',
      'scheduled import',
      'import',
    ]);
    // staging's image counts as a tag only if staging had it no later than this entry
    const later = stream({
      status: {
        dockerImageRepository: '',
        tags: [
          {
            tag: 'staging',
            items: [{ image: D(3), created: at(8), dockerImageReference: 'x', generation: 1 }],
          },
        ],
      },
    });
    expect(howOf([entry(3, 7)], 0, later, 'prod')).toBe('push');
  });

  it('strips tag and digest from a repository', () => {
    expect(repositoryOf('127.0.0.1:5000/team/app:1.2')).toBe('127.0.0.1:5000/team/app');
    expect(repositoryOf('quay.io/team/app@sha256:abc')).toBe('quay.io/team/app');
    expect(repositoryOf('127.0.0.1:5000/team/app')).toBe('127.0.0.1:5000/team/app');
  });

  it('makes each entry current until the next newer one, the newest until now', () => {
    const segs = segmentsOf([entry(3, 30), entry(2, 20), entry(1, 10)], Date.parse(at(40)));
    expect(segs.map((s) => [s.image, (s.end - s.start) / 60_000])).toEqual([
      [D(3), 10],
      [D(2), 10],
      [D(1), 10],
    ]);
  });

  it('resolves pull specs with the Local reference policy through the stream repository', () => {
    const s = stream({
      spec: {
        tags: [
          { name: 'local', referencePolicy: { type: 'Local' } },
          { name: 'source', referencePolicy: { type: 'Source' } },
        ],
      },
      status: {
        dockerImageRepository: 'registry.local/demo/app',
        tags: [
          {
            tag: 'local',
            items: [
              { image: D(1), created: at(1), dockerImageReference: `quay.io/a@${D(1)}`, generation: 1 },
            ],
          },
          {
            tag: 'source',
            items: [
              { image: D(2), created: at(1), dockerImageReference: `quay.io/a@${D(2)}`, generation: 1 },
            ],
          },
        ],
      },
    });
    expect(pullSpecOf(s, 'local')).toBe(`registry.local/demo/app@${D(1)}`);
    expect(pullSpecOf(s, 'source')).toBe(`quay.io/a@${D(2)}`);
    expect(pullSpecOf(s, 'missing')).toBeUndefined();
  });

  it('summarises a stream and finds the tags that follow a tag', () => {
    const s = stream({
      spec: {
        tags: [
          { name: 'prod' },
          { name: 'live', from: { kind: 'ImageStreamTag', name: 'app:prod' } },
          { name: 'other', from: { kind: 'ImageStreamTag', name: 'app:prod', namespace: 'elsewhere' } },
        ],
      },
      status: {
        dockerImageRepository: '',
        tags: [
          { tag: 'prod', items: [{ image: D(1), created: at(5), dockerImageReference: 'x', generation: 1 }] },
          {
            tag: 'live',
            items: [{ image: D(1), created: at(9), dockerImageReference: 'x', generation: 1 }],
            conditions: [
              { type: 'ImportSuccess', status: 'False', reason: 'NotFound', message: 'gone', generation: 2 },
            ],
          },
        ],
      },
    });
    expect(summarize(s)).toEqual({
      name: 'app',
      tags: 3,
      lastUpdated: at(9),
      failing: [{ tag: 'live', message: 'gone' }],
    });
    expect(followersOf(s, 'prod')).toEqual(['live']);
  });

  it('lists a project’s tag changes newest first and classifies them as the events do', () => {
    const items = (list: Array<[number, number]>) =>
      list.map(([n, min]) => ({ image: D(n), created: at(min), dockerImageReference: 'x', generation: 1 }));
    const a = stream({
      status: {
        dockerImageRepository: '',
        tags: [
          {
            tag: 'prod',
            items: items([
              [1, 59],
              [2, 49],
              [1, 39],
            ]),
          },
        ],
      },
    });
    const b = stream({
      metadata: { name: 'web' },
      status: {
        dockerImageRepository: '',
        tags: [
          {
            tag: 'x',
            items: items([
              [5, 55],
              [5, 30],
            ]),
          },
        ],
      },
    });
    const events = projectEvents([a, b], 10);
    expect(events.map((e) => `${e.stream}:${e.tag} ${e.change}`)).toEqual([
      'app:prod rolled back',
      'web:x re-tagged',
      'app:prod moved',
      'app:prod created',
      'web:x created',
    ]);
    // The oldest entry of a full window cannot tell whether it created the tag.
    expect(projectEvents([a], 3).at(-1)?.change).toBe('changed');
  });

  it('writes rollbacks and tags as isctl does', () => {
    expect(
      rollbackTag(
        {
          name: 'prod',
          importPolicy: { importMode: 'PreserveOriginal' },
          referencePolicy: { type: 'Local' },
        },
        'prod',
        'app',
        D(1),
      ),
    ).toEqual({
      name: 'prod',
      from: { kind: 'ImageStreamImage', name: `app@${D(1)}` },
      reference: false,
      importPolicy: { importMode: 'PreserveOriginal' },
      referencePolicy: { type: 'Local' },
    });
    expect(tagInto('app', 'prod', D(2), 'qa', false).from).toEqual({
      kind: 'ImageStreamImage',
      name: `app@${D(2)}`,
    });
    expect(tagInto('app', 'prod', undefined, 'live', true).from).toEqual({
      kind: 'ImageStreamTag',
      name: 'app:prod',
    });
    expect(() => tagInto('app', 'prod', undefined, 'qa', false)).toThrow(/does not point to an image/);
  });

  it('parses destinations as tag or stream:tag', () => {
    expect(parseTagName('prod', 'app')).toEqual({ stream: 'app', tag: 'prod' });
    expect(parseTagName(' web:v1.2 ', 'app')).toEqual({ stream: 'web', tag: 'v1.2' });
    expect(parseTagName('Web:v1', 'app')).toBeUndefined();
    expect(parseTagName('a:b:c', 'app')).toBeUndefined();
    expect(parseTagName('', 'app')).toBeUndefined();
  });
});
