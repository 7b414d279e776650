import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractErrors, eventsOf as eventsOfFile, readEvents } from '../support/events';
import { type Api, IS, ISTAG, mapImage, startStack } from '../support/local-stack';
import { pushImage, type Registry, startRegistry } from '../support/registries';

/**
 * Events out (docs/events.md): derived from the table's stream by the local change processor and
 * appended to $DATA_DIR/events.ndjson. Every kind of tag change yields exactly one event; writes that do not move
 * a pull spec yield none.
 */
const INTERNAL = 'image-registry.local:5000';
let api: Api;
let stop: () => Promise<void>;
let eventsFile: string;
let reg: Registry;

beforeAll(async () => {
  reg = await startRegistry('anonymous');
  const stack = await startStack({ INTERNAL_REGISTRY_HOSTNAME: INTERNAL, SCHEDULER: 'off' });
  ({ api, stop } = stack);
  eventsFile = stack.service.eventsFile;
}, 120_000);
afterAll(async () => {
  await stop?.();
  await reg?.stop();
});

const ISI = (ns: string) => `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimports`;

/** Events of one stream, waiting (bounded) until `until` holds; then a short quiet period catches extras. */
/** This file's events of one stream (test/support/events.ts `eventsOf`). */
const eventsOf = (ns: string, stream: string, until: (e: any[]) => boolean, ms?: number) =>
  eventsOfFile(eventsFile, ns, stream, until, { settleMs: 800, ...(ms ? { ms } : {}) });

const changes = (events: any[]) =>
  events
    .filter((e) => e['detail-type'] === 'ImageStreamTag Changed')
    .map((e) => `${e.detail.tag}:${e.detail.change}`);

describe('tag change events', () => {
  it('created, moved, rolled back, alias created, deleted, stream deleted: one event each', async () => {
    const ns = 'ev1';
    expect((await api.post(IS(ns), { metadata: { name: 'app' } })).status).toBe(201);
    const d1 = await mapImage(api, ns, 'app', 'latest');
    let events = await eventsOf(ns, 'app', (e) => e.length >= 1);
    expect(changes(events)).toEqual(['latest:created']);
    const created = events[0];
    expect(created).toMatchObject({
      version: '0',
      source: 'io.imagestreams',
      'detail-type': 'ImageStreamTag Changed',
      detail: {
        version: '1',
        namespace: ns,
        stream: 'app',
        tag: 'latest',
        change: 'created',
        previous: null,
        current: { image: d1, pullSpec: `quay.io/x/y@${d1}` },
        generation: 1,
      },
    });
    expect(created.id).toBe(created.detail.eventId);

    const d2 = await mapImage(api, ns, 'app', 'latest');
    // The same image again changes nothing: no event.
    await mapImage(api, ns, 'app', 'latest', d2);
    events = await eventsOf(ns, 'app', (e) => e.length >= 2);
    expect(changes(events)).toEqual(['latest:created', 'latest:moved']);
    expect(events[1].detail).toMatchObject({
      previous: { image: d1 },
      current: { image: d2, pullSpec: `quay.io/x/y@${d2}` },
    });

    // Roll back: tag the older image (still in the tag's history) onto the tag.
    const back = await api.put(ISTAG(ns, 'app:latest'), {
      kind: 'ImageStreamTag',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'app:latest', namespace: ns },
      tag: { name: 'latest', from: { kind: 'ImageStreamImage', name: `app@${d1}` } },
    });
    expect(back.status).toBeLessThan(300);
    events = await eventsOf(ns, 'app', (e) => e.length >= 3);
    expect(changes(events)).toEqual(['latest:created', 'latest:moved', 'latest:rolledBack']);
    expect(events[2].detail).toMatchObject({ previous: { image: d2 }, current: { image: d1 } });

    // An alias follows its source: created now, and it keeps its own history when the source is deleted.
    const alias = await api.put(ISTAG(ns, 'app:stable'), {
      kind: 'ImageStreamTag',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'app:stable', namespace: ns },
      tag: { name: 'stable', from: { kind: 'ImageStreamTag', name: 'app:latest' } },
    });
    expect(alias.status).toBeLessThan(300);
    events = await eventsOf(ns, 'app', (e) => e.length >= 4);
    expect(changes(events).at(-1)).toBe('stable:created');

    expect((await api.delete(ISTAG(ns, 'app:latest'))).status).toBe(200);
    events = await eventsOf(ns, 'app', (e) => e.length >= 5);
    expect(events[4].detail).toMatchObject({
      tag: 'latest',
      change: 'deleted',
      previous: { image: d1 },
      current: null,
      generation: null,
    });

    expect((await api.delete(IS(ns, 'app'))).status).toBe(200);
    events = await eventsOf(ns, 'app', (e) => e.length >= 6);
    expect(changes(events)).toEqual([
      'latest:created',
      'latest:moved',
      'latest:rolledBack',
      'stable:created',
      'latest:deleted',
      'stable:deleted',
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (const e of events) expect(contractErrors(e)).toEqual([]);
  });

  it('the pull spec follows the reference policy: Local resolves to the internal registry', async () => {
    const ns = 'ev2';
    expect((await api.post(IS(ns), { metadata: { name: 'web' } })).status).toBe(201);
    const d = await mapImage(api, ns, 'web', 'v1');
    await eventsOf(ns, 'web', (e) => e.length >= 1);
    // Switching the policy moves the pull spec (same image): that is a change consumers must see.
    const res = await api.patch(
      IS(ns, 'web'),
      {
        spec: { tags: [{ name: 'v1', referencePolicy: { type: 'Local' } }] },
      },
      'application/strategic-merge-patch+json',
    );
    expect(res.status).toBe(200);
    const events = await eventsOf(ns, 'web', (e) => e.length >= 2);
    expect(events.map((e) => e.detail.change)).toEqual(['created', 'moved']);
    expect(events[1].detail.previous).toEqual({ image: d, pullSpec: `quay.io/x/y@${d}` });
    expect(events[1].detail.current).toEqual({ image: d, pullSpec: `${INTERNAL}/${ns}/web@${d}` });
  });

  it('import failure and recovery are their own events; a no-op re-import yields none', async () => {
    const ns = 'ev3';
    const good = await pushImage(reg, 'ev/app', 'v1');
    const post = await api.post(IS(ns), {
      metadata: { name: 'app' },
      spec: {
        tags: [
          {
            name: 'v1',
            from: { kind: 'DockerImage', name: `${reg.host}/ev/app:nope` },
            importPolicy: { insecure: true },
          },
        ],
      },
    });
    expect(post.status).toBe(201);
    let events = await eventsOf(ns, 'app', (e) => e.length >= 1);
    expect(events.map((e) => e['detail-type'])).toEqual(['ImageStreamTag Import Failed']);
    expect(events[0].detail).toMatchObject({
      tag: 'v1',
      from: `${reg.host}/ev/app:nope`,
      reason: 'NotFound',
      current: null,
      // The import controller imports at the next generation (docs/semantics.md#import-controller), as the failure records it.
      generation: 2,
    });

    // Point the tag at an existing source: it imports, which is both a recovery and a creation.
    const fix = await api.patch(
      IS(ns, 'app'),
      {
        spec: { tags: [{ name: 'v1', from: { kind: 'DockerImage', name: `${reg.host}/ev/app:v1` } }] },
      },
      'application/strategic-merge-patch+json',
    );
    expect(fix.status).toBe(200);
    events = await eventsOf(ns, 'app', (e) => e.length >= 3);
    expect(events.map((e) => e['detail-type']).sort()).toEqual([
      'ImageStreamTag Changed',
      'ImageStreamTag Import Failed',
      'ImageStreamTag Import Recovered',
    ]);
    const changed = events.find((e) => e['detail-type'] === 'ImageStreamTag Changed');
    expect(changed.detail).toMatchObject({
      change: 'created',
      current: { image: good, pullSpec: `${reg.host}/ev/app@${good}` },
    });
    const recovered = events.find((e) => e['detail-type'] === 'ImageStreamTag Import Recovered');
    expect(recovered.detail).toMatchObject({
      previousFailure: { reason: 'NotFound' },
      current: { image: good },
    });

    // Re-importing the unchanged tag writes nothing, so nothing is published.
    const again = await api.post(ISI(ns), {
      kind: 'ImageStreamImport',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'app' },
      spec: {
        import: true,
        images: [
          {
            from: { kind: 'DockerImage', name: `${reg.host}/ev/app:v1` },
            to: { name: 'v1' },
            importPolicy: { insecure: true },
          },
        ],
      },
    });
    expect(again.status).toBe(201);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(readEvents(eventsFile).filter((e) => e.detail.namespace === ns)).toHaveLength(3);
    for (const e of events) expect(contractErrors(e)).toEqual([]);
  });
});
