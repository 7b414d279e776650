import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { contractErrors, readEvents } from '../support/events';
import { ADMIN_TOKEN, Api, IS, mapImage } from '../support/local-stack';
import { killAllServiceProcesses, killServiceProcess, startServiceProcess } from '../support/service-process';

/**
 * At-least-once delivery through a crash (docs/events.md): the service is a separate process (the `npm start` entry
 * point) killed with SIGKILL between a write and its publication. Events come from the table's stream, so the
 * restarted process derives them again from its checkpoint; ids already in the sink are not written twice.
 */
const dirs: string[] = [];
afterAll(() => {
  killAllServiceProcesses();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const table = `crash${Math.random().toString(36).slice(2, 8)}`;
const dataDir = mkdtempSync(join(tmpdir(), 'is-crash-'));
dirs.push(dataDir);
const eventsFile = join(dataDir, 'events.ndjson');

async function start(env: Record<string, string> = {}): Promise<{ api: Api; child: ChildProcess }> {
  const svc = await startServiceProcess({
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    TABLE_NAME: table,
    DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
    SCHEDULER: 'off',
    LOG_LEVEL: 'error',
    ...env,
  });
  return { api: new Api(svc.url, ADMIN_TOKEN, true), child: svc.child };
}

const kill = killServiceProcess;

async function waitForEvents(n: number, ms = 15_000): Promise<any[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const events = readEvents(eventsFile);
    if (events.length >= n) return events;
    if (Date.now() > deadline) throw new Error(`expected ${n} events, have ${events.length}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a process killed between a write and its event', () => {
  it('publishes the event after a restart, exactly once per eventId', { timeout: 120_000 }, async () => {
    // A change processor that will not poll again for a minute: whatever is written now is not yet published.
    const first = await start({ STREAM_POLL_MS: '60000' });
    await new Promise((r) => setTimeout(r, 1_000)); // its first (empty) poll is done
    expect((await first.api.post(IS('crash'), { metadata: { name: 'app' } })).status).toBe(201);
    const d1 = await mapImage(first.api, 'crash', 'app', 'v1');
    const d2 = await mapImage(first.api, 'crash', 'app', 'v2');
    await kill(first.child);
    expect(readEvents(eventsFile)).toEqual([]);

    // Restarted: the stream is read from the last checkpoint (none yet), and both events are delivered.
    const second = await start();
    const events = await waitForEvents(2);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(readEvents(eventsFile)).toHaveLength(2);
    expect(events.map((e) => [e.detail.tag, e.detail.change, e.detail.current.image])).toEqual([
      ['v1', 'created', d1],
      ['v2', 'created', d2],
    ]);
    for (const e of events) expect(contractErrors(e)).toEqual([]);

    // Killed after publishing but before the checkpoint moved (simulated by losing the checkpoint): the whole
    // stream is derived again, and the sink still holds each event once.
    const d3 = await mapImage(second.api, 'crash', 'app', 'v1');
    await waitForEvents(3);
    await kill(second.child);
    for (const f of readdirSync(dataDir))
      if (f.startsWith('stream-checkpoint-')) unlinkSync(join(dataDir, f));
    expect(existsSync(join(dataDir, `stream-checkpoint-${table}.json`))).toBe(false);
    const third = await start();
    // A new write after the restart proves the re-read has reached the end of the stream.
    const d4 = await mapImage(third.api, 'crash', 'app', 'v2');
    const after = await waitForEvents(4);
    await new Promise((r) => setTimeout(r, 1_000));
    const all = readEvents(eventsFile);
    expect(all).toHaveLength(4);
    expect(new Set(all.map((e) => e.id)).size).toBe(4);
    expect(after.slice(2).map((e) => [e.detail.tag, e.detail.change, e.detail.current.image])).toEqual([
      ['v1', 'moved', d3],
      ['v2', 'moved', d4],
    ]);
    await kill(third.child);
  });
});
