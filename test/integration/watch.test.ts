import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Api, IS, ISTAG, mapImage, startStack } from '../support/local-stack';
import { WatchStream } from '../support/watch-client';

/**
 * Watches of imagestreams and imagestreamtags over HTTP against the local stack: Kubernetes' framing, list
 * positions a watch resumes from without missing or repeating a change, selectors, refusals and expiry.
 */

const TOKENS = { 'dev-token-0123456789': { user: 'dev', groups: [] } };
const DEV = 'dev-token-0123456789';
let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;

const watch = (path: string, token = ADMIN_TOKEN, headers: Record<string, string> = {}) =>
  new WatchStream(stack.api.url, token, path, headers);

beforeAll(async () => {
  stack = await startStack({ LOCAL_TOKENS: JSON.stringify(TOKENS), WATCH_POLL_MS: '50' });
  api = stack.api;
  expect((await api.newProject('w')).status).toBe(201);
  expect((await api.newProject('w2')).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('list positions and watches', () => {
  it('a list answers a resourceVersion the watch resumes from: every later change once, in order', async () => {
    expect((await api.post(IS('w'), { metadata: { name: 'before' }, spec: {} })).status).toBe(201);
    await mapImage(api, 'w', 'before', 'v1');
    const list = await api.get(IS('w'));
    expect(list.status).toBe(200);
    const rv = list.body.metadata.resourceVersion;
    expect(rv).toMatch(/^\d+$/);
    expect(list.body.items.map((i: any) => i.metadata.name)).toEqual(['before']);
    const tags = watch(`${ISTAG('w')}?watch=true&resourceVersion=${rv}`);
    const streams = watch(`${IS('w')}?watch=1&resourceVersion=${rv}`);
    await mapImage(api, 'w', 'before', 'v2');
    expect((await api.post(IS('w'), { metadata: { name: 'after' }, spec: {} })).status).toBe(201);
    await mapImage(api, 'w', 'before', 'v1');
    expect((await api.delete(ISTAG('w', 'before:v2'))).status).toBe(200);
    expect((await api.delete(IS('w', 'after'))).status).toBe(200);
    const t = await tags.waitFor(3);
    expect(tags.status).toBe(200);
    expect(tags.contentType).toContain('application/json');
    expect(t.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED before:v2',
      'MODIFIED before:v1',
      'DELETED before:v2',
    ]);
    // An imagestream's event carries its tags as logged; stream changes the processor reads in one batch are one
    // event (the latest state), so the stream watch is checked for what it must show, not for a count.
    await streams.waitFor(100, 3_000);
    const s = streams.events;
    expect(s.filter((e) => e.object.metadata.name === 'after').map((e) => e.type)).toEqual([
      'ADDED',
      'DELETED',
    ]);
    const before = s.filter((e) => e.object.metadata.name === 'before');
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((e) => e.type === 'MODIFIED')).toBe(true);
    expect(before.at(-1)!.object.status.tags.map((t: any) => t.tag)).toEqual(['v1']);
    // Each event's resourceVersion is its position: increasing, and all after the list's.
    const positions = [...t, ...s].map((e) => Number(e.object.metadata.resourceVersion));
    for (const p of positions) expect(p).toBeGreaterThan(Number(rv));
    expect(s.map((e) => Number(e.object.metadata.resourceVersion))).toEqual(
      [...s.map((e) => Number(e.object.metadata.resourceVersion))].sort((a, b) => a - b),
    );
    expect(s[1]!.object.kind).toBe('ImageStream');
    expect(t[0]!.object.kind).toBe('ImageStreamTag');
    tags.close();
    streams.close();
  });

  it('without a resourceVersion, the current objects come first as ADDED, then changes', async () => {
    expect((await api.post(IS('w2'), { metadata: { name: 'one' }, spec: {} })).status).toBe(201);
    const w = watch(`${IS('w2')}?watch=true`);
    await w.waitFor(1);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED one']);
    expect((await api.post(IS('w2'), { metadata: { name: 'two' }, spec: {} })).status).toBe(201);
    await w.waitFor(2);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED one', 'ADDED two']);
    w.close();
  });

  it('labelSelector and fieldSelector: objects entering and leaving the selection are ADDED and DELETED', async () => {
    const rv = (await api.get(IS('w'))).body.metadata.resourceVersion;
    const w = watch(`${IS('w')}?watch=true&resourceVersion=${rv}&labelSelector=team%3Dblue`);
    const named = watch(`${IS('w')}?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dsel`);
    expect((await api.post(IS('w'), { metadata: { name: 'sel' }, spec: {} })).status).toBe(201);
    expect((await api.post(IS('w'), { metadata: { name: 'other' }, spec: {} })).status).toBe(201);
    const patch = async (labels: object, seen: number) => {
      expect((await api.patch(IS('w', 'sel'), { metadata: { labels } })).status).toBe(200);
      // One change at a time: changes the processor reads in one batch are one imagestream event.
      await named.waitFor(seen);
    };
    await named.waitFor(1);
    await patch({ team: 'blue' }, 2);
    await patch({ team: 'blue', x: 'y' }, 3);
    await patch({ team: 'red' }, 4);
    await w.waitFor(3);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED sel',
      'MODIFIED sel',
      'DELETED sel',
    ]);
    await named.waitFor(4);
    expect(named.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED sel',
      'MODIFIED sel',
      'MODIFIED sel',
      'MODIFIED sel',
    ]);
    w.close();
    named.close();
  });

  it('ends cleanly at timeoutSeconds', async () => {
    const rv = (await api.get(IS('w'))).body.metadata.resourceVersion;
    const started = Date.now();
    const w = watch(`${IS('w2')}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
    await w.ended;
    expect(w.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('the legacy /watch/ path serves the same stream, a name in it selects that object', async () => {
    const rv = (await api.get(IS('w'))).body.metadata.resourceVersion;
    const w = watch(
      `/apis/image.openshift.io/v1/watch/namespaces/w/imagestreams/legacy?resourceVersion=${rv}`,
    );
    expect((await api.post(IS('w'), { metadata: { name: 'legacy' }, spec: {} })).status).toBe(201);
    expect((await api.post(IS('w'), { metadata: { name: 'legacy2' }, spec: {} })).status).toBe(201);
    await w.waitFor(1);
    await mapImage(api, 'w', 'legacy', 'a');
    await w.waitFor(2);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED legacy',
      'MODIFIED legacy',
    ]);
    w.close();
  });

  it('cluster administrators watch every project (-A); others get 403', async () => {
    const rv = (await api.get('/apis/image.openshift.io/v1/imagestreams')).body.metadata.resourceVersion;
    expect(rv).toMatch(/^\d+$/);
    const all = watch(`/apis/image.openshift.io/v1/imagestreams?watch=true&resourceVersion=${rv}`);
    expect((await api.post(IS('w'), { metadata: { name: 'all-a' }, spec: {} })).status).toBe(201);
    expect((await api.post(IS('w2'), { metadata: { name: 'all-b' }, spec: {} })).status).toBe(201);
    await all.waitFor(2);
    expect(
      all.events.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`),
    ).toEqual(['ADDED w/all-a', 'ADDED w2/all-b']);
    all.close();
    const denied = watch('/apis/image.openshift.io/v1/imagestreams?watch=true', DEV);
    await denied.ended;
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    const denied2 = watch(`${IS('w')}?watch=true`, DEV);
    await denied2.ended;
    expect(denied2.status).toBe(403);
    expect(JSON.parse(denied2.body).message).toContain('cannot watch resource "imagestreams"');
  });
});

describe('updates from an informer cache', () => {
  // A controller updates the object its informer holds: from a watch event, its resourceVersion is a position.
  it('an object taken from a watch event is written back while unchanged, refused (409) once it changed', async () => {
    expect((await api.post(IS('w'), { metadata: { name: 'ctl' }, spec: {} })).status).toBe(201);
    await mapImage(api, 'w', 'ctl', 'v1');
    const list = await api.get(IS('w'));
    const streams = watch(`${IS('w')}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
    const tags = watch(`${ISTAG('w')}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
    expect((await api.patch(IS('w', 'ctl'), { metadata: { labels: { seen: 'one' } } })).status).toBe(200);
    await mapImage(api, 'w', 'ctl', 'v2');
    const [tagEvent] = await tags.waitFor(1);
    const streamEvents = await streams.waitFor(1);
    await streams.waitFor(100, 1_500);
    const cached = streams.events.filter((e) => e.object.metadata.name === 'ctl').at(-1)!.object;
    const position = Number(cached.metadata.resourceVersion);
    expect(position).toBeGreaterThanOrEqual(1e12);
    expect(streamEvents.length).toBeGreaterThan(0);

    const updated = { ...cached, metadata: { ...cached.metadata, labels: { seen: 'two' } } };
    const put = await api.put(IS('w', 'ctl'), updated);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.metadata.labels).toEqual({ seen: 'two' });
    // The same cached object again: the stream changed since that event.
    const stale = await api.put(IS('w', 'ctl'), {
      ...cached,
      metadata: { ...cached.metadata, labels: { seen: 'x' } },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
    // A position of another object matches nothing.
    const other = await api.put(IS('w', 'ctl'), {
      ...put.body,
      metadata: { ...put.body.metadata, resourceVersion: tagEvent!.object.metadata.resourceVersion },
    });
    expect(other.status).toBe(409);
    expect((await api.get(IS('w', 'ctl'))).body.metadata.labels).toEqual({ seen: 'two' });

    // An imagestreamtag from its event, written back after another client changed it, then once more (stale).
    const pinned = {
      kind: 'ImageStreamTag',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'ctl:pinned' },
      tag: { name: 'pinned', from: { kind: 'ImageStreamTag', name: 'v1' } },
    };
    expect((await api.put(ISTAG('w', 'ctl:pinned'), pinned)).status).toBe(201);
    const fresh = watch(`${ISTAG('w')}?watch=true&fieldSelector=metadata.name=ctl:pinned`);
    const [initial] = await fresh.waitFor(1);
    const read = (await api.get(ISTAG('w', 'ctl:pinned'))).body;
    const byOther = { owner: 'other' };
    const changed = await api.put(ISTAG('w', 'ctl:pinned'), {
      ...read,
      metadata: { ...read.metadata, annotations: byOther },
      tag: { ...read.tag, annotations: byOther },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const [, modified] = await fresh.waitFor(2);
    const istag = modified!.object;
    expect(Number(istag.metadata.resourceVersion)).toBeGreaterThanOrEqual(1e12);
    const byCi = { owner: 'ci' };
    const annotated = await api.put(ISTAG('w', 'ctl:pinned'), {
      ...istag,
      metadata: { ...istag.metadata, annotations: byCi },
      tag: { ...istag.tag, annotations: byCi },
    });
    expect(annotated.status, JSON.stringify(annotated.body)).toBe(200);
    const staleTag = await api.put(ISTAG('w', 'ctl:pinned'), initial!.object);
    expect(staleTag.status).toBe(409);
    expect((await api.get(ISTAG('w', 'ctl:pinned'))).body.metadata.annotations).toEqual(byCi);
    streams.close();
    tags.close();
    fresh.close();
  });
});

describe('refusals and expiry', () => {
  it('an old resourceVersion ends the watch with an ERROR event carrying 410 Expired', async () => {
    const w = watch(`${IS('w')}?watch=true&resourceVersion=5`);
    await w.ended;
    expect(w.status).toBe(200);
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    });
  });

  it('refuses what it does not serve, clearly, before streaming', async () => {
    const cases: Array<[string, number, string]> = [
      [
        `${IS('w')}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`,
        422,
        'sendInitialEvents',
      ],
      [`${IS('w')}?watch=true&resourceVersion=abc`, 400, 'resourceVersion'],
      [`${IS('w')}?watch=true&timeoutSeconds=-1`, 400, 'timeoutSeconds'],
      ['/api/v1/namespaces/w/secrets?watch=true', 405, 'watch'],
      [`${IS('w', 'x')}?watch=true`, 405, 'GET'],
    ];
    for (const [path, code, words] of cases) {
      const w = watch(path);
      await w.ended;
      expect(w.status, path).toBe(code);
      const status = JSON.parse(w.body);
      expect(status.kind, path).toBe('Status');
      expect(status.message, path).toContain(words);
    }
  });
});
