import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';
import { type Api, IS, ISIMAGE, ISTAG, startStack } from '../support/local-stack';
import {
  type PushedContent,
  pushImage,
  pushStandardContent,
  type Registry,
  startRegistry,
} from '../support/registries';

/** Spec-driven import (docs/semantics.md#import-controller): the local stack reads DynamoDB Local's stream and imports in process. */

let api: Api;
let stop: () => Promise<void>;
let reg: Registry;
let content: PushedContent;

beforeAll(async () => {
  reg = await startRegistry('anonymous');
  content = await pushStandardContent(reg);
  ({ api, stop } = await startStack());
}, 120_000);
afterAll(async () => {
  await stop?.();
  await reg?.stop();
});

const tag = (name: string, from: string, extra: Record<string, unknown> = {}) => ({
  name,
  from: { kind: 'DockerImage', name: from },
  importPolicy: { insecure: true, ...((extra.importPolicy as object) ?? {}) },
  ...(extra.reference ? { reference: true } : {}),
});

async function statusTag(ns: string, stream: string, t: string) {
  const s = (await api.get(IS(ns, stream))).body;
  return s.status?.tags?.find((x: any) => x.tag === t);
}

describe('spec-driven import', () => {
  it('imports a new DockerImage tag within a couple of seconds, and not a reference tag', async () => {
    const t0 = Date.now();
    const res = await api.post(IS('spec'), {
      metadata: { name: 'app' },
      spec: {
        tags: [
          tag('v2s2', `${reg.host}/tiny/app:v2s2`),
          tag('multi', `${reg.host}/tiny/app:multi`, { importPolicy: { importMode: 'PreserveOriginal' } }),
          tag('ref', `${reg.host}/tiny/app:oci`, { reference: true }),
        ],
      },
    });
    expect(res.status).toBe(201);
    const v2s2 = await eventually(
      async () => (await statusTag('spec', 'app', 'v2s2'))?.items?.[0],
      'the import',
    );
    const multi = await eventually(
      async () => (await statusTag('spec', 'app', 'multi'))?.items?.[0],
      'the list',
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
    // The import writes with the next stream generation, as OpenShift's ImageStreamImport does (docs/semantics.md#import-results).
    expect(v2s2).toMatchObject({ image: content.digests.v2s2, generation: 2 });
    expect(multi.image).toBe(content.digests.multi);
    expect((await api.get(ISIMAGE('spec', `app@${content.children.multi!.arm64}`))).status).toBe(200);
    const ref = await statusTag('spec', 'app', 'ref');
    expect(ref.items[0]).toMatchObject({ dockerImageReference: `${reg.host}/tiny/app:oci`, image: '' });
    const ist = await api.get(ISTAG('spec', 'app:v2s2'));
    expect(ist.body.image.dockerImageMetadata.Architecture).toBe('amd64');
  });

  it('re-imports when the source changes or the generation is set to 0, records failures once (docs/semantics.md#import-controller)', async () => {
    const d1 = await pushImage(reg, 'spec/moving', 'v1', { label: 'one' });
    await api.post(IS('spec2'), {
      metadata: { name: 'app' },
      spec: { tags: [tag('t', `${reg.host}/spec/moving:v1`)] },
    });
    await eventually(
      async () => (await statusTag('spec2', 'app', 't'))?.items?.[0]?.image === d1 || undefined,
      'first import',
    );

    // The remote tag moves; asking for a re-import (generation 0) picks it up.
    const d2 = await pushImage(reg, 'spec/moving', 'v1', { label: 'two' });
    const is = (await api.get(IS('spec2', 'app'))).body;
    is.spec.tags[0].generation = 0;
    expect((await api.put(IS('spec2', 'app'), is)).status).toBe(200);
    await eventually(
      async () => (await statusTag('spec2', 'app', 't'))?.items?.[0]?.image === d2 || undefined,
      're-import',
    );

    // A changed source that does not exist: one failure condition, then quiet (no retry storm).
    const is2 = (await api.get(IS('spec2', 'app'))).body;
    is2.spec.tags[0].from.name = `${reg.host}/spec/moving:nope`;
    await api.put(IS('spec2', 'app'), is2);
    const cond = await eventually(
      async () => (await statusTag('spec2', 'app', 't'))?.conditions?.[0],
      'the failure',
    );
    expect(cond).toMatchObject({ type: 'ImportSuccess', status: 'False', reason: 'NotFound' });
    const settled = (await api.get(IS('spec2', 'app'))).body.metadata.resourceVersion;
    const mark = reg.requests().length;
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await api.get(IS('spec2', 'app'))).body.metadata.resourceVersion).toBe(settled);
    expect(reg.requests().length).toBe(mark);
    expect((await statusTag('spec2', 'app', 't')).items[0].image).toBe(d2);
  });

  it('changing only the import mode re-imports', async () => {
    await api.post(IS('spec3'), {
      metadata: { name: 'app' },
      spec: { tags: [tag('m', `${reg.host}/tiny/app:multi`)] },
    });
    await eventually(
      async () =>
        (await statusTag('spec3', 'app', 'm'))?.items?.[0]?.image === content.children.multi!.amd64 ||
        undefined,
      'legacy import',
    );
    const is = (await api.get(IS('spec3', 'app'))).body;
    is.spec.tags[0].importPolicy.importMode = 'PreserveOriginal';
    await api.put(IS('spec3', 'app'), is);
    await eventually(
      async () =>
        (await statusTag('spec3', 'app', 'm'))?.items?.[0]?.image === content.digests.multi || undefined,
      'preserve-original import',
    );
  });
});
