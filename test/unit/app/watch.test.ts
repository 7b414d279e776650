import { describe, expect, it } from 'vitest';
import type { StreamChange } from '../../../functions/app/ports/events';
import {
  FIRST_POSITION,
  type LoggedObject,
  loggedAfter,
  type WatchEntry,
  type WatchLog,
  type WatchRecord,
  type WatchSettings,
} from '../../../functions/app/ports/watch';
import { createImageStreamMapping } from '../../../functions/app/streams/imagestreammappings';
import { createImageStream } from '../../../functions/app/streams/imagestreams';
import {
  eventFor,
  followLog,
  listAtPosition,
  listOrder,
  type WatchEvent,
  type WatchScope,
} from '../../../functions/app/watch/watch';
import { logWatchChanges } from '../../../functions/app/watch/watch-feed';
import { parseLabelSelector } from '../../../functions/core/label-selector';
import { eventType } from '../../../functions/store/watch-log';
import { fakeContext, fakeProject } from '../../support/fakes';

/** The watch log in memory: positions from FIRST_POSITION + 1, records as appended (or gaps, when asked). */
class MemoryLog implements WatchLog {
  records: WatchRecord[] = [];
  count = 0;
  last = new Map<string, LoggedObject>();
  async head() {
    return FIRST_POSITION + this.count;
  }
  async readAfter(seq: number, limit: number) {
    return this.records.filter((r) => r.seq > seq).slice(0, limit);
  }
  async recordAt(seq: number) {
    return this.records.find((r) => r.seq === seq);
  }
  async lastLogged(_r: string, ns: string, name: string) {
    return this.last.get(`${ns}/${name}`);
  }
  async presentTags() {
    return [];
  }
  async loggedTags(ns: string, stream: string) {
    const out = new Map<string, LoggedObject>();
    for (const [key, logged] of this.last)
      if (key.startsWith(`${ns}/${stream}:`)) out.set(key.slice(ns.length + 1), logged);
    return out;
  }
  async append(entry: WatchEntry, known?: { last: LoggedObject | undefined }, at = Date.now()) {
    // As the table's log does: what the caller knows of the object's last state, else a read of it.
    const last = known ? known.last : await this.lastLogged(entry.resource, entry.namespace, entry.name);
    const type = eventType(entry, last);
    if (!type) return undefined;
    const seq = FIRST_POSITION + ++this.count;
    this.records.push({ ...entry, seq, at, type, ...(last?.present ? { previousLabels: last.labels } : {}) });
    this.last.set(`${entry.namespace}/${entry.name}`, loggedAfter(entry));
    return seq;
  }
  /** A position handed out and never written (a processor that died in between). */
  skip() {
    this.count++;
  }
  async probe() {}
  async answerProbe() {}
}

const stream = (name: string, version: number, labels: Record<string, string> = {}, deleted = false) => ({
  resource: 'imagestreams' as const,
  namespace: 'ns',
  name,
  streamUid: `uid-${name}`,
  version,
  deleted,
  labels,
  object: {
    kind: 'ImageStream',
    metadata: { name, namespace: 'ns', resourceVersion: String(version), labels },
  },
});

const settings = (log: WatchLog, over: Partial<WatchSettings> = {}): WatchSettings => ({
  log,
  settle: async () => {},
  pollMs: 5,
  retentionMs: 60_000,
  gapGraceMs: 50,
  maxSeconds: 10,
  ...over,
});
const all: WatchScope = { resource: 'imagestreams', namespace: 'ns', labels: () => true };

describe('the watch log: what is news', () => {
  it('logs a state of an object once: later versions, new incarnations, deletions of present objects', () => {
    const logged = { streamUid: 'u', version: 3, present: true, labels: {} };
    const entry = (over: Partial<WatchEntry>): WatchEntry => ({ ...stream('s', 3), streamUid: 'u', ...over });
    expect(eventType(entry({}), undefined)).toBe('ADDED');
    expect(eventType(entry({}), logged)).toBeUndefined();
    expect(eventType(entry({ version: 2 }), logged)).toBeUndefined();
    expect(eventType(entry({ version: 4 }), logged)).toBe('MODIFIED');
    expect(eventType(entry({ streamUid: 'v', version: 1 }), logged)).toBe('MODIFIED');
    expect(eventType(entry({ deleted: true }), logged)).toBe('DELETED');
    expect(eventType(entry({ deleted: true, version: 2 }), logged)).toBeUndefined();
    expect(eventType(entry({ deleted: true }), { ...logged, present: false })).toBeUndefined();
    // A tag deleted and created again starts its versions afresh: ADDED whatever the version.
    expect(eventType(entry({ version: 1 }), { ...logged, present: false })).toBe('ADDED');
  });
});

describe('events for a watcher', () => {
  it('label selectors see objects enter (ADDED) and leave (DELETED) the selection', async () => {
    const log = new MemoryLog();
    await log.append(stream('s', 1, {}));
    await log.append(stream('s', 2, { team: 'blue' }));
    await log.append(stream('s', 3, { team: 'blue', x: 'y' }));
    await log.append(stream('s', 4, { team: 'red' }));
    await log.append(stream('s', 5, { team: 'red' }, true));
    const blue: WatchScope = { ...all, labels: parseLabelSelector('team=blue') };
    expect(log.records.map((r) => eventFor(r, blue)?.type)).toEqual([
      undefined,
      'ADDED',
      'MODIFIED',
      'DELETED',
      undefined,
    ]);
    expect(log.records.map((r) => eventFor(r, all)?.type)).toEqual([
      'ADDED',
      'MODIFIED',
      'MODIFIED',
      'MODIFIED',
      'DELETED',
    ]);
    // The event's resourceVersion is its position; the record's object is left as it was.
    const e = eventFor(log.records[1]!, all)!;
    expect((e.object as any).metadata.resourceVersion).toBe(String(FIRST_POSITION + 2));
    expect((log.records[1]!.object as any).metadata.resourceVersion).toBe('2');
  });
});

describe('list positions', () => {
  it('a change logged while the list read is taken as the log has it, and the position is after it', async () => {
    const log = new MemoryLog();
    await log.append(stream('a', 1));
    await log.append(stream('b', 1));
    const list = await listAtPosition(
      settings(log),
      all,
      listOrder('imagestreams'),
      async () => {
        const read = {
          metadata: {} as Record<string, string>,
          items: [stream('a', 1).object, stream('b', 1).object],
        };
        // While the list reads: b changes (read before the change), c appears (after the read), a goes.
        await log.append(stream('b', 2));
        await log.append(stream('c', 1));
        await log.append(stream('a', 2, {}, true));
        return read;
      },
      false,
    );
    expect(list.items.map((i: any) => `${i.metadata.name}@${i.metadata.resourceVersion}`)).toEqual([
      'b@2',
      'c@1',
    ]);
    expect(list.metadata.resourceVersion).toBe(String(FIRST_POSITION + 5));
    // Nothing is left for a watch from there to repeat.
    expect(await log.readAfter(Number(list.metadata.resourceVersion), 10)).toEqual([]);
  });

  it('stands before a position handed out but not yet written, so a watch from there misses nothing', async () => {
    const log = new MemoryLog();
    await log.append(stream('a', 1));
    let inFlight = 0;
    const list = await listAtPosition(
      settings(log),
      all,
      listOrder('imagestreams'),
      async () => {
        const read = { metadata: {} as Record<string, string>, items: [stream('a', 1).object] };
        // While the list reads: b appears, then another processor takes a position for c (not written yet), then
        // a changes.
        await log.append(stream('b', 1));
        log.skip();
        inFlight = FIRST_POSITION + log.count;
        await log.append(stream('a', 2));
        return read;
      },
      false,
    );
    expect(list.metadata.resourceVersion).toBe(String(inFlight - 1));
    expect(list.items.map((i: any) => `${i.metadata.name}@${i.metadata.resourceVersion}`)).toEqual([
      'a@1',
      'b@1',
    ]);
    // c's record lands; a watch from the list's position gets it, and a's change after it.
    log.records.push({ ...stream('c', 1), seq: inFlight, at: Date.now(), type: 'ADDED' });
    log.records.sort((x, y) => x.seq - y.seq);
    expect(
      (await log.readAfter(Number(list.metadata.resourceVersion), 10)).map((r) => `${r.name}@${r.version}`),
    ).toEqual(['c@1', 'a@2']);
  });
});

describe('following the log', () => {
  const follow = async (log: MemoryLog, from: number, over: Partial<WatchSettings> = {}, ms = 200) => {
    const events: WatchEvent[] = [];
    const stop = AbortSignal.timeout(ms);
    await followLog(settings(log, over), from, all, async (e) => void events.push(e), stop, {
      bookmarks: false,
      bookmarkObject: () => ({}),
      fetch: async () => undefined,
    });
    return events;
  };

  it('delivers every record after the position once, in order', async () => {
    const log = new MemoryLog();
    for (let v = 1; v <= 5; v++) await log.append(stream('s', v));
    const events = await follow(log, FIRST_POSITION + 2);
    expect(events.map((e) => (e.object as any).metadata.resourceVersion)).toEqual(
      [3, 4, 5].map((n) => String(FIRST_POSITION + n)),
    );
  });

  it('a position older than the log keeps is 410 Expired', async () => {
    const log = new MemoryLog();
    await log.append(stream('s', 1), undefined, Date.now() - 120_000);
    await log.append(stream('s', 2));
    await expect(follow(log, FIRST_POSITION)).rejects.toMatchObject({ code: 410, reason: 'Expired' });
    await expect(follow(log, 5)).rejects.toMatchObject({ code: 410 });
    // Newer than anything handed out: no such position either.
    await expect(follow(log, FIRST_POSITION + 9)).rejects.toMatchObject({ code: 410 });
  });

  it('bookmarks: after a quiet interval, the position the log was read to, when only changes out of scope came', async () => {
    const log = new MemoryLog();
    await log.append(stream('mine', 1));
    // Changes in another namespace: not events for this watch, but the log moved past them.
    const elsewhere = (v: number) => ({ ...stream('theirs', v), namespace: 'other' });
    await log.append(elsewhere(1));
    await log.append(elsewhere(2));
    const events: WatchEvent[] = [];
    await followLog(
      settings(log),
      FIRST_POSITION,
      all,
      async (e) => void events.push(e),
      AbortSignal.timeout(300),
      {
        bookmarks: true,
        bookmarkEveryMs: 50,
        bookmarkObject: (position) => ({
          kind: 'ImageStream',
          metadata: { resourceVersion: String(position) },
        }),
        fetch: async () => undefined,
      },
    );
    expect(events.map((e) => [e.type, (e.object as any).metadata.resourceVersion])).toEqual([
      ['ADDED', String(FIRST_POSITION + 1)],
      // One bookmark: later polls find the log where it was bookmarked and send nothing more.
      ['BOOKMARK', String(FIRST_POSITION + 3)],
    ]);

    // Without allowWatchBookmarks, nothing but the event.
    const plain: WatchEvent[] = [];
    await followLog(
      settings(log),
      FIRST_POSITION,
      all,
      async (e) => void plain.push(e),
      AbortSignal.timeout(300),
      {
        bookmarks: false,
        bookmarkEveryMs: 50,
        bookmarkObject: () => ({}),
        fetch: async () => undefined,
      },
    );
    expect(plain.map((e) => e.type)).toEqual(['ADDED']);
  });

  it('a position that stays missing beyond the grace is 410, not skipped', async () => {
    const log = new MemoryLog();
    await log.append(stream('s', 1));
    log.skip();
    await log.append(stream('s', 3));
    await expect(follow(log, FIRST_POSITION + 1, {}, 1_000)).rejects.toMatchObject({ code: 410 });
  });
});

describe("the watch log's writer", () => {
  it('reads the images and the logged states of a batch of tag changes together, per stream, and logs each tag with its image', async () => {
    const ctx = fakeContext();
    await fakeProject(ctx, 'ns');
    const digest = (n: number) => `sha256:${String(n).repeat(64)}`;
    const tags = ['a', 'b', 'c'];
    await createImageStream(ctx, 'ns', { metadata: { name: 's' } });
    for (const [i, tag] of tags.entries())
      await createImageStreamMapping(ctx, 'ns', {
        metadata: { name: 's' },
        tag,
        image: {
          metadata: { name: digest(i + 1) },
          dockerImageReference: `quay.io/x/y@${digest(i + 1)}`,
          dockerImageMetadata: { Architecture: `arch-${tag}` },
        },
      });
    const head = (await ctx.streams.getHead('ns', 's'))!;
    const stored = await ctx.streams.getTags(head, tags);
    const changes: StreamChange[] = tags.map((t) => ({
      kind: 'tag',
      namespace: 'ns',
      stream: 's',
      after: { streamUid: head.uid, tag: stored.get(t)! },
    }));
    const reads = { one: 0, many: [] as string[][] };
    const images = ctx.fakes.images;
    const counted = Object.assign(Object.create(images) as typeof images, {
      seenBy: (...args: Parameters<typeof images.seenBy>) => {
        reads.one++;
        return images.seenBy(...args);
      },
      seenByMany: (...args: Parameters<typeof images.seenByMany>) => {
        reads.many.push(args[1]);
        return images.seenByMany(...args);
      },
    });
    const log = new MemoryLog();
    let lastReads = 0;
    const lastLogged = log.lastLogged.bind(log);
    log.lastLogged = (...args) => {
      lastReads++;
      return lastLogged(...args);
    };
    await logWatchChanges({ streams: ctx.streams, images: counted, rules: ctx.rules }, log, changes);
    expect(reads).toEqual({ one: 0, many: [[digest(1), digest(2), digest(3)]] });
    // What the log last said of each tag comes from one read of the stream's, not one read per tag.
    expect(lastReads).toBe(0);
    expect(log.records.map((r) => [r.name, r.type])).toEqual(tags.map((t) => [`s:${t}`, 'ADDED']));
    // Each tag's view carries its own image's metadata.
    expect(log.records.map((r) => (r.object as any).image.dockerImageMetadata.Architecture)).toEqual(
      tags.map((t) => `arch-${t}`),
    );

    // In the next batch, what the batch logs counts: a change seen twice is logged once, a deletion of a tag the
    // log shows present is logged, and that of one it shows absent is not.
    const a = stored.get('a')!;
    const newer = { streamUid: head.uid, tag: { ...a, version: a.version + 1 } };
    const b = { streamUid: head.uid, tag: stored.get('b')! };
    await logWatchChanges({ streams: ctx.streams, images: counted, rules: ctx.rules }, log, [
      { kind: 'tag', namespace: 'ns', stream: 's', before: { streamUid: head.uid, tag: a }, after: newer },
      { kind: 'tag', namespace: 'ns', stream: 's', before: { streamUid: head.uid, tag: a }, after: newer },
      { kind: 'tag', namespace: 'ns', stream: 's', before: b },
      { kind: 'tag', namespace: 'ns', stream: 's', before: b },
    ]);
    expect(log.records.slice(3).map((r) => [r.name, r.type])).toEqual([
      ['s:a', 'MODIFIED'],
      ['s:b', 'DELETED'],
    ]);
    expect(lastReads).toBe(0);
  });
});
