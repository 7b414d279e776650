import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { eventsOf, readEvents } from '../support/events';
import { type Api, IS, ISM, ISTAG, mapImage, startStack } from '../support/local-stack';

/**
 * `dryRun=All` (query, or `dryRun: ["All"]` in a DELETE's DeleteOptions) on every write of every resource: every
 * check runs, the answer is what would have been written, and nothing is: the table is byte for byte the same,
 * no event is emitted and no job is queued.
 */
const NS = 'dry';
const SEC = (ns: string, name = '') => `/api/v1/namespaces/${ns}/secrets${name ? `/${name}` : ''}`;
const RB = (ns: string, name = '') =>
  `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings${name ? `/${name}` : ''}`;
const PROJECTS = '/apis/project.openshift.io/v1/projects';
const PROJECT_REQUESTS = '/apis/project.openshift.io/v1/projectrequests';
const ISI = (ns: string) => `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimports`;
const DRY = '?dryRun=All';

const dockerSecret = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, labels },
  type: 'kubernetes.io/dockerconfigjson',
  stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'quay.io': { auth: 'dTpw' } } }) },
});
const binding = (name: string, role: string, users: string[]) => ({
  kind: 'RoleBinding',
  apiVersion: 'rbac.authorization.k8s.io/v1',
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects: users.map((u) => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: u })),
});

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
let viewer: Api;
let snapshot: () => Promise<string>;
let jobsFile: string;

beforeAll(async () => {
  stack = await startStack({
    SCHEDULER: 'off',
    LOCAL_TOKENS: JSON.stringify({ 'viewer-token': { user: 'viewer', groups: [] } }),
  });
  api = stack.api;
  viewer = api.as('viewer-token');
  jobsFile = join(stack.dataDir, `jobs-${stack.table}.ndjson`);
  const db = createDocumentClient({ endpoint: stack.service.dynamodbEndpoint });
  snapshot = async () => {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(new ScanCommand({ TableName: stack.table, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return JSON.stringify(items.map((i) => JSON.stringify(i, Object.keys(i).sort())).sort(), null, 1);
  };
  // What the dry runs act on: a stream with a tag, a secret, a binding, and a project with a viewer.
  expect((await api.post(IS(NS), { metadata: { name: 'app' } })).status).toBe(201);
  await mapImage(api, NS, 'app', 'prod');
  expect((await api.post(SEC(NS), dockerSecret('pull'))).status).toBe(201);
  expect((await api.post(RB(NS), binding('viewers', 'view', ['viewer']))).status).toBe(201);
  expect((await api.post(IS('doomed'), { metadata: { name: 'x' } })).status).toBe(201);
  await eventsOf(stack.service.eventsFile, NS, 'app', (e) => e.length >= 1);
}, 60_000);
afterAll(async () => stack?.stop());

const jobs = () => (existsSync(jobsFile) ? readFileSync(jobsFile, 'utf8') : '');

describe('dryRun=All', () => {
  it('answers every write as if written and writes nothing: no record, no event, no job', async () => {
    const app = (await api.get(IS(NS, 'app'))).body;
    const rv = app.metadata.resourceVersion;
    const before = await snapshot();
    const jobsBefore = jobs();
    const eventsBefore = readEvents(stack.service.eventsFile).length;

    // Creates: 201 with the object, a generated uid and a creation time, and no resourceVersion (none was stored).
    const created = await api.post(`${IS(NS)}${DRY}`, {
      metadata: { name: 'new', labels: { a: 'b' } },
      spec: { tags: [{ name: 'live', from: { kind: 'ImageStreamTag', name: 'app:prod' } }] },
    });
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ name: 'new', namespace: NS, labels: { a: 'b' } });
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body.metadata.creationTimestamp).toBeTruthy();
    expect(created.body.metadata).not.toHaveProperty('resourceVersion');
    expect(created.body.status.tags[0].items[0].image).toBe(app.status.tags[0].items[0].image);

    const tag = await api.post(`${ISTAG(NS)}${DRY}`, {
      kind: 'ImageStreamTag',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'app:next' },
      tag: { name: 'next', from: { kind: 'DockerImage', name: 'quay.io/x/y:2' } },
    });
    expect(tag.status).toBe(201);
    const putTag = await api.put(`${ISTAG(NS, 'app:alias')}${DRY}`, {
      kind: 'ImageStreamTag',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'app:alias' },
      tag: { name: 'alias', from: { kind: 'ImageStreamTag', name: 'prod' } },
    });
    expect(putTag.status).toBe(201);
    expect(putTag.body.image.metadata.name).toBe(app.status.tags[0].items[0].image);
    const mapping = await mapImageDry(api);
    expect(mapping.status).toBe(201);
    const imported = await api.post(`${ISI(NS)}${DRY}`, {
      kind: 'ImageStreamImport',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 'app' },
      spec: {
        import: true,
        images: [{ from: { kind: 'DockerImage', name: '127.0.0.1:9/none:1' }, to: { name: 'broken' } }],
      },
    });
    expect(imported.status).toBe(201);
    expect(imported.body.status.images[0].status.status).toBe('Failure');
    // The stream in the answer is the one the import would have left: the failure recorded on its tag.
    const wouldBe = imported.body.status.import.status.tags.find((t: { tag: string }) => t.tag === 'broken');
    expect(wouldBe.conditions[0]).toMatchObject({ type: 'ImportSuccess', status: 'False' });
    expect(imported.body.status.import.status.tags.map((t: { tag: string }) => t.tag)).toContain('prod');
    const secret = await api.post(`${SEC(NS)}${DRY}`, dockerSecret('other'));
    expect(secret.status).toBe(201);
    expect(secret.body.metadata).toMatchObject({ name: 'other', namespace: NS });
    expect(secret.body.metadata).not.toHaveProperty('resourceVersion');
    expect(secret.body).not.toHaveProperty('data');
    const rb = await api.post(`${RB(NS)}${DRY}`, binding('more', 'edit', ['someone']));
    expect(rb.status).toBe(201);
    expect(rb.body).toMatchObject({ metadata: { name: 'more' }, roleRef: { name: 'edit' } });
    const project = await api.post(`${PROJECT_REQUESTS}${DRY}`, { metadata: { name: 'ghost-project' } });
    expect(project.status).toBe(201);
    expect(project.body).toMatchObject({ kind: 'Project', metadata: { name: 'ghost-project' } });

    // Updates and patches: 200 with the changed object, still at the stored resourceVersion (nothing moved it).
    const put = await api.put(`${IS(NS, 'app')}${DRY}`, {
      ...app,
      metadata: { ...app.metadata, labels: { put: 'yes' } },
    });
    expect(put.status).toBe(200);
    expect(put.body.metadata).toMatchObject({ labels: { put: 'yes' }, resourceVersion: rv });
    const patched = await api.patch(`${IS(NS, 'app')}${DRY}`, { metadata: { annotations: { p: 'q' } } });
    expect(patched.status).toBe(200);
    expect(patched.body.metadata).toMatchObject({ annotations: { p: 'q' }, resourceVersion: rv });
    const strategic = await api.patch(
      `${IS(NS, 'app')}${DRY}`,
      { spec: { tags: [{ name: 'extra', from: { kind: 'DockerImage', name: 'quay.io/x/y:3' } }] } },
      'application/strategic-merge-patch+json',
    );
    expect(strategic.status).toBe(200);
    expect(strategic.body.spec.tags.map((t: { name: string }) => t.name)).toContain('extra');
    const secretPut = await api.put(`${SEC(NS, 'pull')}${DRY}`, dockerSecret('pull', { changed: 'yes' }));
    expect(secretPut.status).toBe(200);
    expect(secretPut.body.metadata).toMatchObject({ labels: { changed: 'yes' }, resourceVersion: '1' });
    const rbPut = await api.put(`${RB(NS, 'viewers')}${DRY}`, binding('viewers', 'view', ['viewer', 'x']));
    expect(rbPut.status).toBe(200);
    expect(rbPut.body.subjects).toHaveLength(2);
    expect(rbPut.body.metadata.resourceVersion).toBe('1');
    const rbNew = await api.put(`${RB(NS, 'fresh')}${DRY}`, binding('fresh', 'view', ['y']));
    expect(rbNew.status).toBe(201);

    // Deletes, with the query or with DeleteOptions in the body (as kubectl sends it): the usual Success Status.
    const deleteOptions = { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] };
    const deletes = [
      await api.delete(IS(NS, 'app'), deleteOptions),
      await api.delete(`${ISTAG(NS, 'app:prod')}${DRY}`),
      await api.delete(SEC(NS, 'pull'), deleteOptions),
      await api.delete(`${RB(NS, 'viewers')}${DRY}`),
      await api.delete(`${PROJECTS}/doomed`, deleteOptions),
    ];
    expect(deletes.map((d) => [d.status, d.body.status])).toEqual(deletes.map(() => [200, 'Success']));
    expect(deletes[0]!.body.details).toMatchObject({ name: 'app', uid: app.metadata.uid });

    expect(await snapshot()).toBe(before);
    expect((await api.get(IS(NS, 'new'))).status).toBe(404);
    expect((await api.get(`${PROJECTS}/doomed`)).body.status.phase).toBe('Active');
    // A real write after the dry runs: once its event is out, any event of a dry run would be out too.
    await api.post(IS(NS), { metadata: { name: 'sentinel' } });
    await mapImage(api, NS, 'sentinel', 'v1');
    await eventsOf(stack.service.eventsFile, NS, 'sentinel', (e) => e.length >= 1, { settleMs: 300 });
    const after = readEvents(stack.service.eventsFile).slice(eventsBefore);
    expect(after.map((e) => `${e.detail.stream}:${e.detail.tag}`)).toEqual(['sentinel:v1']);
    expect(jobs().replace(jobsBefore, '')).not.toMatch(/"kind":"project"/);
  });

  it('still refuses what the write would refuse: AlreadyExists, NotFound, Conflict, Forbidden, Invalid', async () => {
    const before = await snapshot();
    const exists = await api.post(`${IS(NS)}${DRY}`, { metadata: { name: 'app' } });
    expect([exists.status, exists.body.reason]).toEqual([409, 'AlreadyExists']);
    const secretExists = await api.post(`${SEC(NS)}${DRY}`, dockerSecret('pull'));
    expect([secretExists.status, secretExists.body.reason]).toEqual([409, 'AlreadyExists']);
    const rbExists = await api.post(`${RB(NS)}${DRY}`, binding('viewers', 'view', ['z']));
    expect([rbExists.status, rbExists.body.reason]).toEqual([409, 'AlreadyExists']);
    const projectExists = await api.post(`${PROJECT_REQUESTS}${DRY}`, { metadata: { name: NS } });
    expect([projectExists.status, projectExists.body.reason]).toEqual([409, 'AlreadyExists']);
    const missing = await Promise.all([
      api.delete(`${IS(NS, 'nothing')}${DRY}`),
      api.delete(`${SEC(NS, 'nothing')}${DRY}`),
      api.delete(`${RB(NS, 'nothing')}${DRY}`),
      api.delete(`${PROJECTS}/nothing${DRY}`),
    ]);
    expect(missing.map((m) => m.status)).toEqual([404, 404, 404, 404]);
    const stale = await api.put(`${IS(NS, 'app')}${DRY}`, {
      metadata: { name: 'app', resourceVersion: '1' },
    });
    expect([stale.status, stale.body.reason]).toEqual([409, 'Conflict']);
    const forbidden = await viewer.post(`${IS(NS)}${DRY}`, { metadata: { name: 'mine' } });
    expect(forbidden.status).toBe(403);
    const badName = await api.post(`${IS(NS)}${DRY}`, { metadata: { name: 'Not_A_Name' } });
    expect(badName.status).toBe(422);
    expect(await snapshot()).toBe(before);
  });

  it('refuses dryRun values other than All as kube-apiserver does, before writing anything', async () => {
    const before = await snapshot();
    const create = await api.post(`${IS(NS)}?dryRun=true`, { metadata: { name: 'maybe' } });
    expect(create.status).toBe(422);
    expect(create.body).toMatchObject({
      reason: 'Invalid',
      message:
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["true"]: supported values: "All"',
      details: { kind: 'CreateOptions', group: 'meta.k8s.io', causes: [{ field: 'dryRun' }] },
    });
    const mixed = await api.post(`${IS(NS)}?dryRun=All&dryRun=Some`, { metadata: { name: 'maybe' } });
    expect(mixed.status).toBe(422);
    const patch = await api.patch(`${IS(NS, 'app')}?dryRun=`, { metadata: { labels: { x: 'y' } } });
    expect([patch.status, patch.body.details?.kind]).toEqual([422, 'PatchOptions']);
    const del = await api.delete(SEC(NS, 'pull'), { kind: 'DeleteOptions', dryRun: ['Server'] });
    expect([del.status, del.body.details?.kind]).toEqual([422, 'DeleteOptions']);
    const notAList = await api.delete(SEC(NS, 'pull'), { kind: 'DeleteOptions', dryRun: 'All' });
    expect(notAList.status).toBe(400);
    expect(await snapshot()).toBe(before);
  });
});

function mapImageDry(client: Api) {
  const d = `sha256:${'d'.repeat(64)}`;
  return client.post(`${ISM(NS)}${DRY}`, {
    kind: 'ImageStreamMapping',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: 'app', namespace: NS },
    tag: 'mapped',
    image: {
      metadata: { name: d },
      dockerImageReference: `quay.io/x/y@${d}`,
      dockerImageMetadata: { kind: 'DockerImage', apiVersion: 'image.openshift.io/1.0', Id: d },
      dockerImageMetadataVersion: '1.0',
    },
  });
}
