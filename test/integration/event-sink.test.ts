import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveTagEvents } from '../../functions/core/events/tag-events';
import { LocalEventSink } from '../../functions/local/event-sink';

/** The local sink on its own: ids already in the file are not written again, a torn last line is survived. */
const dir = mkdtempSync(join(tmpdir(), 'event-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const envelope = (n: number) =>
  deriveTagEvents(
    {
      namespace: 'ns',
      stream: 'app',
      after: {
        streamUid: 'u',
        tag: {
          name: `t${n}`,
          tid: 't',
          version: 1,
          spec: null,
          recent: [
            {
              created: '2026-11-23T10:00:00Z',
              dockerImageReference: `q.io/x@${D(n)}`,
              image: D(n),
              generation: 1,
            },
          ],
          topSeq: 1,
          conditions: [],
          aliases: [],
        },
      },
      observedAt: '2026-11-23T10:00:00Z',
    },
    (_n, _s, _spec, e) => e.dockerImageReference,
  );
const sink = (file: string) =>
  new LocalEventSink({ file, source: 'imagestreams', webhookUrls: [], log: () => undefined });
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('LocalEventSink', () => {
  it('writes each event id once, across instances (a restart) and within one batch', async () => {
    const file = join(dir, 'a.ndjson');
    await sink(file).publish([...envelope(1), ...envelope(1), ...envelope(2)]);
    await sink(file).publish([...envelope(2), ...envelope(3)]);
    expect(lines(file).map((l) => JSON.parse(l).detail.tag)).toEqual(['t1', 't2', 't3']);
  });

  it('a line torn by a crash is ended and ignored; its event is written again in full', async () => {
    const file = join(dir, 'b.ndjson');
    await sink(file).publish(envelope(1));
    const whole = readFileSync(file, 'utf8');
    const torn = JSON.stringify(JSON.parse(whole)).replace('t1', 't2').replace(D(1), D(2)).slice(0, 40);
    writeFileSync(file, whole + torn);
    await sink(file).publish([...envelope(1), ...envelope(2)]);
    const out = lines(file);
    expect(out).toHaveLength(3);
    expect(out[1]).toBe(torn);
    expect(JSON.parse(out[2]!).detail.tag).toBe('t2');
  });
});
