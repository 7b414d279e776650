import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, IS, ISTAG, mapImage, startStack } from '../support/local-stack';

/**
 * List conventions kubectl relies on: `fieldSelector` on metadata.name and metadata.namespace, and the
 * cluster-scope list paths of `kubectl get … -A` (cluster administrators: every project; anyone else: 403, as in
 * Kubernetes and OpenShift).
 */
const ALL_IS = '/apis/image.openshift.io/v1/imagestreams';
const ALL_ISTAG = '/apis/image.openshift.io/v1/imagestreamtags';
const ALL_SECRETS = '/api/v1/secrets';
const ALL_RB = '/apis/rbac.authorization.k8s.io/v1/rolebindings';

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
let dev: Api;

const names = (list: { items: Array<{ metadata: { name: string; namespace?: string } }> }) =>
  list.items.map((i) => `${i.metadata.namespace ?? ''}/${i.metadata.name}`);

beforeAll(async () => {
  stack = await startStack({
    SCHEDULER: 'off',
    LOCAL_TOKENS: JSON.stringify({ 'dev-token-0123456789': { user: 'dev', groups: [] } }),
  });
  api = stack.api;
  dev = api.as('dev-token-0123456789');
  for (const ns of ['la', 'lb', 'lc']) {
    for (const s of ['one', 'two'])
      expect((await api.post(IS(ns), { metadata: { name: s } })).status).toBe(201);
    await mapImage(api, ns, 'one', 'v1');
  }
  expect((await dev.newProject('ld')).status).toBe(201);
  expect((await dev.post(IS('ld'), { metadata: { name: 'mine' } })).status).toBe(201);
}, 60_000);
afterAll(async () => stack?.stop());

describe('fieldSelector', () => {
  it('selects on metadata.name and metadata.namespace with =, == and !=', async () => {
    const sel = (s: string) => `${IS('la')}?fieldSelector=${encodeURIComponent(s)}`;
    expect(names((await api.get(sel('metadata.name=two'))).body)).toEqual(['la/two']);
    expect(names((await api.get(sel('metadata.name==one'))).body)).toEqual(['la/one']);
    expect(names((await api.get(sel('metadata.name!=one'))).body)).toEqual(['la/two']);
    expect(names((await api.get(sel('metadata.namespace=la,metadata.name!=two'))).body)).toEqual(['la/one']);
    expect(names((await api.get(sel('metadata.namespace=other'))).body)).toEqual([]);
    const tags = await api.get(`${ISTAG('la')}?fieldSelector=metadata.name%3Done%3Av1`);
    expect(names(tags.body)).toEqual(['la/one:v1']);
    const secrets = await api.get('/api/v1/namespaces/la/secrets?fieldSelector=metadata.name%3Dnone');
    expect(secrets.body.items).toEqual([]);
  });

  it('refuses other fields as Kubernetes words it, and terms it cannot read, with 400 before reading', async () => {
    const other = await api.get(`${IS('la')}?fieldSelector=${encodeURIComponent('spec.tags=x')}`);
    expect([other.status, other.body.reason, other.body.message]).toEqual([
      400,
      'BadRequest',
      'field label not supported: spec.tags',
    ]);
    const garbled = await api.get(`${IS('la')}?fieldSelector=metadata.name`);
    expect(garbled.status).toBe(400);
    expect(garbled.body.message).toContain("can't understand 'metadata.name'");
  });
});

describe('cluster-scope lists (-A)', () => {
  it('lists every project for a cluster administrator, in pages that resume inside a project', async () => {
    const all = await api.get(ALL_IS);
    expect(all.body.kind).toBe('ImageStreamList');
    expect(names(all.body)).toEqual(['la/one', 'la/two', 'lb/one', 'lb/two', 'lc/one', 'lc/two', 'ld/mine']);
    const seen: string[] = [];
    let cont = '';
    let pages = 0;
    do {
      const page = await api.get(`${ALL_IS}?limit=3${cont ? `&continue=${cont}` : ''}`);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...names(page.body));
      cont = page.body.metadata.continue ?? '';
      pages++;
    } while (cont && pages < 10);
    expect(seen).toEqual(names(all.body));
    expect(pages).toBe(3);
    expect(names((await api.get(ALL_ISTAG)).body)).toEqual(['la/one:v1', 'lb/one:v1', 'lc/one:v1']);
    const selected = await api.get(`${ALL_IS}?fieldSelector=metadata.namespace%3Dlb`);
    expect(names(selected.body)).toEqual(['lb/one', 'lb/two']);
    expect((await api.get(ALL_SECRETS)).body).toMatchObject({ kind: 'SecretList', items: [] });
    const bindings = await api.get(ALL_RB);
    expect(names(bindings.body)).toContain('ld/admin');
    const bad = await api.get(`${ALL_IS}?continue=nonsense`);
    expect(bad.status).toBe(400);
  });

  it('is 403 at the cluster scope for anyone else, as Kubernetes answers it', async () => {
    const res = await dev.get(ALL_IS);
    expect([res.status, res.body.message]).toEqual([
      403,
      'imagestreams.image.openshift.io is forbidden: User "dev" cannot list resource "imagestreams" in API group "image.openshift.io" at the cluster scope',
    ]);
    expect((await dev.get(ALL_SECRETS)).status).toBe(403);
  });
});

describe('resourceVersion on lists', () => {
  const list = (q: string) => api.get(`${IS('la')}?${q}`);
  it('serves the latest state for an unset match and NotOlderThan', async () => {
    for (const q of [
      'resourceVersion=0',
      'resourceVersion=12',
      'resourceVersion=12&resourceVersionMatch=NotOlderThan',
    ])
      expect(names((await list(q)).body), q).toEqual(['la/one', 'la/two']);
  });

  it('refuses what kube-apiserver refuses, with its codes and wording', async () => {
    const noRv = await list('resourceVersionMatch=NotOlderThan');
    expect([noRv.status, noRv.body.reason, noRv.body.details?.kind]).toEqual([422, 'Invalid', 'ListOptions']);
    expect(noRv.body.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
    const unknown = await list('resourceVersion=1&resourceVersionMatch=Newest');
    expect(unknown.status).toBe(422);
    expect(unknown.body.message).toContain(
      'resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""',
    );
    const exactZero = await list('resourceVersion=0&resourceVersionMatch=Exact');
    expect(exactZero.status).toBe(422);
    const withContinue = await list('resourceVersion=3&continue=abc');
    expect([withContinue.status, withContinue.body.message]).toEqual([
      400,
      'specifying resource version is not allowed when using continue',
    ]);
    const notANumber = await list('resourceVersion=latest');
    expect([notANumber.status, notANumber.body.reason]).toEqual([400, 'BadRequest']);
    const exact = await list('resourceVersion=5&resourceVersionMatch=Exact');
    expect([exact.status, exact.body.reason]).toEqual([410, 'Expired']);
  });
});

describe('labelSelector on role bindings', () => {
  it('selects bindings by label, as the other lists do', async () => {
    const RB = '/apis/rbac.authorization.k8s.io/v1/namespaces/la/rolebindings';
    for (const [name, team] of [
      ['one', 'red'],
      ['two', 'blue'],
    ] as const)
      expect(
        (
          await api.post(RB, {
            metadata: { name, labels: { team } },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
            subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'someone' }],
          })
        ).status,
      ).toBe(201);
    expect(names((await api.get(`${RB}?labelSelector=team%3Dred`)).body)).toEqual(['la/one']);
    expect(names((await api.get(`${RB}?labelSelector=team`)).body)).toEqual(['la/one', 'la/two']);
    const paged = await api.get(`${RB}?labelSelector=team&limit=1`);
    expect(names(paged.body)).toEqual(['la/one']);
    const rest = await api.get(`${RB}?labelSelector=team&limit=1&continue=${paged.body.metadata.continue}`);
    expect(names(rest.body)).toEqual(['la/two']);
  });
});
