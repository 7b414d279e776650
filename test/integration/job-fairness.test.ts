import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';
import { type FaultRegistry, startFaultRegistry } from '../support/fault-registry';
import { type Api, IS, startStack } from '../support/local-stack';

/**
 * Fair job slots: one project's imports stuck on a registry that never answers hold at most
 * JOB_CONCURRENCY_PER_PROJECT of the JOB_CONCURRENCY slots, so another project's import still runs at once.
 */
let api: Api;
let stop: () => Promise<void>;
let fault: FaultRegistry;

beforeAll(async () => {
  fault = await startFaultRegistry();
  ({ api, stop } = await startStack({ JOB_CONCURRENCY: '4', SCHEDULER: 'off' }));
}, 120_000);
afterAll(async () => {
  await stop?.();
  await fault?.stop();
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
    // Six streams, six import jobs, each waiting on a registry that accepts the request and never answers.
    for (let i = 0; i < 6; i++) {
      const res = await api.post(IS('stuck'), {
        metadata: { name: `s${i}` },
        spec: { tags: [importTag(`${fault.host}/slow/headers:latest`)] },
      });
      expect(res.status).toBe(201);
    }
    await eventually(
      async () => (fault.hits('slow/headers', 'manifest') >= 3 ? true : undefined),
      'the stuck imports to take their slots',
    );
    const t0 = Date.now();
    const res = await api.post(IS('other'), {
      metadata: { name: 'app' },
      spec: { tags: [importTag(`${fault.host}/ok/app:latest`)] },
    });
    expect(res.status).toBe(201);
    const image = await eventually(() => imported('other', 'app'), "the other project's import", 14_000);
    const elapsed = Date.now() - t0;
    console.log(`[fairness] the other project's import took ${elapsed} ms next to stuck imports`);
    expect(image).toBe(fault.content.manifest.digest);
    expect(elapsed).toBeLessThan(5_000);
    // The stuck project never held more than its share at once.
    expect(fault.hits('slow/headers', 'manifest')).toBeLessThanOrEqual(3);
  });
});
