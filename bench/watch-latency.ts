import { WatchStream } from '../test/support/watch-client';

const WATCH_SAMPLES = Number(process.env.BENCH_WATCH_SAMPLES ?? 200);

function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
}

/**
 * Row 9: how soon a watcher hears of a tag write. A watch on the project's imagestreamtags (from a list's
 * resourceVersion, as informers start), then tag writes one at a time (imagestreammappings, a new image each):
 * the delay from each write's answer (the change is committed) to its event on the watch. The path is the table's
 * stream, read by the stream poller (STREAM_POLL_MS when idle), the watch log, and the watch's read of it
 * (WATCH_POLL_MS).
 */
export async function watchLatencyRow(base: string, namespacePath: string, token: string): Promise<void> {
  const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const created = await fetch(`${base}${namespacePath}/imagestreams`, {
    method: 'POST',
    headers: h,
    body: JSON.stringify({ metadata: { name: 'watched' } }),
  });
  if (created.status !== 201) throw new Error(`stream setup failed: ${created.status}`);
  const list = await fetch(`${base}${namespacePath}/imagestreamtags`, { headers: h });
  const rv = ((await list.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const watch = new WatchStream(
    base,
    token,
    `${namespacePath}/imagestreamtags?watch=true&resourceVersion=${rv}`,
  );
  const delays: number[] = [];
  try {
    for (let i = 0; i < WATCH_SAMPLES; i++) {
      const d = `sha256:${i.toString(16).padStart(64, '0')}`;
      const m = await fetch(`${base}${namespacePath}/imagestreammappings`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({
          metadata: { name: 'watched' },
          tag: 'latest',
          image: { metadata: { name: d }, dockerImageReference: `quay.io/x/y@${d}` },
        }),
      });
      if (m.status !== 201) throw new Error(`mapping failed: ${m.status}`);
      const committed = performance.now();
      await watch.waitFor(i + 1, 10_000);
      if (watch.events.length < i + 1) throw new Error(`no event for write ${i} within 10 s`);
      delays.push(performance.now() - committed);
    }
  } finally {
    watch.close();
  }
  const f = (x: number) => x.toFixed(1).padStart(7);
  console.log(
    `\nrow 9: tag write -> watch event (imagestreamtags watch), ${WATCH_SAMPLES} writes one at a time`,
  );
  console.log('                                          median     p90     p99   (ms)');
  console.log(
    `  write answered -> event received       ${f(quantile(delays, 0.5))} ${f(quantile(delays, 0.9))} ${f(quantile(delays, 0.99))}`,
  );
}
