import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, IS, startStack } from '../support/local-stack';

/**
 * OpenShift's own files: the sample image streams of openshift/library (test/fixtures/openshift-imagestreams,
 * NOTICE.md there) are created through the API as written, with OpenShift's decode defaults; what OpenShift's
 * validation refuses, changed from one of them, is refused with the same field path. No import runs: the import
 * controller and scheduler are off and every registry host name lookup fails, so nothing leaves the machine.
 */

const DIR = join(import.meta.dirname, '../fixtures/openshift-imagestreams');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.json'));
/** One project per origin: community and official streams share some names (redis, jenkins-agent-base). */
const projectOf = (file: string) => `samples-${file.split('__')[0]}`;

type Json = Record<string, any>;
const read = (file: string): Json => JSON.parse(readFileSync(join(DIR, file), 'utf8'));

let api: Api;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ api, stop } = await startStack(
    { IMPORT_CONTROLLER: 'off', SCHEDULER: 'off' },
    {
      registryLookup: async (host) => {
        throw new Error(`no registry lookups in this test (${host})`);
      },
    },
  ));
}, 60_000);
afterAll(() => stop?.());

describe("OpenShift's sample image streams", () => {
  it('has a representative set of files', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(40);
    expect(
      FILES.filter((f) => readFileSync(join(DIR, f), 'utf8').includes('"type": ""')).length,
    ).toBeGreaterThan(0);
  });

  it.each(FILES)('creates %s as OpenShift would', async (file) => {
    const sent = read(file);
    const res = await api.post(IS(projectOf(file)), sent);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // Tags come back in name order, as OpenShift (which keeps them in a map) answers them.
    const tags = res.body.spec.tags as Json[];
    const sentTags = new Map((sent.spec.tags as Json[]).map((t) => [t.name as string, t]));
    expect(tags.map((t) => t.name)).toEqual([...sentTags.keys()].sort());
    for (const tag of tags) {
      const given = sentTags.get(tag.name)!;
      // OpenShift's defaulting: an empty or missing reference policy is Source, an empty import mode Legacy.
      expect(tag.referencePolicy.type).toBe(given.referencePolicy?.type || 'Source');
      expect(tag.importPolicy.importMode).toBe(given.importPolicy?.importMode || 'Legacy');
      expect(tag.from).toEqual(given.from);
      expect(tag.annotations ?? null).toEqual(given.annotations ?? null);
    }
    expect(res.body.metadata.annotations).toEqual(sent.metadata.annotations);
  });
});

describe('defaults on the other write paths', () => {
  it('takes an empty reference policy type on an image stream tag as Source', async () => {
    const ns = 'samples-istag';
    expect((await api.post(IS(ns), { metadata: { name: 'app' }, spec: {} })).status).toBe(201);
    const res = await api.put(`/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamtags/app:v1`, {
      kind: 'ImageStreamTag',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'app:v1' },
      tag: {
        name: 'v1',
        from: { kind: 'DockerImage', name: 'registry.example/app:v1' },
        referencePolicy: { type: '' },
        importPolicy: {},
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const stream = await api.get(IS(ns, 'app'));
    expect(stream.body.spec.tags[0]).toMatchObject({
      name: 'v1',
      referencePolicy: { type: 'Source' },
      importPolicy: { importMode: 'Legacy' },
    });
    expect(stream.body.spec.lookupPolicy).toEqual({ local: false });
  });
});

describe('what OpenShift refuses', () => {
  const base = () => {
    const stream = read('community__ruby__ruby-centos.json');
    stream.metadata.name = `refused-${Math.random().toString(36).slice(2, 8)}`;
    return stream;
  };
  const cases: Array<[string, (s: Json) => void, string]> = [
    [
      'an unknown tag source kind',
      (s) => {
        s.spec.tags[0].from.kind = 'Pod';
      },
      'spec.tags[2.5-ubi8].from.kind',
    ],
    [
      'an unknown reference policy',
      (s) => {
        s.spec.tags[0].referencePolicy = { type: 'Remote' };
      },
      'spec.tags[2.5-ubi8].referencePolicy.type',
    ],
    [
      'an unknown import mode',
      (s) => {
        s.spec.tags[0].importPolicy = { importMode: 'Everything' };
      },
      'spec.tags[2.5-ubi8].importPolicy.importMode',
    ],
    [
      'a tag name with a space',
      (s) => {
        s.spec.tags[0].name = 'two words';
      },
      'spec.tags[two words].name',
    ],
    [
      'a stream name that is no DNS subdomain',
      (s) => {
        s.metadata.name = 'Ruby_Images';
      },
      'metadata.name',
    ],
  ];

  it.each(cases)('refuses %s (422, naming the field) and creates nothing', async (_what, change, field) => {
    const stream = base();
    change(stream);
    const res = await api.post(IS('samples-refused'), stream);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.reason).toBe('Invalid');
    expect(res.body.details.causes.map((c: { field: string }) => c.field)).toContain(field);
    expect((await api.get(IS('samples-refused', stream.metadata.name))).status).toBe(404);
  });
});
