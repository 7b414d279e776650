import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importCredentials } from '../../functions/app/imports/secret-credentials';
import { KeyFileSealer } from '../../functions/local/key-file-sealer';
import { credentialsFor, type DockerConfig } from '../../functions/registry/credentials';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { keys } from '../../functions/store/keys';
import { SecretStore } from '../../functions/store/secret-store';
import { type Api, type ApiResponse, IS, startStack } from '../support/local-stack';
import {
  pushImage,
  PASSWORD as REGISTRY_PASSWORD,
  USER as REGISTRY_USER,
  type Registry,
  startRegistry,
} from '../support/registries';
import { tableText } from '../support/table-text';

/**
 * Registry credential secrets over HTTP against the local stack, plus what imports read (the store's credentials,
 * opened with the stack's key file) on the same table. The credentials below must never appear in any response,
 * nor anywhere in the table.
 */
const SECRETS = (ns: string, name = '') => `/api/v1/namespaces/${ns}/secrets${name ? `/${name}` : ''}`;
const PASSWORD = 'pa55-w0rd-that-must-never-leak';
const USER = 'robot$ci';
const AUTH = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const CONFIG = JSON.stringify({ auths: { 'quay.io': { auth: AUTH } } });
const BLOB = Buffer.from(CONFIG).toString('base64');
const SECRET_TEXT = [PASSWORD, AUTH, BLOB, CONFIG];

let api: Api;
let stop: () => Promise<void>;
let table: string;
let dataDir: string;
const db = createDocumentClient({ endpoint: inject('dynamodbEndpoint') });
let store: SecretStore;
let sealer: KeyFileSealer;

beforeAll(async () => {
  ({ api, stop, table, dataDir } = await startStack());
  store = new SecretStore(db, table);
  sealer = new KeyFileSealer(readFileSync(join(dataDir, 'secret-key')));
});

/** What imports in `ns` get: every usable secret's Docker config, opened, in name order. */
const dockerConfigs = (ns: string) => importCredentials({ secrets: store, sealer }, ns);

/** The Docker config one secret holds, as an import would open it. */
async function storedConfig(ns: string, name: string): Promise<DockerConfig | undefined> {
  const found = (await store.credentials(ns)).find((c) => c.name === name);
  return found?.sealed ? JSON.parse((await sealer.open(found.sealed, found)).toString()) : undefined;
}
afterAll(async () => {
  await stop?.();
  db.destroy();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

function dockerSecret(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': BLOB },
    ...extra,
  };
}

/** Neither the password nor any encoding of the config appears anywhere in the raw response. */
function expectNoSecrets(res: ApiResponse, ...more: string[]) {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  for (const s of [...SECRET_TEXT, ...more]) expect(text).not.toContain(s);
  expect(text).not.toMatch(/"(data|stringData)"/);
}

function expectStatus(res: ApiResponse, code: number, reason: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(code);
  expect(res.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
}

/** Every record under the namespace's secret partition, straight from the table. */
async function rows(ns: string) {
  const out = await db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': keys.secretPk(ns) },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}

describe('create, get, list, delete', () => {
  const ns = 'crud';

  it('creates from base64 data and answers with metadata and type only', async () => {
    const res = await api.post(
      SECRETS(ns),
      dockerSecret('pull', { metadata: { name: 'pull', labels: { team: 'a' }, annotations: { note: 'x' } } }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'pull',
        namespace: ns,
        uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        resourceVersion: '1',
        creationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        labels: { team: 'a' },
        annotations: { note: 'x' },
      },
      type: 'kubernetes.io/dockerconfigjson',
    });
    expectNoSecrets(res);
    // Stored (sealed) for the importer: the parsed config, nothing else of the request.
    expect(await storedConfig(ns, 'pull')).toEqual({ auths: { 'quay.io': { auth: AUTH } } });
  });

  it('creates from stringData, which wins over data', async () => {
    const other = JSON.stringify({ auths: { 'ghcr.io': { username: 'sd', password: 'sd-secret' } } });
    const res = await api.post(
      SECRETS(ns),
      dockerSecret('from-string', { stringData: { '.dockerconfigjson': other } }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.type).toBe('kubernetes.io/dockerconfigjson');
    expectNoSecrets(res, 'sd-secret');
    expect(await storedConfig(ns, 'from-string')).toEqual({
      auths: { 'ghcr.io': { username: 'sd', password: 'sd-secret' } },
    });
  });

  it('creates a legacy kubernetes.io/dockercfg secret (auths map at the top level)', async () => {
    const res = await api.post(SECRETS(ns), {
      metadata: { name: 'legacy' },
      type: 'kubernetes.io/dockercfg',
      data: { '.dockercfg': b64(JSON.stringify({ 'quay.io': { auth: AUTH, email: 'x@y' } })) },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.type).toBe('kubernetes.io/dockercfg');
    expectNoSecrets(res);
  });

  it('get shows the same metadata and never the data', async () => {
    const res = await api.get(SECRETS(ns, 'pull'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pull', namespace: ns, resourceVersion: '1', labels: { team: 'a' } },
      type: 'kubernetes.io/dockerconfigjson',
    });
    expect(Object.keys(res.body).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'type']);
    expectNoSecrets(res);
  });

  it('list is a SecretList of metadata, in name order, never with data', async () => {
    const res = await api.get(SECRETS(ns));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ apiVersion: 'v1', kind: 'SecretList', metadata: {} });
    expect(res.body.metadata.continue).toBeUndefined();
    expect(res.body.items.map((s: any) => s.metadata.name)).toEqual(['from-string', 'legacy', 'pull']);
    for (const item of res.body.items)
      expect(Object.keys(item).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'type']);
    expectNoSecrets(res, 'sd-secret');
  });

  it('a duplicate name is 409 AlreadyExists and keeps the first secret', async () => {
    const before = await api.get(SECRETS(ns, 'pull'));
    const other = JSON.stringify({ auths: { 'quay.io': { username: 'dup', password: 'dup-secret' } } });
    const res = await api.post(
      SECRETS(ns),
      dockerSecret('pull', { stringData: { '.dockerconfigjson': other } }),
    );
    expectStatus(res, 409, 'AlreadyExists');
    expect(res.body.message).toBe('secrets "pull" already exists');
    expect(res.body.details).toMatchObject({ name: 'pull', kind: 'secrets' });
    expectNoSecrets(res, 'dup-secret');
    expect((await api.get(SECRETS(ns, 'pull'))).body.metadata.uid).toBe(before.body.metadata.uid);
    expect(JSON.stringify(await storedConfig(ns, 'pull'))).not.toContain('dup-secret');
  });

  it('delete answers a success Status, removes the record, then 404s', async () => {
    const uid = (await api.get(SECRETS(ns, 'legacy'))).body.metadata.uid;
    const res = await api.delete(SECRETS(ns, 'legacy'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'legacy', kind: 'secrets', uid },
      code: 200,
    });
    expectNoSecrets(res);
    expect((await rows(ns)).map((r) => r.SK)).not.toContain('legacy');
    const get = await api.get(SECRETS(ns, 'legacy'));
    expectStatus(get, 404, 'NotFound');
    expect(get.body.message).toBe('secrets "legacy" not found');
    expectStatus(await api.delete(SECRETS(ns, 'legacy')), 404, 'NotFound');
    // The name is free again.
    expect((await api.post(SECRETS(ns), dockerSecret('legacy'))).status).toBe(201);
  });

  it('PUT replaces the content in place (rotation), keeping uid; type is immutable; stale or missing is refused', async () => {
    expect((await api.post(SECRETS(ns), dockerSecret('rotate'))).status).toBe(201);
    const before = (await api.get(SECRETS(ns, 'rotate'))).body;
    const NEW_PASSWORD = 'n3w-pa55-that-must-never-leak';
    const newConfig = JSON.stringify({ auths: { 'quay.io': { auth: b64(`${USER}:${NEW_PASSWORD}`) } } });
    const put = await api.put(SECRETS(ns, 'rotate'), {
      ...dockerSecret('rotate'),
      metadata: {
        name: 'rotate',
        labels: { rotated: 'yes' },
        resourceVersion: before.metadata.resourceVersion,
      },
      data: undefined,
      stringData: { '.dockerconfigjson': newConfig },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expectNoSecrets(put, NEW_PASSWORD, newConfig);
    expect(put.body.metadata).toMatchObject({
      uid: before.metadata.uid,
      resourceVersion: '2',
      labels: { rotated: 'yes' },
    });
    const rotated = JSON.stringify(await storedConfig(ns, 'rotate'));
    expect(rotated).toContain(b64(`${USER}:${NEW_PASSWORD}`));
    expect(rotated).not.toContain(AUTH);

    const stale = await api.put(SECRETS(ns, 'rotate'), {
      ...dockerSecret('rotate'),
      metadata: { name: 'rotate', resourceVersion: '1' },
    });
    expectStatus(stale, 409, 'Conflict');
    const retype = await api.put(SECRETS(ns, 'rotate'), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'rotate' },
      type: 'kubernetes.io/dockercfg',
      data: { '.dockercfg': b64(JSON.stringify({ 'quay.io': { auth: AUTH } })) },
    });
    expectStatus(retype, 422, 'Invalid');
    expect(retype.body.details.causes[0].field).toBe('type');
    expectNoSecrets(retype);
    expectStatus(await api.put(SECRETS(ns, 'absent'), dockerSecret('absent')), 404, 'NotFound');
    expect((await rows(ns)).map((r) => r.SK)).not.toContain('absent');
    expect((await rows(ns)).find((r) => r.SK === 'rotate')!.rv).toBe(2);
  });

  it('unknown names are 404 NotFound', async () => {
    const res = await api.get(SECRETS(ns, 'nope'));
    expectStatus(res, 404, 'NotFound');
    expect(res.body.message).toBe('secrets "nope" not found');
    expect(res.body.details).toMatchObject({ name: 'nope', kind: 'secrets' });
  });

  it('secrets belong to their namespace', async () => {
    expectStatus(await api.get(SECRETS('crud-other', 'pull')), 404, 'NotFound');
    expect((await api.get(SECRETS('crud-other'))).body.items).toEqual([]);
  });
});

describe('validation: 422 with field paths, nothing written, nothing echoed', () => {
  const ns = 'invalid';
  const field = 'data[.dockerconfigjson]';

  /** A create that must fail with `code`/`reason`, write nothing and quote none of `hidden`. */
  async function refused(body: unknown, code: number, reason: string, hidden: string[] = []) {
    const res = await api.post(SECRETS(ns), body);
    expectStatus(res, code, reason);
    expectNoSecrets(res, ...hidden);
    expect(await rows(ns)).toEqual([]);
    return res.body;
  }

  it('refuses other secret types, saying which types are supported', async () => {
    for (const type of ['Opaque', 'kubernetes.io/basic-auth', undefined]) {
      const body = await refused(
        { metadata: { name: 'opaque' }, ...(type ? { type } : {}), stringData: { password: PASSWORD } },
        422,
        'Invalid',
      );
      expect(body.details.causes).toContainEqual({
        reason: 'FieldValueNotSupported',
        field: 'type',
        message: `Unsupported value: "${type ?? 'Opaque'}": supported values: "kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"`,
      });
      expect(body.message).toMatch(/^Secret "opaque" is invalid: /);
    }
  });

  it('refuses a config that is not JSON without quoting it', async () => {
    const notJson = `{"auths": {"quay.io": {"auth": "${AUTH}"}`;
    for (const body of [
      dockerSecret('bad-json', { data: { '.dockerconfigjson': b64(notJson) } }),
      dockerSecret('bad-json', { stringData: { '.dockerconfigjson': notJson } }),
      dockerSecret('bad-json', { stringData: { '.dockerconfigjson': `${PASSWORD} is not json` } }),
    ]) {
      const res = await refused(body, 422, 'Invalid', [notJson, b64(notJson), 'is not json']);
      expect(res.details.causes).toHaveLength(1);
      expect(res.details.causes[0]).toMatchObject({ reason: 'FieldValueInvalid', field });
      expect(res.details.causes[0].message).toMatch(
        /^Invalid value: "<secret contents redacted>": is not valid JSON/,
      );
    }
  });

  it.each([
    [
      'JSON of the wrong shape',
      { stringData: { '.dockerconfigjson': JSON.stringify({ quay: PASSWORD }) } },
      /"auths" object/,
    ],
    [
      'an entry without credentials',
      { stringData: { '.dockerconfigjson': '{"auths":{"quay.io":{}}}' } },
      /no credentials/,
    ],
    [
      'a malformed auth',
      { stringData: { '.dockerconfigjson': JSON.stringify({ auths: { q: { auth: PASSWORD } } }) } },
      /base64 of "username:password"/,
    ],
    ['data that is not base64', { data: { '.dockerconfigjson': `${PASSWORD}!` } }, /must be base64/],
    ['an empty value', { data: { '.dockerconfigjson': '' } }, /must not be empty/],
  ])('refuses %s at data[.dockerconfigjson]', async (_what, extra, message) => {
    const res = await refused(dockerSecret('bad', extra), 422, 'Invalid');
    expect(res.details.causes).toEqual([expect.objectContaining({ field })]);
    expect(res.details.causes[0].message).toMatch(message);
  });

  it('requires the data key of the type', async () => {
    const res = await refused(
      { metadata: { name: 'empty' }, type: 'kubernetes.io/dockerconfigjson' },
      422,
      'Invalid',
    );
    expect(res.details.causes).toEqual([
      expect.objectContaining({ reason: 'FieldValueRequired', field: 'data[.dockerconfigjson]' }),
    ]);
    const legacy = await refused(
      { metadata: { name: 'empty' }, type: 'kubernetes.io/dockercfg', data: { '.dockerconfigjson': BLOB } },
      422,
      'Invalid',
    );
    expect(legacy.details.causes.map((c: any) => c.field).sort()).toEqual([
      'data[.dockercfg]',
      'data[.dockerconfigjson]',
    ]);
  });

  it('refuses keys the secret would not keep', async () => {
    const res = await refused(dockerSecret('extra', { stringData: { token: PASSWORD } }), 422, 'Invalid');
    expect(res.details.causes).toEqual([
      expect.objectContaining({ reason: 'FieldValueForbidden', field: 'data[token]' }),
    ]);
  });

  it('caps the config at 64 KiB', async () => {
    const big = JSON.stringify({ auths: { 'quay.io': { auth: AUTH, pad: 'x'.repeat(70_000) } } });
    for (const extra of [
      { stringData: { '.dockerconfigjson': big } },
      { data: { '.dockerconfigjson': b64(big) } },
    ]) {
      const res = await refused(dockerSecret('big', extra), 422, 'Invalid');
      expect(res.details.causes).toEqual([
        expect.objectContaining({
          reason: 'FieldValueTooLong',
          field,
          message: 'Too long: must have at most 65536 bytes',
        }),
      ]);
    }
  });

  it('names must be DNS-1123 subdomains', async () => {
    for (const name of ['Upper', 'under_score', '-dash', 'a'.repeat(254), 'dot.']) {
      const res = await refused(dockerSecret(name), 422, 'Invalid');
      expect(res.details.causes).toEqual([expect.objectContaining({ field: 'metadata.name' })]);
    }
    const missing = await refused({ ...dockerSecret('x'), metadata: {} }, 422, 'Invalid');
    expect(missing.details.causes).toEqual([
      expect.objectContaining({ reason: 'FieldValueRequired', field: 'metadata.name' }),
    ]);
    // Dotted names are fine.
    expect((await api.post(SECRETS('invalid-ok'), dockerSecret('quay.io.pull'))).status).toBe(201);
  });

  it('reports every problem at once', async () => {
    const res = await refused(
      { metadata: { name: 'Bad', labels: { 'bad key!': 'x' } }, type: 'Opaque', data: { x: BLOB } },
      422,
      'Invalid',
    );
    expect(res.details.causes.map((c: any) => c.field).sort()).toEqual([
      'metadata.labels',
      'metadata.name',
      'type',
    ]);
  });

  it('undecodable bodies are 400 BadRequest', async () => {
    await refused([], 400, 'BadRequest');
    await refused({ metadata: { name: 'x' }, data: { '.dockerconfigjson': 42 } }, 400, 'BadRequest');
    await refused({ ...dockerSecret('x'), kind: 'ConfigMap' }, 400, 'BadRequest');
    await refused({ ...dockerSecret('x'), apiVersion: 'image.openshift.io/v1' }, 400, 'BadRequest');
    await refused(
      { ...dockerSecret('x'), metadata: { name: 'x', namespace: 'elsewhere' } },
      400,
      'BadRequest',
    );
  });

  it('after all of that, the namespace has no secrets', async () => {
    expect(await rows(ns)).toEqual([]);
    expect((await api.get(SECRETS(ns))).body.items).toEqual([]);
  });
});

describe('list paging', () => {
  const ns = 'paging';
  const names = Array.from({ length: 7 }, (_, i) => `s${i}`);

  beforeAll(async () => {
    // Reverse order: the list is by name, not by creation.
    for (const name of [...names].reverse()) {
      const labels = { parity: Number(name.slice(1)) % 2 ? 'odd' : 'even' };
      const res = await api.post(SECRETS(ns), dockerSecret(name, { metadata: { name, labels } }));
      expect(res.status).toBe(201);
    }
  });

  async function all(query: string, limit: number) {
    const pages: string[][] = [];
    let cont: string | undefined;
    do {
      const res = await api.get(
        `${SECRETS(ns)}?limit=${limit}${query}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expectNoSecrets(res);
      pages.push(res.body.items.map((s: any) => s.metadata.name));
      cont = res.body.metadata.continue;
      expect(pages.length).toBeLessThan(20);
    } while (cont);
    return pages;
  }

  it('limit and continue walk every secret once, in name order', async () => {
    expect(await all('', 3)).toEqual([['s0', 's1', 's2'], ['s3', 's4', 's5'], ['s6']]);
    expect(await all('', 10)).toEqual([names]);
  });

  it('the last full page carries no continue token', async () => {
    expect(await all('', 7)).toEqual([names]);
    const res = await api.get(`${SECRETS(ns)}?limit=6`);
    expect(res.body.items).toHaveLength(6);
    expect(res.body.metadata.continue).toEqual(expect.any(String));
  });

  it('labelSelector filters while paging keeps pages full', async () => {
    expect(await all('&labelSelector=parity%3Dodd', 2)).toEqual([['s1', 's3'], ['s5']]);
  });

  it('a deleted secret does not break a continue token that points at it', async () => {
    const first = await api.get(`${SECRETS(ns)}?limit=2`);
    await api.delete(SECRETS(ns, 's1'));
    const next = await api.get(
      `${SECRETS(ns)}?limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`,
    );
    expect(next.body.items.map((s: any) => s.metadata.name)).toEqual(['s2', 's3']);
  });

  it('bad limit and continue values are 400', async () => {
    expectStatus(await api.get(`${SECRETS(ns)}?limit=-1`), 400, 'BadRequest');
    expectStatus(await api.get(`${SECRETS(ns)}?continue=garbage`), 400, 'BadRequest');
  });
});

describe('dockerConfigs (what imports use)', () => {
  const ns = 'configs';
  const cfgFor = (user: string, host = 'quay.io') =>
    JSON.stringify({ auths: { [host]: { username: user, password: `${user}-pw` } } });

  beforeAll(async () => {
    const create = async (name: string, user: string, annotations?: Record<string, string>, n = ns) => {
      const res = await api.post(SECRETS(n), {
        metadata: { name, ...(annotations ? { annotations } : {}) },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: { '.dockerconfigjson': cfgFor(user) },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    };
    await create('c-third', 'third');
    await create('a-first', 'first');
    await create('b-excluded', 'excluded', { 'openshift.io/image.excludeSecret': 'true' });
    await create('d-not-excluded', 'kept', { 'openshift.io/image.excludeSecret': 'false' });
    await create('a-first', 'elsewhere', undefined, 'configs-other');
    const legacy = await api.post(SECRETS(ns), {
      metadata: { name: 'e-legacy' },
      type: 'kubernetes.io/dockercfg',
      stringData: {
        '.dockercfg': JSON.stringify({ 'https://index.docker.io/v1/': { auth: b64('hub:hub-pw') } }),
      },
    });
    expect(legacy.status).toBe(201);
  });

  it('returns the parsed configs of every docker secret, by name, without excluded ones', async () => {
    expect(await dockerConfigs(ns)).toEqual([
      { auths: { 'quay.io': { username: 'first', password: 'first-pw' } } },
      { auths: { 'quay.io': { username: 'third', password: 'third-pw' } } },
      { auths: { 'quay.io': { username: 'kept', password: 'kept-pw' } } },
      { auths: { 'https://index.docker.io/v1/': { auth: b64('hub:hub-pw') } } },
    ]);
  });

  it('feeds credentialsFor in secret-name order', async () => {
    const configs = await dockerConfigs(ns);
    expect(credentialsFor(configs, 'quay.io', 'org/app').map((c) => c.username)).toEqual([
      'first',
      'third',
      'kept',
    ]);
    expect(credentialsFor(configs, 'docker.io', 'library/ubuntu')).toEqual([
      { username: 'hub', password: 'hub-pw' },
    ]);
  });

  it('is per namespace and empty for a namespace without secrets', async () => {
    expect(await dockerConfigs('configs-other')).toEqual([
      { auths: { 'quay.io': { username: 'elsewhere', password: 'elsewhere-pw' } } },
    ]);
    expect(await dockerConfigs('configs-none')).toEqual([]);
  });

  it('forgets a deleted secret', async () => {
    expect((await api.delete(SECRETS(ns, 'c-third'))).status).toBe(200);
    const users = (await dockerConfigs(ns)).map((c) => Object.values(c.auths)[0]?.username);
    expect(users).toEqual(['first', 'kept', undefined]);
  });

  it('store reads for the API never carry the config', async () => {
    const meta = await store.get(ns, 'a-first');
    expect(meta).toBeDefined();
    expect(JSON.stringify(meta)).not.toContain('first-pw');
    const page = await store.list(ns, { limit: 10 });
    expect(JSON.stringify(page)).not.toContain('-pw');
  });
});

const wholeTableText = () => tableText(db, table);

describe('at rest: the table holds no credential', () => {
  const ns = 'at-rest';
  const NEW_PASSWORD = 'r0tated-pa55-that-must-never-leak';

  it('a raw Scan of the whole table finds no password, user:password, auth value or config', async () => {
    expect((await api.post(SECRETS(ns), dockerSecret('from-data'))).status).toBe(201);
    expect(
      (
        await api.post(
          SECRETS(ns),
          dockerSecret('from-string', { stringData: { '.dockerconfigjson': CONFIG } }),
        )
      ).status,
    ).toBe(201);
    const legacy = await api.post(SECRETS(ns), {
      metadata: { name: 'legacy' },
      type: 'kubernetes.io/dockercfg',
      stringData: { '.dockercfg': JSON.stringify({ 'quay.io': { username: USER, password: PASSWORD } }) },
    });
    expect(legacy.status).toBe(201);
    const put = await api.put(SECRETS(ns, 'from-data'), {
      ...dockerSecret('from-data'),
      data: undefined,
      stringData: {
        '.dockerconfigjson': JSON.stringify({
          auths: { 'quay.io': { auth: b64(`${USER}:${NEW_PASSWORD}`) } },
        }),
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);

    const text = await wholeTableText();
    // The secrets are there (their names), their credentials are not, in any encoding.
    expect(text).toContain('from-string');
    for (const s of [...SECRET_TEXT, `${USER}:${PASSWORD}`, NEW_PASSWORD, b64(`${USER}:${NEW_PASSWORD}`)])
      expect(text).not.toContain(s);
    expect(text).not.toContain('"auths"');
    // Each record carries the sealed form and no clear config.
    for (const row of await rows(ns)) {
      expect(row.config).toBeUndefined();
      expect(row.sealed).toEqual({
        v: 1,
        kid: sealer.kid,
        wk: expect.any(Uint8Array),
        iv: expect.any(Uint8Array),
        ct: expect.any(Uint8Array),
      });
    }
    expect(await storedConfig(ns, 'from-data')).toEqual({
      auths: { 'quay.io': { auth: b64(`${USER}:${NEW_PASSWORD}`) } },
    });
  });

  it('the key is $DATA_DIR/secret-key: 32 bytes only its owner may read', () => {
    const info = statSync(join(dataDir, 'secret-key'));
    expect(info.size).toBe(32);
    expect((info.mode & 0o777).toString(8)).toBe('600');
  });
});

describe('imports with sealed secrets (htpasswd registry)', () => {
  const ISI = (n: string) => `/apis/image.openshift.io/v1/namespaces/${n}/imagestreamimports`;
  let registry: Registry;
  let digest: string;
  const from = () => `${registry.host}/private/app:v1`;
  const registryConfig = () =>
    JSON.stringify({ auths: { [registry.host]: { username: REGISTRY_USER, password: REGISTRY_PASSWORD } } });

  beforeAll(async () => {
    registry = await startRegistry('htpasswd');
    digest = await pushImage(registry, 'private/app', 'v1');
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  });

  async function importInto(n: string, stream = 'app') {
    const res = await api.post(ISI(n), {
      kind: 'ImageStreamImport',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: stream },
      spec: {
        import: true,
        images: [
          {
            from: { kind: 'DockerImage', name: from() },
            to: { name: 'v1' },
            importPolicy: { insecure: true },
          },
        ],
      },
    });
    // An import that fails is a 201 with a failed image status, never an error of the request.
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expectNoSecrets(res, REGISTRY_PASSWORD, b64(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`));
    return res.body.status.images[0];
  }

  async function createPull(n: string, name = 'pull') {
    const res = await api.post(SECRETS(n), {
      metadata: { name },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': registryConfig() },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  const item = async (n: string, name: string) =>
    (
      await db.send(
        new GetCommand({ TableName: table, Key: { PK: keys.secretPk(n), SK: name }, ConsistentRead: true }),
      )
    ).Item!;
  const putItem = (i: Record<string, unknown>) => db.send(new PutCommand({ TableName: table, Item: i }));

  /** The failure an unusable secret gives: a clear status naming it and what to do, no content. */
  function expectUnusable(image: any, secret: string, cause: RegExp) {
    expect(image.status).toMatchObject({ status: 'Failure', code: 422, reason: 'Invalid' });
    expect(image.status.message).toMatch(new RegExp(`^secrets "${secret}" cannot be used: `));
    expect(image.status.message).toMatch(cause);
    expect(image.status.message).toMatch(/replace its content \(PUT, isctl apply\) or delete it/);
    expect(image.status.details).toEqual({ name: secret, kind: 'secrets' });
    expect(image.image).toBeUndefined();
  }

  it('an import uses the sealed secret', async () => {
    const n = 'imp-ok';
    expect((await importInto(n)).status.reason).toBe('Unauthorized');
    await createPull(n);
    const ok = await importInto(n);
    expect(ok.status.status).toBe('Success');
    expect(ok.image.metadata.name).toBe(digest);
    expect(await wholeTableText()).not.toContain(REGISTRY_PASSWORD);
  });

  it('a changed ciphertext fails the import with a clear condition, until the secret is replaced', async () => {
    const n = 'imp-tampered';
    await createPull(n);
    expect((await importInto(n)).status.status).toBe('Success');
    const row = await item(n, 'pull');
    const ct = Buffer.from(row.sealed.ct);
    ct[0] = ct[0]! ^ 0x01;
    await putItem({ ...row, sealed: { ...row.sealed, ct } });
    expectUnusable(await importInto(n), 'pull', /integrity check/);
    // The stream's tag shows it too, as its import condition.
    const tag = (await api.get(IS(n, 'app'))).body.status.tags.find((t: any) => t.tag === 'v1');
    expect(tag.conditions[0]).toMatchObject({ type: 'ImportSuccess', status: 'False', reason: 'Invalid' });
    expect(tag.conditions[0].message).toMatch(/^secrets "pull" cannot be used/);
    // Replacing the content seals it afresh.
    const put = await api.put(SECRETS(n, 'pull'), {
      metadata: { name: 'pull' },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': registryConfig() },
    });
    expect(put.status).toBe(200);
    expect((await importInto(n)).status.status).toBe('Success');
  });

  it('a ciphertext moved from another secret, or from another project, does not open', async () => {
    const n = 'imp-moved';
    await createPull(n, 'pull');
    await createPull(n, 'other');
    await createPull('imp-moved-elsewhere', 'pull');
    const target = await item(n, 'pull');
    for (const [fromNs, fromName] of [
      [n, 'other'],
      ['imp-moved-elsewhere', 'pull'],
    ] as const) {
      const source = await item(fromNs, fromName);
      await putItem({ ...target, sealed: source.sealed });
      expectUnusable(await importInto(n), 'pull', /integrity check/);
    }
    // A sealed value of a deleted secret does not open for its re-created namesake (another uid) either.
    const old = (await item(n, 'other')).sealed;
    expect((await api.delete(SECRETS(n, 'other'))).status).toBe(200);
    await createPull(n, 'other');
    await putItem({ ...target });
    expect((await importInto(n)).status.status).toBe('Success');
    await putItem({ ...(await item(n, 'other')), sealed: old });
    expectUnusable(await importInto(n), 'other', /integrity check/);
  });

  it('a value sealed under another key is told apart', async () => {
    const n = 'imp-other-key';
    await createPull(n);
    const row = await item(n, 'pull');
    const foreign = await new KeyFileSealer(Buffer.alloc(32, 7)).seal(Buffer.from(registryConfig()), {
      namespace: n,
      name: 'pull',
      uid: row.uid,
    });
    await putItem({ ...row, sealed: foreign });
    expectUnusable(await importInto(n), 'pull', /sealed with another key file than this service uses/);
  });

  it('a secret an older version stored in clear still works, and is sealed on the next start', async () => {
    const n = 'imp-legacy';
    await createPull(n);
    const { sealed: _sealed, ...row } = await item(n, 'pull');
    // What versions before sealing wrote: the config as JSON text.
    await putItem({ ...row, config: registryConfig() });
    await createPull(n, 'rewritten');
    const { sealed: _s2, ...row2 } = await item(n, 'rewritten');
    await putItem({ ...row2, config: registryConfig() });
    expect(await wholeTableText()).toContain(REGISTRY_PASSWORD);
    expect((await importInto(n)).status.status).toBe('Success');

    // Its next write seals it.
    const put = await api.put(SECRETS(n, 'rewritten'), {
      metadata: { name: 'rewritten' },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': registryConfig() },
    });
    expect(put.status).toBe(200);
    expect((await item(n, 'rewritten')).config).toBeUndefined();

    // A local start on the same table with the same key (its own data dir, SECRETS_KEY_FILE naming this stack's
    // key) seals the rest, keeping resourceVersions.
    const again = await startStack({
      SECRETS_KEY_FILE: join(dataDir, 'secret-key'),
      TABLE_NAME: table,
      SCHEDULER: 'off',
      IMPORT_CONTROLLER: 'off',
    });
    try {
      const sealed = await item(n, 'pull');
      expect(sealed.config).toBeUndefined();
      expect(sealed.sealed.kid).toBe(sealer.kid);
      expect(sealed.rv).toBe(row.rv);
      expect(await wholeTableText()).not.toContain(REGISTRY_PASSWORD);
    } finally {
      await again.stop();
    }
    expect((await importInto(n)).status.status).toBe('Success');
  });

  it('scripts/seal-secrets.ts seals what is left in clear, once, with the configured key', async () => {
    const n = 'imp-script';
    await createPull(n);
    const { sealed: _sealed, ...row } = await item(n, 'pull');
    await putItem({ ...row, config: registryConfig() });
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number; out: string }>((done) =>
        execFile(
          join(process.cwd(), 'node_modules/.bin/tsx'),
          ['scripts/seal-secrets.ts'],
          {
            env: {
              PATH: process.env.PATH ?? '',
              TABLE_NAME: table,
              DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
              ...env,
            },
            timeout: 60_000,
          },
          (err, stdout, stderr) => done({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
    const noKey = await run({});
    expect(noKey).toEqual({
      code: 1,
      out: expect.stringContaining('SECRETS_KMS_KEY_ARN (AWS) or SECRETS_KEY_FILE (local): one is required'),
    });
    const missing = await run({ SECRETS_KEY_FILE: join(dataDir, 'no-such-key') });
    expect(missing.code).toBe(1);
    expect(missing.out).toContain(`SECRETS_KEY_FILE (${join(dataDir, 'no-such-key')}): no such key file`);
    expect((await item(n, 'pull')).config).toBe(registryConfig());

    const key = { SECRETS_KEY_FILE: join(dataDir, 'secret-key') };
    expect(await run(key)).toEqual({
      code: 0,
      out: `sealed 1 registry secret stored in clear in ${table}\n`,
    });
    const after = await item(n, 'pull');
    expect(after.config).toBeUndefined();
    expect(after.rv).toBe(row.rv);
    expect((await importInto(n)).status.status).toBe('Success');
    expect(await run(key)).toEqual({
      code: 0,
      out: `sealed 0 registry secrets stored in clear in ${table}\n`,
    });
  });
});
