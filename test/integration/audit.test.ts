import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SYSTEM_ACTORS } from '../../functions/app/shared/context';
import { cloneState } from '../../functions/core/imagestream/model';
import { createDynamoDbClient } from '../../functions/local/dynamodb-local';
import { HEAD_SK, keys } from '../../functions/store/keys';
import { ConcurrentWriteError, StreamStore } from '../../functions/store/stream-store';
import { contractErrors, eventsOf as eventsOfFile, readEvents } from '../support/events';
import { type Api, HISTORY, IS, ISTAG, mapImage, startStack } from '../support/local-stack';
import { pushImage, type Registry, startRegistry } from '../support/registries';

/**
 * Audit (who did it): every mutating call records its actor on the records it writes (`by`), in the events it
 * causes (`detail.actor`) and in the tag history API; background work records a `system:imagestreams:*` actor.
 * Both users are cluster administrators so the test holds whatever the access rules allow others.
 */
const TOKENS = {
  'alice-token': { user: 'alice', groups: ['system:cluster-admins'] },
  'bob-token': { user: 'bob', groups: ['system:cluster-admins'] },
};

let api: Api;
let alice: Api;
let bob: Api;
let stop: () => Promise<void>;
let eventsFile: string;
let table: string;
let reg: Registry;
const ddb = createDynamoDbClient(inject('dynamodbEndpoint'));
const doc = DynamoDBDocumentClient.from(ddb);

beforeAll(async () => {
  reg = await startRegistry('anonymous');
  const stack = await startStack({ LOCAL_TOKENS: JSON.stringify(TOKENS), SCHEDULER: 'off' });
  ({ api, stop, table } = stack);
  alice = api.as('alice-token');
  bob = api.as('bob-token');
  eventsFile = stack.service.eventsFile;
}, 120_000);
afterAll(async () => {
  await stop?.();
  await reg?.stop();
  ddb.destroy();
});

/** Events of one stream, waiting (bounded) until `until` holds; then a short quiet period catches extras. */
/** This file's events of one stream (test/support/events.ts `eventsOf`). */
const eventsOf = (ns: string, stream: string, until: (e: any[]) => boolean, ms?: number) =>
  eventsOfFile(eventsFile, ns, stream, until, { settleMs: 500, ...(ms ? { ms } : {}) });

const changed = (events: any[]) =>
  events
    .filter((e) => e['detail-type'] === 'ImageStreamTag Changed')
    .map((e) => `${e.detail.tag}:${e.detail.change}:${e.detail.actor}`);

const raw = async (ns: string, stream: string, sk: string) =>
  (
    await doc.send(
      new GetCommand({
        TableName: table,
        Key: { PK: keys.streamPk(ns, stream), SK: sk },
        ConsistentRead: true,
      }),
    )
  ).Item;

const ISI = (ns: string) => `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimports`;

describe('audit of user writes', () => {
  it('create, move, tag delete and stream delete each name their user, in events, records and history', async () => {
    const ns = 'audit1';
    expect((await alice.newProject(ns)).status).toBe(201);
    expect((await alice.post(IS(ns), { metadata: { name: 'app' } })).status).toBe(201);
    expect((await raw(ns, 'app', HEAD_SK))?.by).toBe('alice');

    const d1 = await mapImage(alice, ns, 'app', 'latest');
    await mapImage(alice, ns, 'app', 'keep');
    let events = await eventsOf(ns, 'app', (e) => e.length >= 2);
    expect(changed(events)).toEqual(['latest:created:alice', 'keep:created:alice']);
    let history = await alice.get(HISTORY(ns, 'app:latest'));
    expect(history.status).toBe(200);
    expect(history.body.items.map((i: any) => [i.image, i.by])).toEqual([[d1, 'alice']]);

    // Bob moves the tag: the event, the tag record, the head and the new history entry name him.
    const d2 = await mapImage(bob, ns, 'app', 'latest');
    events = await eventsOf(ns, 'app', (e) => e.length >= 3);
    expect(changed(events)[2]).toBe('latest:moved:bob');
    history = await alice.get(HISTORY(ns, 'app:latest'));
    expect(history.body.items.map((i: any) => [i.image, i.by])).toEqual([
      [d2, 'bob'],
      [d1, 'alice'],
    ]);
    const tagItem = await raw(ns, 'app', keys.tagSk('latest'));
    expect(tagItem).toMatchObject({ by: 'bob' });
    expect(Number.isNaN(Date.parse(tagItem?.at))).toBe(false);
    expect((await raw(ns, 'app', HEAD_SK))?.by).toBe('bob');
    expect((await raw(ns, 'app', keys.tagSk('keep')))?.by).toBe('alice');
    // OpenShift's own objects are unchanged: no audit field in the stream's tag events.
    const stream = (await alice.get(IS(ns, 'app'))).body;
    for (const t of stream.status.tags) for (const item of t.items) expect(item.by).toBeUndefined();
    expect((await alice.get(ISTAG(ns, 'app:latest'))).body.by).toBeUndefined();

    // Bob deletes a tag Alice wrote: its `deleted` event names him (the record was stamped before the delete).
    expect((await bob.delete(ISTAG(ns, 'app:keep'))).status).toBe(200);
    events = await eventsOf(ns, 'app', (e) => e.length >= 4);
    expect(changed(events)[3]).toBe('keep:deleted:bob');

    // Alice deletes the stream with Bob's tag left: the sweep's removal of that tag names her.
    expect((await alice.delete(IS(ns, 'app'))).status).toBe(200);
    events = await eventsOf(ns, 'app', (e) => e.length >= 5);
    expect(changed(events)).toEqual([
      'latest:created:alice',
      'keep:created:alice',
      'latest:moved:bob',
      'keep:deleted:bob',
      'latest:deleted:alice',
    ]);
    // The deleter stamps themselves produced no events of their own.
    expect(events).toHaveLength(5);
  });

  it('a sweep queued by a head removal stamps the deleter the head carried', async () => {
    const ns = 'audit2';
    expect((await alice.newProject(ns)).status).toBe(201);
    expect((await alice.post(IS(ns), { metadata: { name: 'app' } })).status).toBe(201);
    await mapImage(alice, ns, 'app', 'a');
    await mapImage(alice, ns, 'app', 'b');
    await eventsOf(ns, 'app', (e) => e.length >= 2);
    // Remove only the head (as a project deletion would): the change processor's sweep job deletes the tags.
    const store = new StreamStore(doc, table);
    const head = await store.getHead(ns, 'app');
    await store.deleteHead(head!, { uid: head!.uid }, 'carol');
    const events = await eventsOf(ns, 'app', (e) => e.length >= 4);
    expect(changed(events).sort()).toEqual([
      'a:created:alice',
      'a:deleted:carol',
      'b:created:alice',
      'b:deleted:carol',
    ]);
  });
});

describe('audit of imports', () => {
  it('spec-driven imports record the importer; a synchronous import records its caller', async () => {
    const ns = 'audit3';
    expect((await alice.newProject(ns)).status).toBe(201);
    const d1 = await pushImage(reg, 'audit/app', 'v1', { label: 'one' });
    const created = await alice.post(IS(ns), {
      metadata: { name: 'app' },
      spec: {
        tags: [
          {
            name: 'v1',
            from: { kind: 'DockerImage', name: `${reg.host}/audit/app:v1` },
            importPolicy: { insecure: true },
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    let events = await eventsOf(ns, 'app', (e) => e.length >= 1);
    expect(changed(events)).toEqual([`v1:created:${SYSTEM_ACTORS.importer}`]);
    expect(events[0].detail.current.image).toBe(d1);
    const history = await alice.get(HISTORY(ns, 'app:v1'));
    expect(history.body.items.map((i: any) => i.by)).toEqual([SYSTEM_ACTORS.importer]);

    const d2 = await pushImage(reg, 'audit/app', 'v2', { label: 'two' });
    const imported = await bob.post(ISI(ns), {
      kind: 'ImageStreamImport',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'app' },
      spec: {
        import: true,
        images: [
          {
            from: { kind: 'DockerImage', name: `${reg.host}/audit/app:v2` },
            to: { name: 'v2' },
            importPolicy: { insecure: true },
          },
        ],
      },
    });
    expect(imported.status).toBe(201);
    events = await eventsOf(ns, 'app', (e) => e.length >= 2);
    expect(changed(events)[1]).toBe('v2:created:bob');
    expect(events[1].detail.current.image).toBe(d2);
  });
});

describe('records someone else moved are never stamped', () => {
  it('a stale tag delete or head delete loses the race and leaves `by` as it was', async () => {
    const ns = 'audit4';
    expect((await alice.newProject(ns)).status).toBe(201);
    expect((await alice.post(IS(ns), { metadata: { name: 'app' } })).status).toBe(201);
    await mapImage(alice, ns, 'app', 'latest');
    const store = new StreamStore(doc, table);
    const stale = await store.loadStream(ns, 'app');
    await mapImage(bob, ns, 'app', 'latest');

    const after = cloneState(stale!);
    after.tags.delete('latest');
    const lost = await store
      .commit({ mode: 'tags', before: stale, after, specChanged: true, actor: 'mallory' })
      .catch((e) => e);
    expect(lost).toBeInstanceOf(ConcurrentWriteError);
    expect((await raw(ns, 'app', keys.tagSk('latest')))?.by).toBe('bob');

    const rv = (await store.getHead(ns, 'app'))!.resourceVersion;
    const head = stale!.head;
    const gone = await store
      .deleteHead(head, { uid: head.uid, resourceVersion: rv - 1 }, 'mallory')
      .catch((e) => e);
    expect(gone).toBeInstanceOf(ConcurrentWriteError);
    expect((await raw(ns, 'app', HEAD_SK))?.by).toBe('bob');
  });
});

describe('the contract', () => {
  it('every event the stack wrote carries an actor and validates against docs/events/v1', async () => {
    const all = readEvents(eventsFile);
    expect(all.length).toBeGreaterThanOrEqual(10);
    for (const e of all) {
      expect(typeof e.detail.actor).toBe('string');
      expect([e.id, contractErrors(e)]).toEqual([e.id, []]);
    }
  });
});
