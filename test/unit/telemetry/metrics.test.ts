import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { enforce } from '../../../functions/app/access/access';
import { createImageStreamImport } from '../../../functions/app/imports/imagestreamimports';
import { runPush } from '../../../functions/app/jobs/push';
import { runScan } from '../../../functions/app/jobs/scheduler';
import { createImageStream } from '../../../functions/app/streams/imagestreams';
import type { Image } from '../../../functions/core/api-types';
import { StatusError } from '../../../functions/core/errors';
import { EmfMetrics } from '../../../functions/telemetry/emf-metrics';
import { METRICS, METRICS_NAMESPACE } from '../../../functions/telemetry/metrics';
import { fakeContext, fakeProject } from '../../support/fakes';

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const image = (n: number): Image => ({
  metadata: { name: D(n) },
  dockerImageReference: `quay.io/x/y@${D(n)}`,
});

describe('what the use cases count', () => {
  it('every tag import, by result and reason', async () => {
    const ctx = fakeContext();
    await fakeProject(ctx, 'ns');
    ctx.fakes.registry.push('quay.io/x/y', '1', image(1));
    await createImageStreamImport(ctx, 'ns', {
      metadata: { name: 'app' },
      spec: {
        import: true,
        images: [
          { from: { kind: 'DockerImage', name: 'quay.io/x/y:1' }, to: { name: 'one' } },
          { from: { kind: 'DockerImage', name: 'quay.io/x/y:1' }, to: { name: 'same' } },
          { from: { kind: 'DockerImage', name: 'quay.io/x/y:missing' }, to: { name: 'two' } },
        ],
      },
    });
    const m = ctx.fakes.metrics;
    expect(m.total('importSucceeded')).toBe(2);
    expect(m.total('importFailed')).toBe(1);
    const results = m.points.filter((p) => p.role === 'importResult').map((p) => JSON.stringify(p.breakdown));
    expect(results.sort().map((r) => JSON.parse(r))).toEqual([
      { result: 'failed', reason: 'NotFound' },
      { result: 'succeeded', reason: 'Imported' },
      { result: 'succeeded', reason: 'Imported' },
    ]);
    // Identical requests are fetched once: two fetches, two durations.
    expect(m.points.filter((p) => p.role === 'importDuration')).toHaveLength(2);
  });

  it('a completed scheduled scan, its tags and its lag behind the tick that made its slots due', async () => {
    const ctx = fakeContext();
    const tickAt = Date.UTC(2026, 0, 1, 12, 0, 0);
    const job = { kind: 'scan' as const, shard: 0, from: 0, to: 10, cycleEndsAt: tickAt + 900_000 };
    await runScan(ctx, job, ctx.fakes.jobs, () => tickAt + 2_500);
    expect(ctx.fakes.metrics.points).toEqual([
      { role: 'schedulerLag', value: 2_500 },
      { role: 'scheduledTagsChecked', value: 0 },
      { role: 'scheduledScanSucceeded', value: 1 },
    ]);
  });

  it('a request the access check refuses', async () => {
    const ctx = fakeContext();
    expect(() =>
      enforce(
        ctx,
        { user: 'mallory', groups: [] },
        { verb: 'get', resource: 'imagestreams', group: 'image.openshift.io', namespace: 'ns' } as never,
        undefined,
      ),
    ).toThrow(StatusError);
    expect(ctx.fakes.metrics.points).toEqual([{ role: 'authorizationDenied', value: 1 }]);
  });
});

describe('the EMF adapter', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes the catalogue names, units and dimensions as CloudWatch embedded metric format', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const emf = new EmfMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'imagestreams' }));
    emf.record('importSucceeded');
    emf.record('importSucceeded');
    emf.record('importDuration', 120);
    emf.record('registryRequests', 1, { registry: 'quay.io', namespace: 'never-a-dimension' });
    emf.record('registryRequests', 1, { registry: 'quay.io' });
    emf.record('registryRequests', 1, { registry: 'ghcr.io' });
    emf.record('tagChanges', 1, { kind: 'moved' });
    emf.flush();
    emf.flush();
    const docs = lines.flatMap((l) => l.trim().split('\n')).map((l) => JSON.parse(l));
    const byMetric = (name: string) =>
      docs.find((d) => d._aws.CloudWatchMetrics[0].Metrics.some((m: { Name: string }) => m.Name === name));
    const registry = byMetric(METRICS.registryRequests.name);
    expect(registry._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'ImageStreams',
      Dimensions: [['service', 'registry']],
      Metrics: [{ Name: 'RegistryRequests', Unit: 'Count' }],
    });
    // Summed per host over the invocation: one document per registry.
    expect(registry).toMatchObject({ service: 'imagestreams', registry: 'quay.io', RegistryRequests: 2 });
    expect(
      docs.filter((d) => d.RegistryRequests !== undefined).map((d) => [d.registry, d.RegistryRequests]),
    ).toEqual([
      ['quay.io', 2],
      ['ghcr.io', 1],
    ]);
    expect(registry).not.toHaveProperty('namespace');
    expect(byMetric('TagChanges')).toMatchObject({ kind: 'moved', TagChanges: 1 });
    const batch = byMetric('ImportSucceeded');
    expect(batch._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
    expect(batch).toMatchObject({ ImportSucceeded: [1, 1], ImportDuration: 120 });
    // The second flush had nothing to write.
    expect(docs).toHaveLength(4);
  });
});

describe('push to tag change', () => {
  it('measures from the notification to the change its re-check committed, and only when a tag changed', async () => {
    const ctx = fakeContext();
    await fakeProject(ctx, 'ns');
    ctx.fakes.registry.push('quay.io/x/y', '1', image(1));
    await createImageStream(ctx, 'ns', {
      metadata: { name: 'app' },
      spec: {
        tags: [
          {
            name: 'v1',
            from: { kind: 'DockerImage', name: 'quay.io/x/y:1' },
            importPolicy: { scheduled: true },
          },
        ],
      },
    });
    const head = await ctx.streams.getHead('ns', 'app');
    ctx.fakes.schedule.tracking.push({
      namespace: 'ns',
      name: 'app',
      uid: head!.uid,
      tag: 'v1',
      repository: 'quay.io/x/y',
      sourceTag: '1',
    });
    const hint = { registry: 'quay.io', repository: 'x/y', tag: '1', action: 'push' as const };
    const first = await runPush(ctx, hint, 1_000, () => 4_500);
    expect(first.results.some((r) => r.wrote)).toBe(true);
    expect(ctx.fakes.metrics.points.filter((p) => p.role === 'pushToTagChange')).toEqual([
      { role: 'pushToTagChange', value: 3_500 },
    ]);
    // The same digest again: nothing changed, nothing measured.
    await runPush(ctx, hint, 5_000, () => 6_000);
    expect(ctx.fakes.metrics.points.filter((p) => p.role === 'pushToTagChange')).toHaveLength(1);
  });
});
