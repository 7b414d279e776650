import { describe, expect, it } from 'vitest';
import {
  importJobsFor as importJobsForChanges,
  workForChanges as workForStreamChanges,
} from '../../../functions/app/events/change-processor';
import { jobActor } from '../../../functions/app/jobs/job-runner';
import { type Job, jobSchema } from '../../../functions/app/jobs/jobs';
import { actorOf, asSystem, forCaller, SYSTEM_ACTORS } from '../../../functions/app/shared/context';
import type { TagEvent } from '../../../functions/core/api-types';
import {
  actorOfChange,
  DEFAULT_ACTOR,
  deliveredEvent,
  type PullSpecResolver,
} from '../../../functions/core/events/tag-events';
import type { TagRecord } from '../../../functions/core/imagestream/model';
import { streamChangeOf, type TableChange } from '../../../functions/store/stream-records';
import { contractErrors } from '../../support/events';

/** Table records as the store hands them to the change processor (functions/store/stream-records.ts). */
const importJobsFor = (changes: TableChange[]) => importJobsForChanges(changes.map(streamChangeOf));
const workForChanges = (changes: TableChange[], resolve: Parameters<typeof workForStreamChanges>[1]) =>
  workForStreamChanges(changes.map(streamChangeOf), resolve);

/** Audit (who did it): the actor of each event comes from the records' `by`, and background work is a system actor. */
const source: PullSpecResolver = (_ns, _s, _spec, ev) => ev.dockerImageReference;
const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const ev = (n: number, generation = 1): TagEvent => ({
  created: `2026-11-23T10:00:0${n % 10}Z`,
  dockerImageReference: `quay.io/x/y@${D(n)}`,
  image: D(n),
  generation,
});
const PK = 'IS#ns/app';
/** A tag record as the table stores it. */
function item(recent: TagEvent[], more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    PK,
    SK: 'T#latest',
    kind: 'tag',
    suid: 'u1',
    tag: 'latest',
    tid: 't1',
    ver: 1,
    spec: null,
    recent,
    topSeq: recent.length,
    conds: [],
    aliases: [],
    ...more,
  };
}
const change = (oldImage?: Record<string, unknown>, newImage?: Record<string, unknown>): TableChange => ({
  keys: { PK, SK: (newImage ?? oldImage)!.SK },
  oldImage,
  newImage,
  observedAt: '2026-11-23T11:00:00.000Z',
});
const eventsOf = (...changes: TableChange[]) => workForChanges(changes, source).events;
const actors = (...changes: TableChange[]) => eventsOf(...changes).map((e) => e.detail.actor);

describe('event actor', () => {
  it('is the new record’s `by` for created and moved, the old record’s for deleted', () => {
    expect(actors(change(undefined, item([ev(1)], { by: 'alice' })))).toEqual(['alice']);
    expect(
      actors(change(item([ev(1)], { by: 'alice' }), item([ev(2), ev(1)], { ver: 2, by: 'bob' }))),
    ).toEqual(['bob']);
    // A delete stamps the deleter onto the record first: the REMOVE's old image names them.
    expect(actors(change(item([ev(1)], { ver: 2, by: 'bob' }), undefined))).toEqual(['bob']);
  });

  it('defaults to the controller when the record that tells has no `by` (data from before the audit)', () => {
    expect(DEFAULT_ACTOR).toBe(SYSTEM_ACTORS.controller);
    expect(actors(change(undefined, item([ev(1)])))).toEqual([SYSTEM_ACTORS.controller]);
    expect(actors(change(item([ev(1)]), undefined))).toEqual([SYSTEM_ACTORS.controller]);
    // The old record's author did not make the new record's change.
    expect(actors(change(item([ev(1)], { by: 'alice' }), item([ev(2), ev(1)], { ver: 2 })))).toEqual([
      SYSTEM_ACTORS.controller,
    ]);
  });

  it('a system actor is carried like a user', () => {
    const failed = item([ev(1)], {
      ver: 2,
      by: SYSTEM_ACTORS.scheduler,
      spec: { name: 'latest', from: { kind: 'DockerImage', name: 'quay.io/x/y:1' }, generation: 2 },
      conds: [
        {
          type: 'ImportSuccess',
          status: 'False',
          reason: 'NotFound',
          message: 'gone',
          generation: 2,
          lastTransitionTime: '2026-11-23T10:30:00Z',
        },
      ],
    });
    const out = eventsOf(change(item([ev(1)], { by: 'alice' }), failed));
    expect(out.map((e) => [e.detailType, e.detail.actor])).toEqual([
      ['ImageStreamTag Import Failed', SYSTEM_ACTORS.scheduler],
    ]);
    const recovered = eventsOf(
      change(failed, item([ev(2, 3), ev(1)], { ver: 3, by: SYSTEM_ACTORS.importer, spec: failed.spec })),
    );
    expect(recovered.map((e) => e.detail.actor)).toEqual([SYSTEM_ACTORS.importer, SYSTEM_ACTORS.importer]);
    for (const e of [...out, ...recovered])
      expect(
        contractErrors(deliveredEvent(e, { source: 'imagestreams', account: '1', region: 'r' })),
      ).toEqual([]);
  });

  it('the deleter stamp (a MODIFY that changes only `by`/`at`) yields no event and no import', () => {
    const spec = { name: 'latest', from: { kind: 'DockerImage', name: 'quay.io/x/y:1' }, generation: 1 };
    const before = item([], { ver: 3, by: 'alice', spec, at: '2026-11-23T10:00:00Z' });
    const stamped = { ...before, by: 'bob', at: '2026-11-23T10:05:00Z' };
    expect(workForChanges([change(before, stamped)], source)).toEqual({ events: [], jobs: [] });
    expect(importJobsFor([change(before, stamped)])).toEqual([]);
    const withImage = item([ev(1)], { ver: 3, by: 'alice' });
    expect(eventsOf(change(withImage, { ...withImage, by: 'bob' }))).toEqual([]);
  });

  it('event ids do not depend on the actor: a stamped and an unstamped deletion are the same change', () => {
    const [plain] = eventsOf(change(item([ev(1)], { ver: 2, by: 'alice' }), undefined));
    const [stamped] = eventsOf(change(item([ev(1)], { ver: 2, by: 'bob' }), undefined));
    expect(plain?.detail.actor).toBe('alice');
    expect(stamped?.detail.actor).toBe('bob');
    expect(stamped?.detail.eventId).toBe(plain?.detail.eventId);
    // And a re-derivation of the same record change agrees on id and actor.
    const again = eventsOf(change(item([ev(1)], { ver: 2, by: 'bob' }), undefined));
    expect(again).toEqual([stamped]);
  });

  it('a write that replaces another incarnation’s record is the actor of both halves', () => {
    const out = eventsOf(change(item([ev(1)], { by: 'alice' }), item([ev(2)], { suid: 'u2', by: 'bob' })));
    expect(out.map((e) => [(e.detail as { change: string }).change, e.detail.actor])).toEqual([
      ['deleted', 'bob'],
      ['created', 'bob'],
    ]);
  });

  it('actorOfChange prefers an explicit actor, then the new side, then the old side', () => {
    const t = (by?: string) => ({ streamUid: 'u', tag: {} as TagRecord, by });
    expect(actorOfChange({ actor: 'x', after: t('y'), before: t('z') })).toBe('x');
    expect(actorOfChange({ after: t('y'), before: t('z') })).toBe('y');
    expect(actorOfChange({ before: t('z') })).toBe('z');
    expect(actorOfChange({})).toBe(DEFAULT_ACTOR);
  });
});

describe('stream deletion: the deleter travels to the sweep', () => {
  const head = (more: Record<string, unknown> = {}) => ({ PK, SK: 'IS', uid: 'u1', ...more });
  it('the head REMOVE names the deleter, and the sweep job carries it', () => {
    const work = workForChanges([{ keys: { PK, SK: 'IS' }, oldImage: head({ by: 'alice' }) }], source);
    expect(work.jobs).toEqual([{ kind: 'sweep', namespace: 'ns', name: 'app', deletedBy: 'alice' }]);
    const old = workForChanges([{ keys: { PK, SK: 'IS' }, oldImage: head() }], source);
    expect(old.jobs).toEqual([{ kind: 'sweep', namespace: 'ns', name: 'app' }]);
    // The deleter stamp on the head is a MODIFY: no sweep, no event.
    expect(
      workForChanges([{ keys: { PK, SK: 'IS' }, oldImage: head(), newImage: head({ by: 'alice' }) }], source),
    ).toEqual({ events: [], jobs: [] });
  });

  it('sweep jobs parse with and without the deleter (messages queued before the audit)', () => {
    expect(jobSchema.parse({ kind: 'sweep', namespace: 'ns', name: 'app', deletedBy: 'alice' })).toEqual({
      kind: 'sweep',
      namespace: 'ns',
      name: 'app',
      deletedBy: 'alice',
    });
    expect(jobSchema.parse({ kind: 'sweep', namespace: 'ns', name: 'app' })).toEqual({
      kind: 'sweep',
      namespace: 'ns',
      name: 'app',
    });
    expect(() => jobSchema.parse({ kind: 'sweep', namespace: 'ns', name: 'app', deletedBy: '' })).toThrow();
  });
});

describe('background work acts as a system actor', () => {
  it('each job kind has its actor', () => {
    const imp: Job = { kind: 'import', namespace: 'ns', name: 'app', uid: 'u', tags: ['a'] };
    expect(jobActor(imp)).toBe(SYSTEM_ACTORS.importer);
    expect(jobActor({ ...imp, scheduled: { cycleEndsAt: 1 } })).toBe(SYSTEM_ACTORS.scheduler);
    expect(jobActor({ kind: 'scan', shard: 0, from: 0, to: 1, cycleEndsAt: 1 })).toBe(
      SYSTEM_ACTORS.scheduler,
    );
    expect(jobActor({ kind: 'push', hint: { registry: 'r', repository: 'x', action: 'push' } })).toBe(
      SYSTEM_ACTORS.push,
    );
    expect(jobActor({ kind: 'sweep', namespace: 'ns', name: 'app', deletedBy: 'alice' })).toBe(
      SYSTEM_ACTORS.controller,
    );
  });

  it('a system context drops the caller; a caller context names the user', () => {
    const base = {} as Parameters<typeof forCaller>[0];
    const user = forCaller(base, { user: 'alice', groups: [] });
    expect(actorOf(user)).toBe('alice');
    expect(actorOf(asSystem(user, SYSTEM_ACTORS.importer))).toBe(SYSTEM_ACTORS.importer);
    expect(actorOf(base)).toBe(SYSTEM_ACTORS.controller);
  });
});
