import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, sleep } from '../support/eventually';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy';
import { ADMIN_TOKEN, Api, IS } from '../support/local-stack';
import { pushDistinctTags, pushImage, type Registry, startRegistry } from '../support/registries';
import { killAllServiceProcesses, killServiceProcess, startServiceProcess } from '../support/service-process';

/**
 * Background work survives a crash: the service runs as its own process, accepts imports (spec-driven, from a
 * registry far enough away that some are queued and some running) and a delayed push re-check, and is killed
 * with SIGKILL (its whole process group). Restarted on the same DATA_DIR, it finishes every one of them.
 */
const SECRET = 'webhook-secret-0123456789abcdef';
const STREAMS = 8;
let reg: Registry;
let proxy: LatencyProxy;
let digests: Record<string, string>;
const dirs: string[] = [];

beforeAll(async () => {
  reg = await startRegistry('anonymous');
  digests = await pushDistinctTags(reg, 'crash/app', STREAMS);
  // Each registry request waits a second: an import (manifest, then config) takes about two.
  proxy = await startLatencyProxy(reg.url, 1_000);
}, 120_000);
afterAll(async () => {
  killAllServiceProcesses();
  await proxy?.stop();
  await reg?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function service(dataDir: string, table: string, env: Record<string, string> = {}) {
  return startServiceProcess({
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    TABLE_NAME: table,
    DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
    SCHEDULER: 'off',
    LOG_LEVEL: 'error',
    WEBHOOK_SECRET: SECRET,
    ...env,
  });
}

function fresh(): { dataDir: string; table: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'is-jobs-crash-'));
  dirs.push(dataDir);
  return { dataDir, table: `jc${Math.random().toString(36).slice(2, 8)}` };
}

/** The tag's newest image, or its import failure, or undefined while neither is recorded. */
async function outcome(api: Api, ns: string, stream: string, tag: string): Promise<string | undefined> {
  const s = (await api.get(IS(ns, stream))).body;
  const t = s?.status?.tags?.find((x: any) => x.tag === tag);
  if (t?.items?.[0]?.image) return t.items[0].image;
  const failed = t?.conditions?.find((c: any) => c.type === 'ImportSuccess' && c.status === 'False');
  return failed ? `failed: ${failed.message}` : undefined;
}

describe('a process killed with background jobs queued and running', () => {
  it('runs every accepted import after a restart', { timeout: 120_000 }, async () => {
    const { dataDir, table } = fresh();
    let svc: { url: string; child: ChildProcess } = await service(dataDir, table, { JOB_CONCURRENCY: '3' });
    let api = new Api(svc.url, ADMIN_TOKEN, true);
    const ns = 'crashjobs';
    const tags = Object.keys(digests);
    for (const [i, t] of tags.entries()) {
      const res = await api.post(IS(ns), {
        metadata: { name: `s${i}` },
        spec: {
          tags: [
            {
              name: 'v',
              from: { kind: 'DockerImage', name: `${proxy.host}/crash/app:${t}` },
              importPolicy: { insecure: true },
            },
          ],
        },
      });
      expect(res.status).toBe(201);
    }
    // Killed while two imports talk to the registry (the project's share of three slots) and the others wait.
    await eventually(async () => (proxy.inFlight() >= 2 ? true : undefined), 'two imports running', 15_000);
    await sleep(300);
    const before = await Promise.all(tags.map((_, i) => outcome(api, ns, `s${i}`, 'v')));
    await killServiceProcess(svc.child);
    const unfinished = before.filter((o) => o === undefined).length;
    expect(unfinished).toBeGreaterThanOrEqual(4);

    const restartedAt = Date.now();
    svc = await service(dataDir, table, { JOB_CONCURRENCY: '3' });
    api = new Api(svc.url, ADMIN_TOKEN, true);
    const after = await eventually(
      async () => {
        const all = await Promise.all(tags.map((_, i) => outcome(api, ns, `s${i}`, 'v')));
        return all.every((o) => o !== undefined) ? all : undefined;
      },
      'every accepted import to finish after the restart',
      30_000,
    );
    console.log(
      `[jobs-crash] ${unfinished} of ${STREAMS} imports unfinished at the kill; all done ${Date.now() - restartedAt} ms after the restart began`,
    );
    expect(after).toEqual(tags.map((t) => digests[t]));
    await killServiceProcess(svc.child);
  });

  it('runs a delayed push re-check accepted before the kill', { timeout: 120_000 }, async () => {
    const { dataDir, table } = fresh();
    const env = { PUSH_COALESCE_SECONDS: '3' };
    let svc: { url: string; child: ChildProcess } = await service(dataDir, table, env);
    let api = new Api(svc.url, ADMIN_TOKEN, true);
    const ns = 'crashpush';
    const d1 = await pushImage(reg, 'crash/push', 'v1', { label: 'p1' });
    const res = await api.post(IS(ns), {
      metadata: { name: 'app' },
      spec: {
        tags: [
          {
            name: 'v1',
            from: { kind: 'DockerImage', name: `${reg.host}/crash/push:v1` },
            importPolicy: { insecure: true, scheduled: true },
          },
        ],
      },
    });
    expect(res.status).toBe(201);
    expect(await eventually(() => outcome(api, ns, 'app', 'v1'), 'the first import')).toBe(d1);
    const d2 = await pushImage(reg, 'crash/push', 'v1', { label: 'p2' });
    const hook = await fetch(`${svc.url}/webhooks/quay?token=${SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        repository: 'crash/push',
        docker_url: `${reg.host}/crash/push`,
        updated_tags: ['v1'],
      }),
    });
    expect(hook.status).toBe(202);
    expect(((await hook.json()) as any).queued).toBe(1);
    // The re-check waits for its coalescing window to close; the process dies before that.
    await killServiceProcess(svc.child);

    svc = await service(dataDir, table, env);
    api = new Api(svc.url, ADMIN_TOKEN, true);
    expect(
      await eventually(
        async () => {
          const o = await outcome(api, ns, 'app', 'v1');
          return o === d2 ? o : undefined;
        },
        'the push re-check after the restart',
        30_000,
      ),
    ).toBe(d2);
    await killServiceProcess(svc.child);
  });
});
