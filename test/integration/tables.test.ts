import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, IS, ISIMAGE, ISTAG, mapImage, startStack } from '../support/local-stack';

/**
 * Server-side printing: `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (what kubectl get sends) answers a
 * meta.k8s.io Table with oc's and kubectl's columns, one row per object, each carrying its object as
 * `includeObject` asks.
 */
const NS = 'tables';
const SEC = `/api/v1/namespaces/${NS}/secrets`;
const RB = `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`;
const TABLE = { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io, application/json' };
const TABLE_V1BETA1 = { accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json' };

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
let digest: string;

const names = (table: any) => table.columnDefinitions.map((c: { name: string }) => c.name);

beforeAll(async () => {
  stack = await startStack({ SCHEDULER: 'off', INTERNAL_REGISTRY_HOSTNAME: 'registry.local:5000' });
  api = stack.api;
  expect(
    (
      await api.post('/apis/project.openshift.io/v1/projectrequests', {
        metadata: { name: NS },
        displayName: 'Tables and more',
      })
    ).status,
  ).toBe(201);
  expect((await api.post(IS(NS), { metadata: { name: 'app' } })).status).toBe(201);
  digest = await mapImage(api, NS, 'app', 'prod');
  await mapImage(api, NS, 'app', 'dev');
  expect((await api.post(IS(NS), { metadata: { name: 'empty' } })).status).toBe(201);
  expect(
    (
      await api.post(SEC, {
        metadata: { name: 'pull' },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: { '.dockerconfigjson': '{"auths":{"quay.io":{"auth":"dTpw"}}}' },
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await api.post(RB, {
        metadata: { name: 'viewers' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [
          { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'ann' },
          { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'devs' },
          { kind: 'ServiceAccount', name: 'builder', namespace: NS },
        ],
      })
    ).status,
  ).toBe(201);
}, 60_000);
afterAll(async () => stack?.stop());

describe('Tables', () => {
  it("lists image streams with oc's columns, each row with its object's metadata", async () => {
    const res = await api.get(IS(NS), TABLE);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'application/json']);
    expect(res.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect(names(res.body)).toEqual(['Name', 'Image Repository', 'Tags', 'Updated']);
    expect(res.body.columnDefinitions[0]).toMatchObject({ type: 'string', format: 'name', priority: 0 });
    const [app, empty] = res.body.rows;
    expect(app.cells).toEqual([
      'app',
      `registry.local:5000/${NS}/app`,
      expect.stringMatching(/^(dev,prod|prod,dev)$/),
      expect.stringMatching(/^\d+ seconds? ago$/),
    ]);
    expect(empty.cells).toEqual(['empty', `registry.local:5000/${NS}/empty`, '', '']);
    expect(app.object).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: 'app', namespace: NS },
    });
    expect(app.object).not.toHaveProperty('spec');
    const one = await api.get(IS(NS, 'app'), TABLE_V1BETA1);
    expect(one.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1beta1' });
    expect(one.body.rows).toHaveLength(1);
    expect(one.body.metadata.resourceVersion).toBe(app.object.metadata.resourceVersion);
  });

  it('carries the whole object, or none, as includeObject asks; other values are 400', async () => {
    const whole = await api.get(`${IS(NS)}?includeObject=Object`, TABLE);
    expect(whole.body.rows[0].object).toMatchObject({ kind: 'ImageStream', spec: {}, status: {} });
    const none = await api.get(`${IS(NS)}?includeObject=None`, TABLE);
    expect(none.body.rows.map((r: object) => Object.keys(r))).toEqual([['cells'], ['cells']]);
    const bad = await api.get(`${IS(NS)}?includeObject=Everything`, TABLE);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe(
      'includeObject: Unsupported value: "Everything": supported values: "Metadata", "None", "Object"',
    );
    // Without a Table in Accept the parameter changes nothing.
    expect((await api.get(`${IS(NS)}?includeObject=Everything`)).status).toBe(200);
  });

  it('pages: a Table of a page carries the continue token', async () => {
    const page = await api.get(`${IS(NS)}?limit=1`, TABLE);
    expect(page.body.rows).toHaveLength(1);
    expect(page.body.metadata.continue).toBeTruthy();
    const next = await api.get(`${IS(NS)}?limit=1&continue=${page.body.metadata.continue}`, TABLE);
    expect(next.body.rows[0].cells[0]).toBe('empty');
  });

  it('imagestreamtags, imagestreamimages, secrets, role bindings and projects have their columns', async () => {
    const tags = await api.get(ISTAG(NS), TABLE);
    expect(tags.body.columnDefinitions.map((c: any) => [c.name, c.priority])).toEqual([
      ['Name', 0],
      ['Image Reference', 0],
      ['Updated', 0],
      ['Image', 1],
      ['Source', 1],
    ]);
    const prod = tags.body.rows.find((r: any) => r.cells[0] === 'app:prod');
    expect(prod.cells).toEqual([
      'app:prod',
      `quay.io/x/y@${digest}`,
      expect.stringMatching(/ ago$/),
      digest,
      '<none>',
    ]);
    const image = await api.get(ISIMAGE(NS, `app@${digest}`), TABLE);
    expect(names(image.body)).toEqual(['Name', 'Image Reference', 'Created', 'Image']);
    expect(image.body.rows[0].cells[0]).toBe(`app@${digest}`);

    const secrets = await api.get(SEC, TABLE);
    expect(names(secrets.body)).toEqual(['Name', 'Type', 'Data', 'Age']);
    expect(secrets.body.rows[0].cells).toEqual([
      'pull',
      'kubernetes.io/dockerconfigjson',
      1,
      expect.stringMatching(/^\d+s$/),
    ]);
    const bindings = await api.get(`${RB}/viewers`, TABLE);
    expect(names(bindings.body)).toEqual(['Name', 'Role', 'Age', 'Users', 'Groups', 'ServiceAccounts']);
    expect(bindings.body.rows[0].cells).toEqual([
      'viewers',
      'ClusterRole/view',
      expect.stringMatching(/^\d+s$/),
      'ann',
      'devs',
      `${NS}/builder`,
    ]);
    const projects = await api.get('/apis/project.openshift.io/v1/projects', TABLE);
    expect(names(projects.body)).toEqual(['Name', 'Display Name', 'Status']);
    expect(projects.body.rows.find((r: any) => r.cells[0] === NS).cells).toEqual([
      NS,
      'Tables and more',
      'Active',
    ]);
  });

  it('answers errors as Status, and writes never as a Table', async () => {
    const missing = await api.get(IS(NS, 'nothing'), TABLE);
    expect([missing.status, missing.body.kind]).toEqual([404, 'Status']);
    const created = await api.call('POST', IS(NS), { metadata: { name: 'written' } }, TABLE);
    expect([created.status, created.body.kind]).toEqual([201, 'ImageStream']);
    const tableOnly = await api.call(
      'POST',
      IS(NS),
      { metadata: { name: 'refused' } },
      {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      },
    );
    expect(tableOnly.status).toBe(406);
  });
});
