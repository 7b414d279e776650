import { createHmac } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { EventPublisher } from '../app/ports/events';
import type { Log } from '../app/shared/log';
import { type DeliveredEvent, deliveredEvent, type TagEventEnvelope } from '../core/events/tag-events';

/** Ids remembered from an existing file; older events than this are assumed never to be re-derived. */
const REMEMBERED_BYTES = 64 * 1024 * 1024;
/** Ids remembered in memory (oldest forgotten first): far more than one stream batch can re-derive after a crash. */
const REMEMBERED_IDS = 200_000;
const WEBHOOK_ATTEMPTS = 5;
const WEBHOOK_TIMEOUT_MS = 5_000;
const WEBHOOK_QUEUE_LIMIT = 10_000;

export interface LocalEventSinkOptions {
  file: string;
  source: string;
  webhookUrls: string[];
  webhookSecret?: string | undefined;
  log: Log;
}

/**
 * Local mode's event bus: each event is appended to an NDJSON file (the shape an EventBridge rule target
 * receives) and POSTed to the configured webhooks. The file is written and flushed before the stream checkpoint
 * moves, so a crash re-derives rather than loses; ids already in the file are skipped, so a re-derived event is
 * not written twice. Webhook delivery runs beside the stream (a slow receiver never holds up events) and is
 * retried a few times; receivers de-duplicate on the event id like any EventBridge consumer.
 */
export class LocalEventSink implements EventPublisher {
  private readonly seen: Set<string>;
  private readonly deliveries = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, number>();
  private stopped = false;

  constructor(private readonly o: LocalEventSinkOptions) {
    this.seen = readIds(o.file);
    // Created at start, so `tail -f` works before the first event.
    if (!existsSync(o.file)) appendFileSync(o.file, '');
    // A crash mid-append can leave a torn last line: end it, so the next event starts on a line of its own.
    else {
      const size = statSync(o.file).size;
      const last = Buffer.alloc(1);
      const fd = openSync(o.file, 'r');
      try {
        if (size > 0) readSync(fd, last, 0, 1, size - 1);
      } finally {
        closeSync(fd);
      }
      if (size > 0 && last[0] !== 0x0a) appendFileSync(o.file, '\n');
    }
  }

  async publish(events: TagEventEnvelope[]): Promise<void> {
    const fresh: DeliveredEvent[] = [];
    for (const e of events) {
      if (this.seen.has(e.detail.eventId)) continue;
      this.remember(e.detail.eventId);
      fresh.push(deliveredEvent(e, { source: this.o.source, account: '000000000000', region: 'local' }));
    }
    if (!fresh.length) return;
    const lines = fresh.map((e) => `${JSON.stringify(e)}\n`).join('');
    try {
      const fh = await open(this.o.file, 'a');
      try {
        await fh.appendFile(lines);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      for (const f of fresh) this.seen.delete(f.id);
      throw e;
    }
    for (const e of fresh) for (const url of this.o.webhookUrls) this.deliver(url, e);
  }

  private remember(id: string): void {
    this.seen.add(id);
    // A Set iterates in insertion order: the first id is the oldest.
    if (this.seen.size > REMEMBERED_IDS) this.seen.delete(this.seen.values().next().value as string);
  }

  private deliver(url: string, event: DeliveredEvent): void {
    const queued = this.pending.get(url) ?? 0;
    if (queued >= WEBHOOK_QUEUE_LIMIT) {
      this.o.log({
        level: 'error',
        message: 'webhook queue full, event dropped',
        url: redact(url),
        id: event.id,
      });
      return;
    }
    this.pending.set(url, queued + 1);
    // One chain per URL keeps each receiver's events in order.
    const prev = this.deliveries.get(url) ?? Promise.resolve();
    const next = prev
      .then(() => this.post(url, event))
      .finally(() => this.pending.set(url, (this.pending.get(url) ?? 1) - 1));
    this.deliveries.set(url, next);
  }

  private async post(url: string, event: DeliveredEvent): Promise<void> {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-imagestreams-event-id': event.id,
      'x-imagestreams-detail-type': event['detail-type'],
    };
    if (this.o.webhookSecret)
      headers['x-imagestreams-signature'] =
        `sha256=${createHmac('sha256', this.o.webhookSecret).update(body).digest('hex')}`;
    for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS && !this.stopped; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
          redirect: 'manual',
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) return;
        if (res.status < 500 && res.status !== 408 && res.status !== 429) {
          this.o.log({
            level: 'error',
            message: 'webhook refused event',
            url: redact(url),
            id: event.id,
            status: res.status,
          });
          return;
        }
      } catch {
        // Network error or timeout: retried below.
      }
      if (attempt < WEBHOOK_ATTEMPTS) await sleep(Math.min(8_000, 500 * 2 ** (attempt - 1)));
    }
    if (!this.stopped)
      this.o.log({ level: 'error', message: 'webhook delivery gave up', url: redact(url), id: event.id });
  }

  /** Waits (bounded) for webhook deliveries in flight. */
  async stop(timeoutMs = 3_000): Promise<void> {
    const all = Promise.allSettled([...this.deliveries.values()]);
    await Promise.race([all, sleep(timeoutMs)]);
    this.stopped = true;
  }

  /** Resolves when every webhook delivery queued so far has finished. */
  async flushed(): Promise<void> {
    await Promise.allSettled([...this.deliveries.values()]);
  }
}

function readIds(file: string): Set<string> {
  const ids = new Set<string>();
  if (!existsSync(file)) return ids;
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - REMEMBERED_BYTES);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (start > 0) lines.shift(); // the first line may be cut
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        const id = (JSON.parse(line) as { id?: unknown }).id;
        if (typeof id === 'string') ids.add(id);
      } catch {
        // A line torn by a crash mid-write: its event is re-derived and written again.
      }
    }
  } finally {
    closeSync(fd);
  }
  return ids;
}

/** Webhook URLs may carry credentials in their user-info or query: logs get the origin and path only. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
