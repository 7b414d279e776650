import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Api, digest, HISTORY, IS, ISM, ISTAG, startStack } from '../support/local-stack';

/**
 * Scale (docs/architecture.md, "Why this shape"): a stream with 10,000 tags and a tag with 1,000 history entries, created and read through the
 * API. Figures are printed so the closing notes can quote them.
 */
let api: Api;
let stop: () => Promise<void>;
const ns = 'scale';
const TAGS = 10_000;
const HISTORY_ENTRIES = 1_000;

beforeAll(async () => {
  ({ api, stop } = await startStack());
});
afterAll(async () => stop?.());

const ms = (t: number) => `${Math.round(performance.now() - t)} ms`;

describe('scale', () => {
  it(`creates and reads a stream with ${TAGS} tags`, { timeout: 300_000 }, async () => {
    const tags = Array.from({ length: TAGS }, (_, i) => ({
      name: `v${i}`,
      from: { kind: 'DockerImage', name: `quay.io/x/y:v${i}` },
      reference: true,
    }));
    let t = performance.now();
    const created = await api.post(IS(ns, ''), { metadata: { name: 'big' }, spec: { tags } });
    expect(created.status, JSON.stringify(created.body).slice(0, 300)).toBe(201);
    console.log(`[scale] POST imagestream with ${TAGS} tags: ${ms(t)}`);

    t = performance.now();
    const plain = await api.get(IS(ns, 'big'));
    const plainMs = ms(t);
    expect(plain.status).toBe(200);
    expect(plain.body.spec.tags).toHaveLength(TAGS);
    expect(plain.body.status.tags).toHaveLength(TAGS);
    t = performance.now();
    // node:http, because fetch would undo the gzip before we could measure it.
    const { raw, encoding } = await new Promise<{ raw: Buffer; encoding: string | undefined }>(
      (resolve, reject) => {
        get(
          api.url + IS(ns, 'big'),
          { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'accept-encoding': 'gzip' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ raw: Buffer.concat(chunks), encoding: res.headers['content-encoding'] }),
            );
            res.on('error', reject);
          },
        ).on('error', reject);
      },
    );
    expect(encoding).toBe('gzip');
    console.log(
      `[scale] GET imagestream (${TAGS} tags): ${plainMs} plain, ${ms(t)} gzip; ${JSON.stringify(plain.body).length} bytes JSON, ${raw.length} bytes gzip`,
    );

    t = performance.now();
    const one = await api.put(ISTAG(ns, 'big:v5000'), {
      metadata: { name: 'big:v5000' },
      tag: { name: 'v5000', from: { kind: 'DockerImage', name: 'quay.io/x/y:other' }, reference: true },
    });
    expect(one.status).toBe(200);
    console.log(`[scale] PUT one imagestreamtag in the ${TAGS}-tag stream: ${ms(t)}`);

    const page = await api.get(`${IS(ns)}?limit=1`);
    expect(page.body.items).toHaveLength(1);
    expect(page.body.items[0].spec.tags).toHaveLength(TAGS);
    expect(raw.length).toBeGreaterThan(0);
    expect(JSON.parse(gunzipSync(raw).toString()).status.tags).toHaveLength(TAGS);
  });

  it(`keeps ${HISTORY_ENTRIES} history entries of one tag, all reachable`, { timeout: 300_000 }, async () => {
    expect((await api.post(IS(ns), { metadata: { name: 'deep' } })).status).toBe(201);
    const images = Array.from({ length: HISTORY_ENTRIES }, () => digest());
    let t = performance.now();
    // Eight writers at a time: concurrency on one tag is part of what is being exercised.
    for (let i = 0; i < images.length; i += 8) {
      const batch = images.slice(i, i + 8);
      const results = await Promise.all(
        batch.map((d) =>
          api.post(ISM(ns), {
            metadata: { name: 'deep' },
            tag: 't',
            image: { metadata: { name: d }, dockerImageReference: `quay.io/x/y@${d}` },
          }),
        ),
      );
      expect(results.every((r) => r.status === 201)).toBe(true);
    }
    console.log(`[scale] ${HISTORY_ENTRIES} mappings onto one tag: ${ms(t)}`);

    t = performance.now();
    const tag = await api.get(ISTAG(ns, 'deep:t'));
    expect(tag.status).toBe(200);
    console.log(`[scale] GET imagestreamtag with ${HISTORY_ENTRIES} history entries: ${ms(t)}`);
    const is = await api.get(IS(ns, 'deep'));
    expect(is.body.status.tags[0].items).toHaveLength(10);

    t = performance.now();
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const res = await api.get(`${HISTORY(ns, 'deep:t')}?limit=300${cont ? `&continue=${cont}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(HISTORY_ENTRIES);
      seen.push(...res.body.items.map((e: any) => e.image));
      cont = res.body.metadata.continue;
      pages++;
    } while (cont && pages < 10);
    console.log(`[scale] full history in ${pages} pages: ${ms(t)}`);
    expect(seen).toHaveLength(HISTORY_ENTRIES);
    expect(new Set(seen)).toEqual(new Set(images));
    expect(seen[0]).toBe(tag.body.image.metadata.name);
  });
});
