import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy';
import { type Api, IS, startStack } from '../support/local-stack';
import { pushDistinctTags, type Registry, startRegistry } from '../support/registries';

/**
 * Fair job slots: one project's imports stuck on a registry that trickles bytes hold at most
 * JOB_CONCURRENCY_PER_PROJECT of the JOB_CONCURRENCY slots, so another project's import still runs at once.
 */
let api: Api;
let stop: () => Promise<void>;
let reg: Registry;
let trickling: LatencyProxy;
let digests: Record<string, string>;

beforeAll(async () => {
  reg = await startRegistry('anonymous');
  digests = await pushDistinctTags(reg, 'fair/app', 7);
  // The same registry reached through a proxy that sends every body one byte every 200 ms: never silent long
  // enough for the idle timeout, and a manifest takes minutes.
  trickling = await startLatencyProxy(reg.url, 0, { trickleMs: 200 });
  // Waits long enough that the stuck imports outlast the test, whatever the defaults.
  ({ api, stop } = await startStack({
    JOB_CONCURRENCY: '4',
    SCHEDULER: 'off',
    REGISTRY_TIMEOUT_SECONDS: '60',
    IMPORT_TIMEOUT_SECONDS: '120',
  }));
}, 120_000);
afterAll(async () => {
  await stop?.();
  await trickling?.stop();
  await reg?.stop();
});

const importTag = (from: string) => ({
  name: 'latest',
  from: { kind: 'DockerImage', name: from },
  importPolicy: { insecure: true },
});

async function imported(ns: string, stream: string): Promise<string | undefined> {
  const s = (await api.get(IS(ns, stream))).body;
  return s?.status?.tags?.find((t: any) => t.tag === 'latest')?.items?.[0]?.image;
}

describe('job slots', () => {
  it("another project's import completes while one project's imports are stuck", {
    timeout: 60_000,
  }, async () => {
    const tags = Object.keys(digests);
    // Six streams, six import jobs, each reading its manifest a byte at a time.
    for (const [i, t] of tags.slice(0, 6).entries()) {
      const res = await api.post(IS('stuck'), {
        metadata: { name: `s${i}` },
        spec: { tags: [importTag(`${trickling.host}/fair/app:${t}`)] },
      });
      expect(res.status).toBe(201);
    }
    await eventually(
      async () => (trickling.inFlight() >= 3 ? true : undefined),
      'the stuck imports to take their slots',
    );
    const t0 = Date.now();
    const res = await api.post(IS('other'), {
      metadata: { name: 'app' },
      spec: { tags: [importTag(`${reg.host}/fair/app:${tags[6]}`)] },
    });
    expect(res.status).toBe(201);
    const image = await eventually(() => imported('other', 'app'), "the other project's import", 14_000);
    const elapsed = Date.now() - t0;
    console.log(`[fairness] the other project's import took ${elapsed} ms next to stuck imports`);
    expect(image).toBe(digests[tags[6]!]);
    expect(elapsed).toBeLessThan(5_000);
    // The stuck project never held more than its share of the slots at once.
    expect(trickling.peakInFlight()).toBe(3);
    expect(await imported('stuck', 's0')).toBeUndefined();
  });
});
