import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  processBatch as processStreamBatch,
  pullSpecResolver,
  workForChanges as workForStreamChanges,
} from '../../../functions/app/events/change-processor';
import type { TagEvent, TagReference } from '../../../functions/core/api-types';
import {
  DETAIL_TYPES,
  deliveredEvent,
  deriveTagEvents,
  eventId,
  type PullSpecResolver,
  type TagSide,
} from '../../../functions/core/events/tag-events';
import type { TagRecord } from '../../../functions/core/imagestream/model';
import { streamChangeOf, type TableChange } from '../../../functions/store/stream-records';
import { contractErrors } from '../../support/events';
import { FakeMetrics } from '../../support/fakes';

/** Table records as the store hands them to the change processor (functions/store/stream-records.ts). */
const processBatch = (changes: TableChange[], ...rest: Tail<Parameters<typeof processStreamBatch>>) =>
  processStreamBatch(changes.map(streamChangeOf), ...rest);
type Tail<T extends unknown[]> = T extends [unknown, ...infer R] ? R : never;
const workForChanges = (changes: TableChange[], resolve: Parameters<typeof workForStreamChanges>[1]) =>
  workForStreamChanges(changes.map(streamChangeOf), resolve);

/** Event derivation (docs/events.md) as a pure function of a tag record before and after a write. */
const source: PullSpecResolver = (_ns, _s, _spec, ev) => ev.dockerImageReference;
const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const ev = (n: number, generation = 1): TagEvent => ({
  created: `2026-11-23T10:00:0${n % 10}Z`,
  dockerImageReference: `quay.io/x/y@${D(n)}`,
  image: D(n),
  generation,
});
function tag(recent: TagEvent[], more: Partial<TagRecord> = {}): TagRecord {
  return {
    name: 'latest',
    tid: 't1',
    version: 1,
    spec: null,
    recent,
    topSeq: recent.length,
    conditions: [],
    aliases: [],
    ...more,
  };
}
const side = (t: TagRecord, streamUid = 'u1'): TagSide => ({ streamUid, tag: t });
const derive = (before?: TagRecord, after?: TagRecord, uids: [string, string] = ['u1', 'u1']) =>
  deriveTagEvents(
    {
      namespace: 'ns',
      stream: 'app',
      before: before ? side(before, uids[0]) : undefined,
      after: after ? side(after, uids[1]) : undefined,
      observedAt: '2026-11-23T11:00:00.000Z',
    },
    source,
  );

describe('deriveTagEvents', () => {
  it('classifies created, moved, rolled back and deleted', () => {
    const [created] = derive(undefined, tag([ev(1)]));
    expect(created).toMatchObject({
      detailType: DETAIL_TYPES.changed,
      detail: {
        change: 'created',
        previous: null,
        current: { image: D(1) },
        generation: 1,
        time: ev(1).created,
      },
    });
    const [moved] = derive(tag([ev(1)]), tag([ev(2, 2), ev(1)], { version: 2 }));
    expect(moved?.detail).toMatchObject({
      change: 'moved',
      previous: { image: D(1) },
      current: { image: D(2) },
    });
    const [back] = derive(
      tag([ev(2, 2), ev(1)], { version: 2 }),
      tag([ev(1, 3), ev(2, 2), ev(1)], { version: 3 }),
    );
    expect(back?.detail).toMatchObject({
      change: 'rolledBack',
      previous: { image: D(2) },
      current: { image: D(1) },
    });
    const [gone] = derive(tag([ev(1)], { version: 3 }), undefined);
    expect(gone?.detail).toMatchObject({
      change: 'deleted',
      current: null,
      generation: null,
      time: '2026-11-23T11:00:00.000Z',
    });
  });

  it('yields nothing when the pull spec stays: a generation bump, a spec edit, conditions unchanged', () => {
    expect(derive(tag([ev(1)]), tag([ev(1, 2)], { version: 2 }))).toEqual([]);
    const spec: TagReference = { name: 'latest', from: { kind: 'DockerImage', name: 'quay.io/x/y:1' } };
    expect(derive(tag([ev(1)]), tag([ev(1)], { version: 2, spec }))).toEqual([]);
    expect(derive(tag([]), tag([], { version: 2, spec }))).toEqual([]);
  });

  it('a new stream or tag incarnation is a deletion of the old tag and a creation of the new one', () => {
    const out = derive(tag([ev(1)]), tag([ev(2)], { version: 1 }), ['u1', 'u2']);
    expect(out.map((e) => (e.detail as { change: string }).change)).toEqual(['deleted', 'created']);
    expect(out[0]?.detail.streamUid).toBe('u1');
    expect(out[1]?.detail.streamUid).toBe('u2');
    const retagged = derive(tag([ev(1)]), tag([ev(1)], { tid: 't2' }));
    expect(retagged.map((e) => (e.detail as { change: string }).change)).toEqual(['deleted', 'created']);
  });

  it('import failures and recoveries are their own detail types, once per distinct failure', () => {
    const fail = (message: string, generation = 2) => ({
      type: 'ImportSuccess' as const,
      status: 'False' as const,
      reason: 'NotFound',
      message,
      generation,
      lastTransitionTime: '2026-11-23T10:30:00Z',
    });
    const spec: TagReference = { name: 'latest', from: { kind: 'DockerImage', name: 'quay.io/x/y:nope' } };
    const [failed] = derive(
      tag([ev(1)], { spec }),
      tag([ev(1)], { spec, version: 2, conditions: [fail('gone')] }),
    );
    expect(failed).toMatchObject({
      detailType: DETAIL_TYPES.importFailed,
      detail: {
        from: 'quay.io/x/y:nope',
        reason: 'NotFound',
        message: 'gone',
        generation: 2,
        current: { image: D(1) },
      },
    });
    // The same failure written again (it is not, but a re-derivation must agree) and a different one.
    expect(
      derive(
        tag([ev(1)], { spec, conditions: [fail('gone')] }),
        tag([ev(1)], { spec, version: 3, conditions: [fail('gone')] }),
      ),
    ).toEqual([]);
    expect(
      derive(
        tag([ev(1)], { spec, conditions: [fail('gone')] }),
        tag([ev(1)], { spec, version: 3, conditions: [fail('gone', 3)] }),
      ),
    ).toHaveLength(1);
    const recovered = derive(
      tag([ev(1)], { spec, version: 3, conditions: [fail('gone')] }),
      tag([ev(2, 4), ev(1)], { spec, version: 4 }),
    );
    expect(recovered.map((e) => e.detailType)).toEqual([DETAIL_TYPES.changed, DETAIL_TYPES.importRecovered]);
    expect(recovered[1]?.detail).toMatchObject({ previousFailure: { reason: 'NotFound', message: 'gone' } });
  });

  it('event ids are stable for the same change and differ for any other', () => {
    const a = derive(tag([ev(1)]), tag([ev(2), ev(1)], { version: 2 }));
    const b = derive(tag([ev(1)]), tag([ev(2), ev(1)], { version: 2 }));
    const c = derive(tag([ev(1)], { version: 2 }), tag([ev(2), ev(1)], { version: 3 }));
    expect(a[0]?.detail.eventId).toBe(b[0]?.detail.eventId);
    expect(a[0]?.detail.eventId).not.toBe(c[0]?.detail.eventId);
    expect(eventId(['x'])).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('resolves Local reference policy to the internal registry like GET imagestreamtag', () => {
    const resolve = pullSpecResolver({
      defaultImportMode: 'Legacy',
      internalRegistryHostname: 'reg.internal:5000',
    });
    const spec: TagReference = { name: 'latest', from: null, referencePolicy: { type: 'Local' } };
    const [e] = deriveTagEvents(
      { namespace: 'ns', stream: 'app', after: side(tag([ev(1)], { spec })), observedAt: 'x' },
      resolve,
    );
    expect(e?.detail).toMatchObject({ current: { pullSpec: `reg.internal:5000/ns/app@${D(1)}` } });
  });
});

describe('change processor work', () => {
  const item = (t: TagRecord, suid = 'u1') => ({
    PK: 'IS#ns/app',
    SK: `T#${t.name}`,
    kind: 'tag',
    suid,
    tag: t.name,
    tid: t.tid,
    ver: t.version,
    spec: t.spec,
    recent: t.recent,
    topSeq: t.topSeq,
    conds: t.conditions,
    aliases: t.aliases,
  });
  it('derives events from tag records, a sweep from a removed head, and ignores other records', () => {
    const changes: TableChange[] = [
      { keys: { PK: 'IS#ns/app', SK: 'T#latest' }, newImage: item(tag([ev(1)])) },
      { keys: { PK: 'IS#ns/app', SK: 'IS' }, oldImage: { PK: 'IS#ns/app', SK: 'IS', uid: 'u1' } },
      { keys: { PK: 'SEC#ns', SK: 'pull' }, newImage: { PK: 'SEC#ns', SK: 'pull', data: 'credentials' } },
      {
        keys: { PK: 'IS#ns/app', SK: 'H#t1#0000000001' },
        newImage: { PK: 'IS#ns/app', SK: 'H#t1#0000000001' },
      },
      { keys: { PK: 'IMG#sha256:x', SK: 'IMG' }, newImage: { PK: 'IMG#sha256:x', SK: 'IMG' } },
    ];
    const work = workForChanges(changes, source);
    expect(work.events.map((e) => e.detail.tag)).toEqual(['latest']);
    expect(work.jobs).toEqual([{ kind: 'sweep', namespace: 'ns', name: 'app' }]);
  });
});

describe('the documented contract', () => {
  it('every example in docs/events/v1/examples validates, and derived events do too', () => {
    const dir = 'docs/events/v1/examples';
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files)
      expect([f, contractErrors(JSON.parse(readFileSync(join(dir, f), 'utf8')))]).toEqual([f, []]);
    const derived = [...derive(undefined, tag([ev(1)])), ...derive(tag([ev(1)]), undefined)].map((e) =>
      deliveredEvent(e, { source: 'imagestreams', account: '123456789012', region: 'eu-west-1' }),
    );
    for (const e of derived) expect(contractErrors(e)).toEqual([]);
  });

  it('the schemas reject what the contract forbids', () => {
    const [e] = derive(undefined, tag([ev(1)]));
    const good = deliveredEvent(e!, { source: 'imagestreams', account: '1', region: 'r' });
    expect(contractErrors({ ...good, detail: { ...good.detail, change: 'renamed' } })).not.toEqual([]);
    expect(contractErrors({ ...good, detail: { ...good.detail, current: null } })).not.toEqual([]);
    // Additive changes keep the version: a field the schema does not know is no error (test/unit/event-contract.test.ts),
    // and the envelope id is the transport's own (EventBridge assigns it), not the de-duplication key.
    expect(contractErrors({ ...good, detail: { ...good.detail, extra: 1 } })).toEqual([]);
    expect(contractErrors({ ...good, id: 'other' })).toEqual([]);
  });
});

describe('processBatch (the Lambda consumer of the table stream)', () => {
  const item = (name: string, n: number, version = 1) => ({
    PK: 'IS#ns/app',
    SK: `T#${name}`,
    kind: 'tag',
    suid: 'u1',
    tag: name,
    tid: 't1',
    ver: version,
    spec: { name, from: { kind: 'DockerImage', name: `quay.io/x/${name}:1` }, generation: 1 },
    recent: n ? [ev(n)] : [],
    topSeq: n ? 1 : 0,
    conds: [],
    aliases: [],
  });
  const records = (count: number): TableChange[] =>
    Array.from({ length: count }, (_, i) => ({
      keys: { PK: 'IS#ns/app', SK: `T#t${i}` },
      newImage: i % 2 ? item(`t${i}`, i + 1) : item(`t${i}`, 0),
      sequence: String(100 + i),
    }));

  it('publishes ten at a time and merges the import jobs of one stream', async () => {
    const published: number[] = [];
    const queued: unknown[][] = [];
    const metrics = new FakeMetrics();
    const failure = await processBatch(
      records(40),
      source,
      { publish: async (e) => void published.push(e.length) },
      { enqueue: async (j) => void queued.push(j) },
      metrics,
    );
    expect(failure).toBeUndefined();
    expect(published).toEqual([10, 10]);
    expect(metrics.total('eventsPublished')).toBe(20);
    // Every odd record points its tag at an image for the first time.
    expect(metrics.points.filter((p) => p.role === 'tagChanges').map((p) => p.breakdown)).toEqual(
      Array.from({ length: 20 }, () => ({ kind: 'created' })),
    );
    // 20 new tags without history need an import: one job for the stream.
    expect(queued).toHaveLength(1);
    expect((queued[0]![0] as { tags: string[] }).tags).toHaveLength(20);
  });

  it('reports the first record of a chunk that could not be published, and queues only what came before', async () => {
    let calls = 0;
    const queued: Array<{ tags: string[] }> = [];
    const metrics = new FakeMetrics();
    const failure = await processBatch(
      records(40),
      source,
      {
        publish: async () => {
          if (++calls === 2) throw new Error('ThrottlingException');
        },
      },
      { enqueue: async (j) => void queued.push(...(j as Array<{ tags: string[] }>)) },
      metrics,
    );
    expect(metrics.total('eventsPublished')).toBe(10);
    expect(metrics.total('eventsFailed')).toBe(10);
    // Events come from odd records: the second chunk starts at the 11th event, record 21.
    expect(failure).toEqual({ failedAt: 21, error: 'publishing events: ThrottlingException' });
    expect(queued.flatMap((j) => j.tags).every((t) => Number(t.slice(1)) < 21)).toBe(true);
  });
});
