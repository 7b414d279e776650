import { describe, expect, it } from 'vitest';
import { importJobsFor as importJobsForChanges } from '../../../functions/app/events/change-processor';
import { streamChangeOf, type TableChange } from '../../../functions/store/stream-records';

/** Table records as the store hands them to the change processor (functions/store/stream-records.ts). */
const importJobsFor = (changes: TableChange[]) => importJobsForChanges(changes.map(streamChangeOf));

const PK = 'IS#ns/app';
function tagItem(tag: string, spec: Record<string, unknown> | null, extra: Record<string, unknown> = {}) {
  return {
    PK,
    SK: `T#${tag}`,
    kind: 'tag',
    suid: 'u1',
    tag,
    tid: 't1',
    ver: 1,
    spec,
    recent: [],
    topSeq: 0,
    conds: [],
    aliases: [],
    ...extra,
  };
}
const docker = (name: string, generation: number, more: Record<string, unknown> = {}) => ({
  name: 'x',
  from: { kind: 'DockerImage', name },
  generation,
  importPolicy: {},
  referencePolicy: { type: 'Source' },
  ...more,
});
const change = (oldImage?: Record<string, unknown>, newImage?: Record<string, unknown>): TableChange => ({
  keys: { PK, SK: (newImage ?? oldImage)!.SK },
  oldImage,
  newImage,
});
const event = (image: string, generation: number) => ({
  created: 'now',
  dockerImageReference: `q.io/x@${image}`,
  image,
  generation,
});

describe('change processor: which tag changes ask for an import', () => {
  it('a new importable tag does; a reference tag, another kind or a removal does not', () => {
    expect(importJobsFor([change(undefined, tagItem('a', docker('q.io/x:1', 1)))])).toEqual([
      { namespace: 'ns', name: 'app', uid: 'u1', tags: ['a'] },
    ]);
    expect(
      importJobsFor([change(undefined, tagItem('r', docker('q.io/x:1', 1, { reference: true })))]),
    ).toEqual([]);
    expect(
      importJobsFor([
        change(
          undefined,
          tagItem('i', { name: 'i', from: { kind: 'ImageStreamTag', name: 'a' }, generation: 1 }),
        ),
      ]),
    ).toEqual([]);
    expect(importJobsFor([change(tagItem('a', docker('q.io/x:1', 1)), undefined)])).toEqual([]);
  });

  it('an import result (event at the spec generation) does not; a generation bump or new source does', () => {
    const pending = tagItem('a', docker('q.io/x:1', 1));
    const imported = tagItem('a', docker('q.io/x:1', 2), { recent: [event('sha256:1', 2)], topSeq: 1 });
    expect(importJobsFor([change(pending, imported)])).toEqual([]);
    const bumped = tagItem('a', docker('q.io/x:1', 3), { recent: [event('sha256:1', 2)], topSeq: 1 });
    expect(importJobsFor([change(imported, bumped)])).toHaveLength(1);
    const moved = tagItem('a', docker('q.io/x:2', 3), { recent: [event('sha256:1', 2)], topSeq: 1 });
    expect(importJobsFor([change(imported, moved)])).toHaveLength(1);
    const failed = tagItem('a', docker('q.io/x:1', 3), {
      recent: [event('sha256:1', 2)],
      conds: [
        {
          type: 'ImportSuccess',
          status: 'False',
          reason: 'NotFound',
          message: 'm',
          generation: 3,
          lastTransitionTime: 'now',
        },
      ],
    });
    expect(importJobsFor([change(bumped, failed)])).toEqual([]);
  });

  it('groups tags per stream incarnation and ignores non-tag records', () => {
    const jobs = importJobsFor([
      change(undefined, tagItem('a', docker('q.io/x:1', 1))),
      change(undefined, tagItem('b', docker('q.io/x:2', 1))),
      change(undefined, tagItem('c', docker('q.io/x:3', 1), { suid: 'u2' })),
      { keys: { PK: 'SEC#ns', SK: 'pull' }, newImage: { PK: 'SEC#ns', SK: 'pull', config: 'secret' } },
      { keys: { PK, SK: 'H#t1#0000000001' }, newImage: { PK, SK: 'H#t1#0000000001' } },
    ]);
    expect(jobs).toEqual([
      { namespace: 'ns', name: 'app', uid: 'u1', tags: ['a', 'b'] },
      { namespace: 'ns', name: 'app', uid: 'u2', tags: ['c'] },
    ]);
  });
});
