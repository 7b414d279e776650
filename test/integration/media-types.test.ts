import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Api, IS, startStack } from '../support/local-stack';

/**
 * Media types as kube-apiserver negotiates them: bodies in JSON or YAML, answers in JSON or YAML as `Accept` asks,
 * and 406 NotAcceptable (before anything is read or written) when the client takes nothing this API serves, such
 * as Kubernetes protobuf alone; protobuf with a JSON fallback, as kubectl and client-go ask, is answered in JSON.
 */
const NS = 'media';
const SEC = `/api/v1/namespaces/${NS}/secrets`;
const YAML = { 'content-type': 'application/yaml' };

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;

beforeAll(async () => {
  stack = await startStack({ SCHEDULER: 'off' });
  api = stack.api;
  expect((await api.newProject(NS)).status).toBe(201);
}, 60_000);
afterAll(async () => stack?.stop());

/** A raw call: the body as text, headers as given, the answer as text with its content type. */
async function raw(method: string, path: string, headers: Record<string, string>, body?: string) {
  const res = await fetch(api.url + path, {
    method,
    headers: { authorization: 'Bearer test-admin-token-0123456789', ...headers },
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('YAML request bodies', () => {
  it('creates and updates from application/yaml and application/x-yaml, as from JSON', async () => {
    const created = await api.call(
      'POST',
      IS(NS),
      [
        'apiVersion: image.openshift.io/v1',
        'kind: ImageStream',
        'metadata:',
        '  name: from-yaml',
        '  labels: {team: "yes", built: 2024-01-02}',
        'spec:',
        '  lookupPolicy: {local: true}',
        '  tags:',
        '    - name: v1',
        '      from: {kind: DockerImage, name: "quay.io/x/y:1"}',
      ].join('\n'),
      YAML,
    );
    expect(created.status).toBe(201);
    // YAML 1.2: `yes` and dates are strings, as they would be in JSON.
    expect(created.body.metadata.labels).toEqual({ team: 'yes', built: '2024-01-02' });
    expect(created.body.spec).toMatchObject({ lookupPolicy: { local: true }, tags: [{ name: 'v1' }] });
    const rv = created.body.metadata.resourceVersion;
    const updated = await api.call(
      'PUT',
      IS(NS, 'from-yaml'),
      `metadata:\n  name: from-yaml\n  resourceVersion: "${rv}"\n  labels:\n    team: other\n`,
      { 'content-type': 'application/x-yaml; charset=utf-8' },
    );
    expect(updated.status).toBe(200);
    expect(updated.body.metadata.labels).toEqual({ team: 'other' });
    const secret = await api.call(
      'POST',
      SEC,
      `kind: Secret\napiVersion: v1\nmetadata: {name: pull}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{"auths":{"quay.io":{"auth":"dTpw"}}}'\n`,
      YAML,
    );
    expect(secret.status).toBe(201);
  });

  it('refuses YAML it cannot take as one JSON-like object (400), and YAML patches (415); nothing is written', async () => {
    const refusals: Array<[string, string | RegExp]> = [
      ['metadata: {name: a}\n---\nmetadata: {name: b}\n', /not valid YAML: expected a single document/],
      ['metadata: {name: a, name: b}\n', /not valid YAML: duplicated mapping key/],
      ['metadata:\n  name: proto\n  __proto__: {x: 1}\n', 'has a key "__proto__" in metadata'],
      [`metadata: {name: deep}\nspec: ${'['.repeat(70)}${']'.repeat(70)}\n`, 'nested more than 64 levels'],
      [
        `metadata: {name: deeper}\nspec: ${'['.repeat(200_000)}${']'.repeat(200_000)}\n`,
        /not valid YAML|nested more/,
      ],
      [
        `metadata: {name: bomb}\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [${'*a,'.repeat(99)}*a]\nc: [${'*b,'.repeat(99)}*b]\n`,
        /not valid YAML: .*alias/i,
      ],
      // Few aliases (50) that nest: a million values from a few hundred characters.
      [
        `metadata: {name: nested-bomb}\na0: &a0 [x,x,x,x,x,x,x,x,x,x]\n${[1, 2, 3, 4, 5].map((i) => `a${i}: &a${i} [${`*a${i - 1},`.repeat(9)}*a${i - 1}]`).join('\n')}\n`,
        /not valid YAML: .*alias/i,
      ],
    ];
    for (const [body, why] of refusals) {
      const res = await api.call('POST', IS(NS), body, YAML);
      expect(res.status, body.slice(0, 40)).toBe(400);
      expect(res.body.message).toMatch(why);
    }
    const patch = await api.call('PATCH', IS(NS, 'from-yaml'), 'metadata: {labels: {a: b}}', YAML);
    expect(patch.status).toBe(415);
    const names = (await api.get(IS(NS))).body.items.map((i: any) => i.metadata.name);
    expect(names).toEqual(['from-yaml']);
  });
});

describe('answers as Accept asks', () => {
  it('answers reads, writes and errors in YAML when asked, in JSON otherwise', async () => {
    const asJson = await api.get(IS(NS, 'from-yaml'));
    const asYaml = await raw('GET', IS(NS, 'from-yaml'), { accept: 'application/yaml' });
    expect([asYaml.status, asYaml.type]).toEqual([200, 'application/yaml']);
    expect(parse(asYaml.text)).toEqual(asJson.body);
    const list = await raw('GET', `${IS(NS)}?limit=1`, {
      accept: 'application/json;q=0.5, application/yaml',
    });
    expect(parse(list.text)).toMatchObject({
      kind: 'ImageStreamList',
      items: [{ metadata: { name: 'from-yaml' } }],
    });
    const created = await raw(
      'POST',
      IS(NS),
      { accept: 'application/yaml', 'content-type': 'application/json' },
      JSON.stringify({ metadata: { name: 'answered-in-yaml' } }),
    );
    expect([created.status, created.type]).toEqual([201, 'application/yaml']);
    expect(parse(created.text).metadata.name).toBe('answered-in-yaml');
    const missing = await raw('GET', IS(NS, 'nothing'), { accept: 'application/yaml' });
    expect([missing.status, missing.type]).toEqual([404, 'application/yaml']);
    expect(parse(missing.text)).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    for (const accept of [
      '*/*',
      'application/*',
      'application/json; charset=utf-8',
      'text/html, */*;q=0.1',
    ]) {
      const res = await raw('GET', IS(NS, 'from-yaml'), { accept });
      expect([res.status, res.type], accept).toEqual([200, 'application/json']);
    }
  });

  it('quotes strings in YAML answers that a YAML 1.1 reader (kubectl, PyYAML) would take for booleans, dates or numbers', async () => {
    const labels = { flag: 'yes', switch: 'on', day: '2024-01-02', count: '1_000', octal: '012' };
    const created = await api.call('POST', IS(NS), { metadata: { name: 'yaml-1-1', labels } });
    expect(created.status).toBe(201);
    const res = await raw('GET', IS(NS, 'yaml-1-1'), { accept: 'application/yaml' });
    expect(res.status).toBe(200);
    for (const [key, value] of Object.entries(labels))
      expect(res.text, key).toMatch(new RegExp(`\\b${key}: (['"])${value}\\1`));
    expect(parse(res.text).metadata.labels).toEqual(labels);
  });

  it('falls back from protobuf to JSON as kubectl asks, and is 406 for protobuf alone, before writing', async () => {
    const kubectlAsks = 'application/vnd.kubernetes.protobuf, */*';
    const withFallback = await raw('GET', `${SEC}/pull`, { accept: kubectlAsks });
    expect([withFallback.status, withFallback.type]).toEqual([200, 'application/json']);
    const json = await raw('GET', `${SEC}/pull`, {
      accept: 'application/vnd.kubernetes.protobuf,application/json',
    });
    expect(json.status).toBe(200);
    for (const accept of ['application/vnd.kubernetes.protobuf', 'text/html', 'application/json;q=0']) {
      const res = await raw('GET', IS(NS, 'from-yaml'), { accept });
      expect(res.status, accept).toBe(406);
      expect(JSON.parse(res.text)).toMatchObject({
        kind: 'Status',
        reason: 'NotAcceptable',
        code: 406,
        message: 'only the following media types are accepted: application/json, application/yaml',
      });
    }
    const write = await raw(
      'POST',
      IS(NS),
      { accept: 'application/vnd.kubernetes.protobuf', 'content-type': 'application/json' },
      JSON.stringify({ metadata: { name: 'never' } }),
    );
    expect(write.status).toBe(406);
    expect((await api.get(IS(NS, 'never'))).status).toBe(404);
  });
});
