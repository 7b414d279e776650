import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents } from '../support/events';
import { type Api, IS, mapImage, startStack } from '../support/local-stack';

/** Local mode POSTs every event to EVENT_WEBHOOK_URLS, signed, in order, retrying receivers that fail. */
const SECRET = 'event-signing-secret';
let api: Api;
let stop: () => Promise<void>;
let eventsFile: string;
let server: Server;
const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
let failuresLeft = 0;
let attempts = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      attempts++;
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(503).end();
        return;
      }
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const stack = await startStack({
    EVENT_WEBHOOK_URLS: `http://127.0.0.1:${port}/hook`,
    EVENT_WEBHOOK_SECRET: SECRET,
    SCHEDULER: 'off',
  });
  ({ api, stop } = stack);
  eventsFile = stack.service.eventsFile;
}, 120_000);
afterAll(async () => {
  await stop?.();
  server?.close();
});

async function waitFor(n: number, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (received.length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} webhook deliveries, got ${received.length}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('event webhooks (local mode)', () => {
  it('POSTs each event as written to the file, signed with HMAC-SHA256, retrying a failing receiver', async () => {
    expect((await api.post(IS('hooks'), { metadata: { name: 'app' } })).status).toBe(201);
    failuresLeft = 2;
    const d1 = await mapImage(api, 'hooks', 'app', 'v1');
    const d2 = await mapImage(api, 'hooks', 'app', 'v1');
    await waitFor(2);
    expect(attempts).toBe(4); // two 503s for the first event, then one delivery each
    const bodies = received.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => [b.detail.change, b.detail.current.image])).toEqual([
      ['created', d1],
      ['moved', d2],
    ]);
    expect(bodies).toEqual(readEvents(eventsFile));
    for (const r of received) {
      const id = JSON.parse(r.body).id;
      expect(r.headers['x-imagestreams-event-id']).toBe(id);
      expect(r.headers['x-imagestreams-detail-type']).toBe('ImageStreamTag Changed');
      expect(r.headers['x-imagestreams-signature']).toBe(
        `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`,
      );
      expect(r.headers['content-type']).toBe('application/json');
    }
  });
});
