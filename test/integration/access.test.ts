import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyTagRecord, type StreamState } from '../../functions/core/imagestream/model';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { ProjectStore } from '../../functions/store/project-store';
import { StreamStore } from '../../functions/store/stream-store';
import { readEvents } from '../support/events';
import { eventually } from '../support/eventually';
import { type Api, digest, IS, ISIMAGE, ISTAG, mapImage, startStack } from '../support/local-stack';

/**
 * Projects, role bindings and the sharing rules of docs/semantics.md#cross-project-sources and
 * docs/semantics.md#images-through-streams through the HTTP API, with two users
 * who each own a project.
 */

const RB = (ns: string, name = '') =>
  `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings${name ? `/${name}` : ''}`;
const PROJECTS = '/apis/project.openshift.io/v1/projects';
const binding = (name: string, role: string, subjects: Array<Record<string, string>>) => ({
  kind: 'RoleBinding',
  apiVersion: 'rbac.authorization.k8s.io/v1',
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects,
});
const user = (name: string) => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name });

let stack: Awaited<ReturnType<typeof startStack>>;
let admin: Api;
let alice: Api;
let bob: Api;

beforeAll(async () => {
  stack = await startStack({
    LOCAL_TOKENS: JSON.stringify({
      'alice-token': { user: 'alice', groups: ['devs'] },
      'bob-token': { user: 'bob', groups: ['devs'] },
    }),
  });
  admin = stack.api;
  alice = admin.as('alice-token');
  bob = admin.as('bob-token');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('projects', () => {
  it('a project request makes the requester its admin; others see nothing of it', async () => {
    const res = await alice.newProject('alpha');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: 'Project',
      apiVersion: 'project.openshift.io/v1',
      metadata: { name: 'alpha', annotations: { 'openshift.io/requester': 'alice' } },
      status: { phase: 'Active' },
    });
    const admins = await alice.get(RB('alpha', 'admin'));
    expect(admins.body).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'admin' },
      subjects: [{ kind: 'User', name: 'alice' }],
    });
    expect((await alice.get(`${PROJECTS}/alpha`)).status).toBe(200);
    expect((await alice.post(IS('alpha'), { metadata: { name: 'web' } })).status).toBe(201);

    const peek = await bob.get(`${PROJECTS}/alpha`);
    expect(peek.status).toBe(403);
    expect(peek.body.message).toBe(
      'projects.project.openshift.io "alpha" is forbidden: User "bob" cannot get resource "projects" in API group "project.openshift.io" in the namespace "alpha"',
    );
    expect((await bob.get(IS('alpha'))).status).toBe(403);
    expect((await bob.post(IS('alpha'), { metadata: { name: 'x' } })).status).toBe(403);
  });

  it('lists the projects the caller can see; cluster administrators see all, in pages', async () => {
    expect((await bob.newProject('bravo')).status).toBe(201);
    const names = async (api: Api) => (await api.get(PROJECTS)).body.items.map((p: any) => p.metadata.name);
    expect(await names(alice)).toEqual(['alpha']);
    expect(await names(bob)).toEqual(['bravo']);
    const all = await names(admin);
    expect(all).toEqual(expect.arrayContaining(['alpha', 'bravo']));
    const page = await admin.get(`${PROJECTS}?limit=1`);
    expect(page.body.items).toHaveLength(1);
    const next = await admin.get(`${PROJECTS}?limit=1&continue=${page.body.metadata.continue}`);
    expect(next.body.items[0].metadata.name).not.toBe(page.body.items[0].metadata.name);
    // a view binding makes a project visible; a pull-only binding does not (it grants no `get projects`)
    expect(
      (await bob.post(RB('bravo'), binding('alice-pull', 'system:image-puller', [user('alice')]))).status,
    ).toBe(201);
    expect(await names(alice)).toEqual(['alpha']);
    expect(
      (await bob.post(RB('bravo'), binding('devs-view', 'view', [{ kind: 'Group', name: 'devs' }]))).status,
    ).toBe(201);
    expect(await names(alice)).toEqual(['alpha', 'bravo']);
    expect((await bob.delete(RB('bravo', 'devs-view'))).status).toBe(200);
    expect(await names(alice)).toEqual(['alpha']);
  });

  it('refuses bad, taken and reserved names, and content in projects that do not exist', async () => {
    const taken = await bob.newProject('alpha');
    expect(taken.status).toBe(409);
    expect(taken.body.message).toBe('project.project.openshift.io "alpha" already exists');
    const bad = await alice.newProject('Not_Valid');
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes[0].field).toBe('metadata.name');
    expect((await alice.newProject('openshift-infra')).status).toBe(403);
    const noBody = await alice.post('/apis/project.openshift.io/v1/projectrequests', { metadata: {} });
    expect(noBody.status).toBe(422);

    const missing = await admin.as(null).get(IS('ghost'));
    expect(missing.status).toBe(401);
    const asAdmin = await admin
      .as('test-admin-token-0123456789')
      .post(IS('ghost'), { metadata: { name: 'a' } });
    expect(asAdmin.status).toBe(404);
    expect(asAdmin.body.message).toBe('namespaces "ghost" not found');
    expect((await alice.post(IS('ghost'), { metadata: { name: 'a' } })).status).toBe(403);
  });

  it('nothing new can be created in a project being deleted', async () => {
    expect((await alice.newProject('closing')).status).toBe(201);
    const db = createDocumentClient({ endpoint: stack.service.dynamodbEndpoint });
    // The state a deletion is in while its job still runs.
    await db.send(
      new UpdateCommand({
        TableName: stack.table,
        Key: { PK: 'PRJ#closing', SK: 'PRJ' },
        UpdateExpression: 'SET phase = :t',
        ExpressionAttributeValues: { ':t': 'Terminating' },
      }),
    );
    const res = await alice.post(IS('closing'), { metadata: { name: 'late' } });
    expect(res.status).toBe(403);
    expect(res.body.message).toBe(
      'unable to create new content in namespace closing because it is being terminated',
    );
    expect((await alice.get(`${PROJECTS}/closing`)).body.status.phase).toBe('Terminating');
  });

  it('a stream is created only in an Active project, in the same transaction (store level, small and large creates)', async () => {
    expect((await alice.newProject('guarded')).status).toBe(201);
    const db = createDocumentClient({ endpoint: stack.service.dynamodbEndpoint });
    const streams = new StreamStore(db, stack.table);
    const projects = new ProjectStore(db, stack.table);
    const state = (ns: string, name: string, tags: number): StreamState => ({
      head: {
        namespace: ns,
        name,
        uid: `uid-${name}`,
        resourceVersion: 1,
        generation: 1,
        creationTimestamp: new Date().toISOString(),
        labels: {},
        annotations: {},
        lookupPolicy: { local: false },
        dockerImageRepository: '',
      },
      tags: new Map(
        Array.from({ length: tags }, (_, i) => [
          `t${i}`,
          {
            ...emptyTagRecord(`t${i}`, `tid${i}`),
            spec: { name: `t${i}`, from: { kind: 'DockerImage', name: 'quay.io/x/y:1' } },
          },
        ]),
      ),
      complete: true,
    });
    const create = (ns: string, name: string, tags = 1) =>
      streams.commit({
        mode: 'create',
        before: undefined,
        after: state(ns, name, tags),
        specChanged: true,
        actor: 'alice',
      });
    await create('guarded', 'ok');
    expect(await streams.getHead('guarded', 'ok')).toBeDefined();
    await expect(create('no-such-project', 'x')).rejects.toMatchObject({
      code: 404,
      message: 'namespaces "no-such-project" not found',
    });
    await projects.markTerminating('guarded', 'alice');
    await expect(create('guarded', 'late')).rejects.toMatchObject({ code: 403, reason: 'Forbidden' });
    // a create too large for one transaction claims and reveals under the same guard
    await expect(create('guarded', 'late-large', 150)).rejects.toMatchObject({ code: 403 });
    expect(await streams.getHead('guarded', 'late')).toBeUndefined();
    expect(await streams.getHead('guarded', 'late-large')).toBeUndefined();
  });

  it('streams created while the project is deleted never outlive it', { timeout: 60_000 }, async () => {
    expect((await alice.newProject('racing')).status).toBe(201);
    const creates = Array.from({ length: 30 }, (_, i) =>
      alice.post(IS('racing'), { metadata: { name: `s${i}` } }).then((r) => r.status),
    );
    const deletion = alice.delete(`${PROJECTS}/racing`);
    const statuses = await Promise.all(creates);
    expect((await deletion).status).toBe(200);
    // each create either landed before the project turned Terminating, or was refused
    for (const st of statuses) expect([201, 403, 404]).toContain(st);
    await eventually(
      async () => ((await admin.get(`${PROJECTS}/racing`)).status === 404 ? true : undefined),
      'the racing project to be gone',
      30_000,
    );
    await stack.service.jobsIdle();
    expect((await admin.get(IS('racing'))).body.items).toEqual([]);
  });

  it('deleting a project removes its streams (with their events), secrets and bindings; the name can be reused', async () => {
    expect((await alice.newProject('doomed')).status).toBe(201);
    await alice.post(IS('doomed'), { metadata: { name: 'one' } });
    const d = await mapImage(alice, 'doomed', 'one', 'v1');
    await alice.post(IS('doomed'), { metadata: { name: 'two' } });
    await mapImage(alice, 'doomed', 'two', 'v1');
    const secret = await alice.post('/api/v1/namespaces/doomed/secrets', {
      metadata: { name: 'reg' },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'r.example': { auth: 'dTpw' } } }) },
    });
    expect(secret.status).toBe(201);
    expect((await alice.post(RB('doomed'), binding('bob-view', 'view', [user('bob')]))).status).toBe(201);
    expect((await bob.get(IS('doomed', 'one'))).status).toBe(200);

    expect((await bob.delete(`${PROJECTS}/doomed`)).status).toBe(403);
    const del = await alice.delete(`${PROJECTS}/doomed`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'doomed' } });
    await eventually(
      async () => ((await admin.get(`${PROJECTS}/doomed`)).status === 404 ? true : undefined),
      'the project to be gone',
      15_000,
    );
    await stack.service.jobsIdle();

    expect((await admin.get(IS('doomed'))).body.items).toEqual([]);
    expect((await admin.get('/api/v1/namespaces/doomed/secrets')).body.items).toEqual([]);
    expect((await admin.get(RB('doomed'))).body.items).toEqual([]);
    const deleted = await eventually(
      async () => {
        const found = readEvents(stack.service.eventsFile).filter(
          (e: any) => e.detail.namespace === 'doomed' && e.detail.change === 'deleted',
        );
        return found.length >= 2 ? found : undefined;
      },
      'the deleted events of both streams',
      15_000,
    );
    expect(deleted.map((e: any) => e.detail.stream).sort()).toEqual(['one', 'two']);
    expect(deleted.find((e: any) => e.detail.stream === 'one').detail.previous.image).toBe(d);

    // bob takes the name: none of alice's bindings, streams or secrets come back with it.
    expect((await bob.newProject('doomed')).status).toBe(201);
    expect((await alice.get(IS('doomed'))).status).toBe(403);
    expect((await bob.get(IS('doomed'))).body.items).toEqual([]);
    expect((await bob.get(RB('doomed'))).body.items.map((b: any) => b.metadata.name)).toEqual(['admin']);
  });
});

describe('role bindings', () => {
  it('grant and revoke at once, by user and by group', async () => {
    expect((await alice.newProject('shared')).status).toBe(201);
    expect((await bob.post(IS('shared'), { metadata: { name: 'x' } })).status).toBe(403);
    const created = await alice.post(RB('shared'), binding('bob-edit', 'edit', [user('bob')]));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'RoleBinding',
      metadata: { name: 'bob-edit', namespace: 'shared', resourceVersion: '1' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'bob' }],
    });
    expect((await bob.post(IS('shared'), { metadata: { name: 'x' } })).status).toBe(201);
    // an editor cannot hand out roles
    expect((await bob.post(RB('shared'), binding('self', 'admin', [user('bob')]))).status).toBe(403);

    // replace the subjects: bob out, the devs group in (bob is in devs, so he keeps edit through it)
    const swapped = await alice.put(RB('shared', 'bob-edit'), {
      ...binding('bob-edit', 'edit', [{ kind: 'Group', name: 'devs' }]),
      metadata: { name: 'bob-edit', resourceVersion: '1' },
    });
    expect(swapped.status).toBe(200);
    expect(swapped.body.metadata.resourceVersion).toBe('2');
    expect((await bob.post(IS('shared'), { metadata: { name: 'y' } })).status).toBe(201);
    const stale = await alice.put(RB('shared', 'bob-edit'), {
      ...binding('bob-edit', 'edit', []),
      metadata: { name: 'bob-edit', resourceVersion: '1' },
    });
    expect(stale.status).toBe(409);
    expect((await alice.delete(RB('shared', 'bob-edit'))).status).toBe(200);
    expect((await bob.post(IS('shared'), { metadata: { name: 'z' } })).status).toBe(403);
    expect((await bob.get(IS('shared', 'x'))).status).toBe(403);
  });

  it('validates like Kubernetes and writes nothing on error', async () => {
    const unknownRole = await alice.post(RB('shared'), binding('r1', 'superuser', [user('bob')]));
    expect(unknownRole.status).toBe(422);
    expect(unknownRole.body.details.causes).toEqual([
      expect.objectContaining({ field: 'roleRef.name', reason: 'FieldValueNotSupported' }),
    ]);
    const badSubject = await alice.post(RB('shared'), binding('r2', 'view', [{ kind: 'Robot', name: 'r' }]));
    expect(badSubject.status).toBe(422);
    expect(badSubject.body.details.causes[0].field).toBe('subjects[0].kind');
    const tooMany = await alice.post(
      RB('shared'),
      binding(
        'r3',
        'view',
        Array.from({ length: 41 }, (_, i) => user(`u${i}`)),
      ),
    );
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.details.causes[0].field).toBe('subjects');
    expect((await alice.get(RB('shared', 'r1'))).status).toBe(404);
    expect((await alice.get(RB('shared', 'r2'))).status).toBe(404);
    expect((await alice.get(RB('shared', 'r3'))).status).toBe(404);

    expect((await alice.post(RB('shared'), binding('viewers', 'view', [user('bob')]))).status).toBe(201);
    const changeRole = await alice.put(RB('shared', 'viewers'), binding('viewers', 'admin', [user('bob')]));
    expect(changeRole.status).toBe(422);
    expect(changeRole.body.details.causes[0]).toMatchObject({ field: 'roleRef' });
    expect((await alice.get(RB('shared', 'viewers'))).body.roleRef.name).toBe('view');
    const dup = await alice.post(RB('shared'), binding('viewers', 'view', [user('bob')]));
    expect(dup.status).toBe(409);
  });

  it('PUT creates a missing binding (what `oc policy add-role-to-user` relies on)', async () => {
    const res = await alice.put(
      RB('shared', 'pullers'),
      binding('pullers', 'system:image-puller', [user('bob')]),
    );
    expect(res.status).toBe(201);
    const list = await alice.get(RB('shared'));
    expect(list.body.kind).toBe('RoleBindingList');
    expect(list.body.items.map((b: any) => b.metadata.name)).toEqual(['admin', 'pullers', 'viewers']);
  });
});

describe('tagging from another project needs pull rights on the source stream', () => {
  it('is refused without get imagestreams/layers on the source, and works once granted', async () => {
    expect((await alice.newProject('t22-dest')).status).toBe(201);
    expect((await bob.newProject('t22-src')).status).toBe(201);
    await bob.post(IS('t22-src'), { metadata: { name: 'src' } });
    const image = await mapImage(bob, 't22-src', 'src', '1');
    const stream = {
      metadata: { name: 'app' },
      spec: {
        tags: [{ name: 'prod', from: { kind: 'ImageStreamTag', name: 'src:1', namespace: 't22-src' } }],
      },
    };

    const refused = await alice.post(IS('t22-dest'), stream);
    expect(refused.status).toBe(422);
    expect(refused.body.reason).toBe('Invalid');
    expect(refused.body.details.causes).toEqual([
      expect.objectContaining({ field: 'spec.tags[prod].from', reason: 'FieldValueForbidden' }),
    ]);
    expect(refused.body.message).toContain('spec.tags[prod].from: Forbidden: t22-src/src');
    expect((await alice.get(IS('t22-dest', 'app'))).status).toBe(404);
    // the same through an imagestreamtag
    const istag = await alice.put(ISTAG('t22-dest', 'app2:prod'), {
      metadata: { name: 'app2:prod' },
      tag: { name: 'prod', from: { kind: 'ImageStreamImage', name: `src@${image}`, namespace: 't22-src' } },
    });
    expect(istag.status, JSON.stringify(istag.body)).toBe(422);
    expect(istag.body.details.causes[0].field).toBe('spec.tags[prod].from');

    // bob lets alice pull from his project (system:image-puller): now the tag resolves to his image.
    expect(
      (await bob.post(RB('t22-src'), binding('alice-pulls', 'system:image-puller', [user('alice')]))).status,
    ).toBe(201);
    const ok = await alice.post(IS('t22-dest'), stream);
    expect(ok.status).toBe(201);
    expect(ok.body.status.tags[0]).toMatchObject({
      tag: 'prod',
      items: [expect.objectContaining({ image })],
    });
    // pulling is not reading: alice still cannot see bob's stream
    expect((await alice.get(IS('t22-src', 'src'))).status).toBe(403);

    // unchanged tags are not re-checked: with the right revoked, alice can still edit other tags of her stream
    expect((await bob.delete(RB('t22-src', 'alice-pulls'))).status).toBe(200);
    const current = (await alice.get(IS('t22-dest', 'app'))).body;
    const edited = await alice.put(IS('t22-dest', 'app'), {
      ...current,
      spec: {
        tags: [...current.spec.tags, { name: 'local', from: { kind: 'ImageStreamTag', name: 'app:prod' } }],
      },
    });
    expect(edited.status).toBe(200);
    // but re-pointing at the source again is checked anew
    const repoint = await alice.put(ISTAG('t22-dest', 'app:prod'), {
      metadata: { name: 'app:prod' },
      tag: { name: 'prod', from: { kind: 'ImageStreamTag', name: 'src:other', namespace: 't22-src' } },
    });
    expect(repoint.status).toBe(422);
  });
});

describe('images are readable only through the streams that tag them', () => {
  it('gives a viewer the image through an imagestreamtag, never through /images', async () => {
    expect((await alice.newProject('t23-a')).status).toBe(201);
    expect((await bob.newProject('t23-b')).status).toBe(201);
    await alice.post(IS('t23-a'), { metadata: { name: 'is' } });
    const tagged = await mapImage(alice, 't23-a', 'is', 't');
    // an image that exists, but only in bob's project
    await bob.post(IS('t23-b'), { metadata: { name: 'elsewhere' } });
    const foreign = await mapImage(bob, 't23-b', 'elsewhere', 'x', digest());
    expect((await alice.post(RB('t23-a'), binding('bob-view', 'view', [user('bob')]))).status).toBe(201);

    const istag = await bob.get(ISTAG('t23-a', 'is:t'));
    expect(istag.status).toBe(200);
    expect(istag.body.image).toMatchObject({
      metadata: { name: tagged },
      dockerImageReference: `quay.io/x/y@${tagged}`,
      dockerImageMetadata: expect.objectContaining({ Architecture: 'amd64' }),
    });
    expect((await bob.get(ISIMAGE('t23-a', `is@${tagged}`))).status).toBe(200);

    const direct = await bob.get(`/apis/image.openshift.io/v1/images/${tagged}`);
    expect(direct.status).toBe(403);
    expect(direct.body.message).toBe(
      `images.image.openshift.io "${tagged}" is forbidden: User "bob" cannot get resource "images" in API group "image.openshift.io" at the cluster scope`,
    );
    // even the project admin cannot read /images; a cluster administrator can
    expect((await alice.get(`/apis/image.openshift.io/v1/images/${tagged}`)).status).toBe(403);
    expect((await admin.get(`/apis/image.openshift.io/v1/images/${tagged}`)).status).toBe(200);

    const notInStream = await bob.get(ISIMAGE('t23-a', `is@${foreign}`));
    expect(notInStream.status).toBe(404);
    // and alice, who cannot see bob's project, cannot reach his image through her own stream either
    expect((await alice.get(ISIMAGE('t23-a', `is@${foreign}`))).status).toBe(404);
  });
});
