import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient } from '../../functions/local/dynamodb-local';
import { keys } from '../../functions/store/keys';
import { ADMIN_TOKEN, type Api, IS, ISTAG, startStack } from '../support/local-stack';

/**
 * Server-side apply and field ownership over HTTP (kubectl's side of it is in kubectl.test.ts): managedFields on
 * reads, conflicts, force, Update entries of other writes, fieldValidation, and where ownership is stored.
 */

const APPLY = 'application/apply-patch+yaml';
const NS = 'ssa';

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
const doc = DynamoDBDocumentClient.from(createDynamoDbClient(inject('dynamodbEndpoint')));

const tag = (name: string, from: string) => ({
  name,
  reference: true,
  from: { kind: 'DockerImage', name: from },
});
const stream = (name: string, labels: Record<string, string> | undefined, tags: object[]) => ({
  apiVersion: 'image.openshift.io/v1',
  kind: 'ImageStream',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { tags },
});
const applyAs = (manager: string, name: string, body: unknown, extra = '') =>
  api.call('PATCH', `${IS(NS, name)}?fieldManager=${manager}${extra}`, JSON.stringify(body), {
    'content-type': APPLY,
  });

/** The version of every tag record of a stream, straight from the table. */
async function tagVersions(name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: stack.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :t)',
        ExpressionAttributeValues: { ':pk': keys.streamPk(NS, name), ':t': 'T#' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) out[item.tag as string] = item.ver as number;
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

beforeAll(async () => {
  stack = await startStack();
  api = stack.api;
  expect((await api.newProject(NS)).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('server-side apply of imagestreams', () => {
  it('creates (201), shows the applier as owner, and an identical apply writes nothing', async () => {
    const first = await applyAs('ci', 'web', stream('web', { app: 'web' }, [tag('a', 'quay.io/x/web:1')]));
    expect(first.status).toBe(201);
    expect(first.body.metadata.managedFields).toEqual([
      {
        manager: 'ci',
        operation: 'Apply',
        apiVersion: 'image.openshift.io/v1',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:tags': {
              'k:{"name":"a"}': { '.': {}, 'f:from': {}, 'f:name': {}, 'f:reference': {} },
            },
          },
        },
      },
    ]);
    const again = await applyAs('ci', 'web', stream('web', { app: 'web' }, [tag('a', 'quay.io/x/web:1')]));
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    const read = await api.get(IS(NS, 'web'));
    expect(read.body.metadata.managedFields).toEqual(first.body.metadata.managedFields);
  });

  it("answers a change of another manager's field with 409 and its causes; force moves the field", async () => {
    const other = stream('web', undefined, [tag('a', 'quay.io/x/web:2')]);
    const refused = await applyAs('deployer', 'web', other);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      kind: 'Status',
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict: conflict with "ci": .spec.tags[name="a"].from',
      details: {
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "ci"',
            field: '.spec.tags[name="a"].from',
          },
        ],
      },
    });
    const forced = await applyAs('deployer', 'web', other, '&force=true');
    expect(forced.status).toBe(200);
    expect(forced.body.spec.tags[0].from.name).toBe('quay.io/x/web:2');
    const owners = Object.fromEntries(
      forced.body.metadata.managedFields.map((e: any) => [e.manager, e.fieldsV1['f:spec']?.['f:tags']]),
    );
    expect(owners.ci).toEqual({ 'k:{"name":"a"}': { '.': {}, 'f:name': {}, 'f:reference': {} } });
    expect(owners.deployer).toEqual({
      'k:{"name":"a"}': { '.': {}, 'f:from': {}, 'f:name': {}, 'f:reference': {} },
    });
  });

  it('removes a tag its only applier stops applying', async () => {
    const r = await applyAs(
      'ci',
      'solo',
      stream('solo', undefined, [tag('a', 'q.io/x:1'), tag('b', 'q.io/x:2')]),
    );
    expect(r.status).toBe(201);
    const dropped = await applyAs('ci', 'solo', stream('solo', undefined, [tag('a', 'q.io/x:1')]));
    expect(dropped.status).toBe(200);
    expect(dropped.body.spec.tags.map((t: any) => t.name)).toEqual(['a']);
  });

  it('refuses an apply without a field manager, force on other patches, and bad options (422 on PatchOptions)', async () => {
    const noManager = await api.call('PATCH', IS(NS, 'web'), JSON.stringify(stream('web', undefined, [])), {
      'content-type': APPLY,
    });
    expect(noManager.status).toBe(422);
    expect(noManager.body.message).toContain('fieldManager: Required value: is required for apply patch');
    expect(noManager.body.details.kind).toBe('PatchOptions');
    const forced = await api.patch(`${IS(NS, 'web')}?force=true`, { metadata: { labels: { x: 'y' } } });
    expect(forced.status).toBe(422);
    expect(forced.body.message).toContain('force: Forbidden: may not be specified for non-apply patch');
    const badValidation = await api.post(`${IS(NS)}?fieldValidation=Loose`, stream('loose', undefined, []));
    expect(badValidation.status).toBe(422);
    expect(badValidation.body.message).toContain('fieldValidation: Unsupported value: "Loose"');
    const notAnObject = await api.call('PATCH', `${IS(NS, 'web')}?fieldManager=ci`, '- a\n- b\n', {
      'content-type': APPLY,
    });
    expect(notAnObject.status).toBe(400);
    // Without the test client's own project provisioning (it would create the project first).
    const noProject = await api
      .as(ADMIN_TOKEN)
      .call(
        'PATCH',
        `${IS('nowhere', 'web')}?fieldManager=ci`,
        JSON.stringify(stream('web', undefined, [])),
        { 'content-type': APPLY },
      );
    expect(noProject.status).toBe(404);
    expect(noProject.body.message).toBe('namespaces "nowhere" not found');
    const otherName = await applyAs('ci', 'web', stream('nope', undefined, []));
    expect(otherName.status).toBe(400);
    expect(otherName.body.message).toContain('does not match the name on the URL');
  });

  it('a dry-run apply answers the result and writes nothing', async () => {
    const before = await api.get(IS(NS, 'web'));
    const dry = await applyAs(
      'ci',
      'web',
      stream('web', { app: 'dry' }, [tag('a', 'quay.io/x/web:1')]),
      '&dryRun=All&force=true',
    );
    expect(dry.status).toBe(200);
    expect(dry.body.metadata.labels.app).toBe('dry');
    const after = await api.get(IS(NS, 'web'));
    expect(after.body.metadata.resourceVersion).toBe(before.body.metadata.resourceVersion);
    expect(after.body.metadata.labels.app).toBe('web');
  });

  it('is not offered where ownership is not kept: 405 for resources without PATCH', async () => {
    for (const path of [ISTAG(NS, 'web:a'), `/api/v1/namespaces/${NS}/secrets/s`]) {
      const r = await api.call('PATCH', `${path}?fieldManager=ci`, '{}', { 'content-type': APPLY });
      expect(r.status, path).toBe(405);
    }
  });
});

describe('Update entries of other writes', () => {
  it('records the fieldManager of a create, or the User-Agent product without one', async () => {
    const named = await api.post(`${IS(NS)}?fieldManager=tool`, stream('made', { a: 'b' }, []));
    expect(named.status).toBe(201);
    expect(named.body.metadata.managedFields.map((e: any) => [e.manager, e.operation])).toEqual([
      ['tool', 'Update'],
    ]);
    const agent = await api.call('POST', IS(NS), stream('by-agent', { a: 'b' }, []), {
      'user-agent': 'my-operator/1.4 (linux)',
    });
    expect(agent.body.metadata.managedFields[0].manager).toBe('my-operator');
  });

  it('a merge patch takes the fields it changes from their applier, who then may not take them back unforced', async () => {
    const patched = await api.patch(`${IS(NS, 'web')}?fieldManager=kubectl-edit`, {
      metadata: { labels: { app: 'edited' } },
    });
    expect(patched.status).toBe(200);
    const edit = patched.body.metadata.managedFields.find((e: any) => e.manager === 'kubectl-edit');
    expect(edit).toMatchObject({
      operation: 'Update',
      fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } } },
    });
    const ci = patched.body.metadata.managedFields.find((e: any) => e.manager === 'ci');
    expect(ci.fieldsV1['f:metadata']).toBeUndefined();
    const back = await applyAs('ci', 'web', stream('web', { app: 'web' }, [tag('a', 'quay.io/x/web:2')]));
    expect(back.status).toBe(409);
    expect(back.body.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-edit" using image.openshift.io/v1: .metadata.labels.app',
    );
  });
});

describe('where ownership is stored', () => {
  it('an apply that moves one tag of a large stream rewrites that tag record only', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `t${i}`);
    const created = await api.post(
      `${IS(NS)}?fieldManager=seed`,
      stream(
        'big',
        undefined,
        names.map((n) => tag(n, `quay.io/x/big:${n}`)),
      ),
    );
    expect(created.status).toBe(201);
    const before = await tagVersions('big');
    expect(Object.keys(before)).toHaveLength(150);
    const moved = await applyAs(
      'mover',
      'big',
      stream('big', undefined, [tag('t7', 'quay.io/x/big:new')]),
      '&force=true',
    );
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    const after = await tagVersions('big');
    const rewritten = names.filter((n) => after[n] !== before[n]);
    expect(rewritten).toEqual(['t7']);
    expect(moved.body.spec.tags).toHaveLength(150);
  });
});

describe('fieldValidation', () => {
  const loose = (name: string) => ({
    ...stream(name, undefined, []),
    spec: { tags: [], tagz: 1 },
    extra: true,
  });

  it('Strict refuses unknown fields with their paths (400), on create, update, patch and apply', async () => {
    const create = await api.post(`${IS(NS)}?fieldValidation=Strict`, loose('strict'));
    expect(create.status).toBe(400);
    expect(create.body.message).toBe(
      'ImageStream in version "v1" cannot be handled as a ImageStream: strict decoding error: unknown field "spec.tagz", unknown field "extra"',
    );
    const current = await api.get(IS(NS, 'made'));
    const update = await api.put(`${IS(NS, 'made')}?fieldValidation=Strict`, {
      ...current.body,
      spec: { ...current.body.spec, tagz: 1 },
    });
    expect(update.status).toBe(400);
    const patch = await api.patch(`${IS(NS, 'made')}?fieldValidation=Strict`, { spec: { tagz: 1 } });
    expect(patch.status).toBe(400);
    expect(patch.body.message).toContain('unknown field "spec.tagz"');
    const applied = await applyAs('ci', 'made', loose('made'), '&fieldValidation=Strict');
    expect(applied.status).toBe(400);
    expect((await api.get(IS(NS, 'strict'))).status).toBe(404);
  });

  it('duplicate keys: Strict refuses them, Warn keeps the last and says so', async () => {
    const text = (name: string) =>
      `{"apiVersion":"image.openshift.io/v1","kind":"ImageStream","metadata":{"name":"${name}","labels":{"a":"1","a":"2"}}}`;
    const strict = await api.call('POST', `${IS(NS)}?fieldValidation=Strict`, text('dup'));
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe(
      'ImageStream in version "v1" cannot be handled as a ImageStream: strict decoding error: duplicate field "metadata.labels.a"',
    );
    const warned = await api.call('POST', IS(NS), text('dup'));
    expect(warned.status).toBe(201);
    expect(warned.body.metadata.labels).toEqual({ a: '2' });
    expect(warned.headers.get('warning')).toBe('299 - "duplicate field \\"metadata.labels.a\\""');
  });

  it('Warn (the default) writes and says which fields it dropped; Ignore says nothing', async () => {
    const warned = await api.post(IS(NS), loose('warned'));
    expect(warned.status).toBe(201);
    expect(warned.headers.get('warning')).toBe(
      '299 - "unknown field \\"spec.tagz\\"", 299 - "unknown field \\"extra\\""',
    );
    const ignored = await api.post(`${IS(NS)}?fieldValidation=Ignore`, loose('ignored'));
    expect(ignored.status).toBe(201);
    expect(ignored.headers.get('warning')).toBeNull();
  });
});

describe('bounds', () => {
  it('keeps at most 10 Update managers: the oldest merge into "ancient-changes", appliers are never merged', async () => {
    expect((await applyAs('ci', 'crowd', stream('crowd', { base: 'x' }, []))).status).toBe(201);
    // Twelve writers, each labelling once; managedFields times have whole seconds, so order them a second apart.
    for (let i = 1; i <= 12; i++) {
      const res = await api.call(
        'PATCH',
        `${IS(NS, 'crowd')}?fieldManager=writer-${i}`,
        JSON.stringify({ metadata: { labels: { [`w${i}`]: 'x' } } }),
        { 'content-type': 'application/merge-patch+json' },
      );
      expect(res.status).toBe(200);
      if (i <= 3) await new Promise((r) => setTimeout(r, 1_050));
    }
    const entries = (await api.get(IS(NS, 'crowd'))).body.metadata.managedFields as Array<{
      manager: string;
      operation: string;
      fieldsV1: { 'f:metadata': { 'f:labels': Record<string, unknown> } };
    }>;
    const updaters = entries.filter((e) => e.operation === 'Update');
    expect(updaters).toHaveLength(10);
    expect(entries.filter((e) => e.operation === 'Apply').map((e) => e.manager)).toEqual(['ci']);
    const ancient = updaters.find((e) => e.manager === 'ancient-changes');
    // writer-1..3 are the oldest: 12 updaters become 10 by merging three into one bucket.
    expect(Object.keys(ancient!.fieldsV1['f:metadata']['f:labels']).sort()).toEqual(['f:w1', 'f:w2', 'f:w3']);
    expect(updaters.map((e) => e.manager).filter((m) => /^writer-[123]$/.test(m))).toEqual([]);
  });

  it('a stream whose metadata and managers outgrow one record is refused (413) and nothing is written', async () => {
    // Each within its own limit (annotations 256 KB, labels 64 KB), but with their owners' field sets the head
    // would pass DynamoDB's 400 KB item limit.
    const annotations = Object.fromEntries(
      Array.from({ length: 2600 }, (_, i) => [
        `k${String(i).padStart(5, '0')}-${'x'.repeat(50)}`,
        'v'.repeat(40),
      ]),
    );
    const labels = Object.fromEntries(
      Array.from({ length: 1000 }, (_, i) => [`l${String(i).padStart(4, '0')}`, 'v'.repeat(50)]),
    );
    const created = await api.post(IS(NS), { metadata: { name: 'huge', annotations, labels } });
    expect(created.status).toBe(413);
    expect(created.body.reason).toBe('RequestEntityTooLarge');
    expect(created.body.message).toMatch(
      /^imagestream "huge" would take \d+ bytes stored, more than the 409600 one record may hold: its labels, annotations and managedFields are too large together$/,
    );
    expect((await api.get(IS(NS, 'huge'))).status).toBe(404);

    // The same through an update: the stream stays as it was.
    const fewer = Object.fromEntries(Object.entries(annotations).slice(0, 2300));
    const small = await api.post(IS(NS), { metadata: { name: 'grows', annotations: fewer } });
    expect(small.status).toBe(201);
    const grown = await api.call('PATCH', IS(NS, 'grows'), JSON.stringify({ metadata: { labels } }), {
      'content-type': 'application/merge-patch+json',
    });
    expect(grown.status).toBe(413);
    const after = await api.get(IS(NS, 'grows'));
    expect(after.body.metadata.resourceVersion).toBe(small.body.metadata.resourceVersion);
    expect(after.body.metadata.labels).toBeUndefined();
  });
});
