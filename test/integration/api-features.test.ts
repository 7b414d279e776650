import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { type Api, HISTORY, IS, ISIMAGE, ISTAG, mapImage, startStack } from '../support/local-stack';

/** List, patch, delete and paging behaviour of the public API. */
let api: Api;
let stop: () => Promise<void>;
let records: (pk: string) => Promise<Array<Record<string, unknown>>>;

beforeAll(async () => {
  const stack = await startStack();
  ({ api, stop } = stack);
  const db = createDocumentClient({ endpoint: stack.service.dynamodbEndpoint });
  records = async (pk) =>
    (
      await db.send(
        new QueryCommand({
          TableName: stack.table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': pk },
        }),
      )
    ).Items ?? [];
});
afterAll(async () => stop?.());

describe('imagestreams list', () => {
  it('filters by labelSelector and pages with limit/continue', async () => {
    const ns = 'list';
    for (let i = 0; i < 7; i++) {
      const res = await api.post(IS(ns), {
        metadata: { name: `s${i}`, labels: { team: i % 2 ? 'odd' : 'even', idx: String(i) } },
      });
      expect(res.status).toBe(201);
    }
    const all = await api.get(IS(ns));
    expect(all.body.kind).toBe('ImageStreamList');
    expect(all.body.items.map((s: any) => s.metadata.name)).toEqual([
      's0',
      's1',
      's2',
      's3',
      's4',
      's5',
      's6',
    ]);
    const odd = await api.get(`${IS(ns)}?labelSelector=${encodeURIComponent('team=odd')}`);
    expect(odd.body.items.map((s: any) => s.metadata.name)).toEqual(['s1', 's3', 's5']);
    const sel = await api.get(`${IS(ns)}?labelSelector=${encodeURIComponent('team!=odd,idx notin (0,2)')}`);
    expect(sel.body.items.map((s: any) => s.metadata.name)).toEqual(['s4', 's6']);
    const names: string[] = [];
    let cont = '';
    let pages = 0;
    do {
      const page = await api.get(`${IS(ns)}?limit=3${cont ? `&continue=${cont}` : ''}`);
      names.push(...page.body.items.map((s: any) => s.metadata.name));
      cont = page.body.metadata.continue ?? '';
      pages++;
    } while (cont && pages < 10);
    expect(names).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6']);
    expect(pages).toBe(3);
  });
});

describe('imagestreamtags list', () => {
  it('lists resolvable tags across streams in pages', async () => {
    const ns = 'taglist';
    await api.post(IS(ns), { metadata: { name: 'a' } });
    await api.post(IS(ns), {
      metadata: { name: 'b', labels: { keep: 'yes' } },
      spec: { tags: [{ name: 'pending', from: { kind: 'DockerImage', name: 'quay.io/x/y:1' } }] },
    });
    for (const t of ['x', 'y', 'z']) await mapImage(api, ns, 'a', t);
    for (const t of ['p', 'q']) await mapImage(api, ns, 'b', t);
    const all = await api.get(ISTAG(ns));
    expect(all.body.items.map((i: any) => i.metadata.name)).toEqual(['a:x', 'a:y', 'a:z', 'b:p', 'b:q']);
    expect(all.body.items[0].image.dockerImageMetadata.Architecture).toBe('amd64');
    const names: string[] = [];
    let cont = '';
    for (let i = 0; i < 10; i++) {
      const page = await api.get(`${ISTAG(ns)}?limit=2${cont ? `&continue=${cont}` : ''}`);
      names.push(...page.body.items.map((x: any) => x.metadata.name));
      cont = page.body.metadata.continue ?? '';
      if (!cont) break;
    }
    expect(names).toEqual(['a:x', 'a:y', 'a:z', 'b:p', 'b:q']);
    const labelled = await api.get(`${ISTAG(ns)}?labelSelector=keep%3Dyes`);
    expect(labelled.body.items.map((i: any) => i.metadata.name)).toEqual(['b:p', 'b:q']);
  });
});

describe('patch', () => {
  it('supports merge, JSON and strategic merge patches', async () => {
    const ns = 'patch';
    await api.post(IS(ns), { metadata: { name: 's' }, spec: { tags: [{ name: 'a' }, { name: 'b' }] } });
    const merged = await api.patch(IS(ns, 's'), { metadata: { labels: { x: 'y' } } });
    expect(merged.status).toBe(200);
    expect(merged.body.metadata.labels).toEqual({ x: 'y' });
    expect(merged.body.metadata.generation).toBe(1);
    const json = await api.patch(
      IS(ns, 's'),
      [{ op: 'add', path: '/spec/tags/-', value: { name: 'c' } }],
      'application/json-patch+json',
    );
    expect(json.status).toBe(200);
    expect(json.body.spec.tags.map((t: any) => t.name)).toEqual(['a', 'b', 'c']);
    expect(json.body.metadata.generation).toBe(2);
    const strategic = await api.patch(
      IS(ns, 's'),
      {
        spec: {
          tags: [
            { name: 'a', $patch: 'delete' },
            { name: 'd', from: { kind: 'DockerImage', name: 'quay.io/x/d:1' } },
          ],
        },
      },
      'application/strategic-merge-patch+json',
    );
    expect(strategic.status).toBe(200);
    expect(strategic.body.spec.tags.map((t: any) => t.name)).toEqual(['b', 'c', 'd']);
    const failedTest = await api.patch(
      IS(ns, 's'),
      [{ op: 'test', path: '/metadata/name', value: 'other' }],
      'application/json-patch+json',
    );
    expect(failedTest.status).toBe(422);
    const stale = await api.patch(IS(ns, 's'), { metadata: { resourceVersion: '1', labels: { z: 'z' } } });
    expect(stale.status).toBe(409);
    const bad = await api.patch(IS(ns, 's'), {
      spec: { tags: [{ name: 'e', from: { kind: 'Nope', name: 'x' } }] },
    });
    expect(bad.status).toBe(422);
    expect((await api.get(IS(ns, 's'))).body.spec.tags.map((t: any) => t.name)).toEqual(['b', 'c', 'd']);
  });
});

describe('delete imagestream', () => {
  it('removes the stream and its tags; images stay for other streams; the name can be reused', async () => {
    const ns = 'del';
    await api.post(IS(ns), { metadata: { name: 'gone' } });
    await api.post(IS(ns), { metadata: { name: 'stays' } });
    const d = await mapImage(api, ns, 'gone', 't');
    await mapImage(api, ns, 'stays', 't', d);
    const current = (await api.get(IS(ns, 'gone'))).body;
    const wrongUid = await api.delete(IS(ns, 'gone'), {
      kind: 'DeleteOptions',
      preconditions: { uid: 'nope' },
    });
    expect(wrongUid.status).toBe(409);
    const res = await api.delete(IS(ns, 'gone'), {
      kind: 'DeleteOptions',
      preconditions: { uid: current.metadata.uid },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'gone', kind: 'imagestreams' },
    });
    expect((await api.get(IS(ns, 'gone'))).status).toBe(404);
    expect((await api.get(ISTAG(ns, 'gone:t'))).status).toBe(404);
    expect((await api.get(ISTAG(ns, 'stays:t'))).body.image.metadata.name).toBe(d);
    expect((await api.get(ISIMAGE(ns, `stays@${d}`))).status).toBe(200);
    const again = await api.post(IS(ns), { metadata: { name: 'gone' } });
    expect(again.status).toBe(201);
    expect(again.body.metadata.uid).not.toBe(current.metadata.uid);
    expect(again.body.status.tags).toBeUndefined();
    expect((await api.get(ISIMAGE(ns, `gone@${d}`))).status).toBe(404);
  });
});

describe('imagestreamtags writes', () => {
  it('creates the stream on demand, answers 201 for new spec tags and 200 for updates, and keeps annotations', async () => {
    const ns = 'istag';
    const body = (ann?: Record<string, string>) => ({
      kind: 'ImageStreamTag',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'auto:t', ...(ann ? { annotations: ann } : {}) },
      tag: { name: 't', from: { kind: 'DockerImage', name: 'quay.io/x/y:1' }, reference: true },
    });
    const first = await api.put(ISTAG(ns, 'auto:t'), body({ owner: 'web' }));
    expect(first.status).toBe(201);
    expect(first.body.tag.annotations).toEqual({ owner: 'web' });
    expect(first.body.image.dockerImageReference).toBe('quay.io/x/y:1');
    const is = (await api.get(IS(ns, 'auto'))).body;
    expect(is.metadata.generation).toBe(1);
    const second = await api.put(ISTAG(ns, 'auto:t'), body({ owner: 'api' }));
    expect(second.status).toBe(200);
    expect((await api.get(IS(ns, 'auto'))).body.spec.tags[0].annotations).toEqual({ owner: 'api' });
    const viaCollection = await api.post(ISTAG(ns), {
      ...body(),
      metadata: { name: 'auto:u' },
      tag: { name: 'u' },
    });
    expect(viaCollection.status).toBe(201);
  });

  it('serves responses gzipped when asked and the history endpoint 404s for empty tags', async () => {
    const ns = 'misc';
    await api.post(IS(ns), { metadata: { name: 's' }, spec: { tags: [{ name: 'empty' }] } });
    expect((await api.get(HISTORY(ns, 's:empty'))).status).toBe(404);
    const res = await api.get(IS(ns, 's'), { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.body.metadata.name).toBe('s');
  });
});

describe('housekeeping', () => {
  it('removes the records of deleted tags and deleted streams', async () => {
    const ns = 'sweep';
    await api.post(IS(ns), { metadata: { name: 's' } });
    for (let i = 0; i < 3; i++) await mapImage(api, ns, 's', 'gone');
    await mapImage(api, ns, 's', 'kept');
    const pk = `IS#${ns}/s`;
    expect((await records(pk)).filter((r) => r.kind === 'history')).toHaveLength(4);
    expect((await api.delete(ISTAG(ns, 's:gone'))).status).toBe(200);
    const left = await records(pk);
    expect(left.filter((r) => r.kind === 'history').map((r) => r.tag)).toEqual(['kept']);
    expect(left.filter((r) => r.kind === 'ref').map((r) => r.tag)).toEqual(['kept']);
    expect((await api.delete(IS(ns, 's'))).status).toBe(200);
    expect(await records(pk)).toEqual([]);
  });
});
