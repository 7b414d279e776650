import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { ImageStore, MAPPING_CACHE_MS } from '../../functions/store/image-store';
import { eventually } from '../support/eventually';
import { type FaultRegistry, startFaultRegistry } from '../support/fault-registry';
import { type Api, IS, ISIMAGE, ISM, ISTAG, startStack } from '../support/local-stack';
import {
  type PushedContent,
  pushImage,
  pushStandardContent,
  type Registry,
  startRegistry,
} from '../support/registries';

/**
 * Images and projects (docs/access.md): what a project reads about an image is what that project imported or
 * mapped itself. Two users, each in their own projects, a public and a private (htpasswd) loopback registry, and
 * a hostile one (test/support/fault-registry.ts), all through the HTTP API.
 */

const ISI = (ns: string) => `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimports`;
const IMAGES = (d: string) => `/apis/image.openshift.io/v1/images/${d}`;
const PROJECTS = '/apis/project.openshift.io/v1/projects';
const RB = (ns: string) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`;

let stack: Awaited<ReturnType<typeof startStack>>;
let admin: Api;
let alice: Api;
let bob: Api;
let pub: Registry;
let priv: Registry;
let fault: FaultRegistry;
let standard: PushedContent;

beforeAll(async () => {
  [pub, priv, fault] = await Promise.all([
    startRegistry('anonymous'),
    startRegistry('htpasswd'),
    startFaultRegistry(),
  ]);
  standard = await pushStandardContent(pub);
  stack = await startStack({
    LOCAL_TOKENS: JSON.stringify({
      'alice-token': { user: 'alice', groups: ['devs'] },
      'bob-token': { user: 'bob', groups: ['devs'] },
    }),
  });
  admin = stack.api;
  alice = admin.as('alice-token');
  bob = admin.as('bob-token');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([pub?.stop(), priv?.stop(), fault?.stop()]);
});

/** A project of `who` with one empty stream `s` (and, for `withSecret`, credentials for the private registry). */
async function project(who: Api, ns: string, withSecret = false): Promise<void> {
  expect((await who.newProject(ns)).status).toBe(201);
  expect((await who.post(IS(ns), { metadata: { name: 's' } })).status).toBe(201);
  if (!withSecret) return;
  const res = await who.post(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'private-registry' },
    type: 'kubernetes.io/dockerconfigjson',
    stringData: {
      '.dockerconfigjson': JSON.stringify({
        auths: { [priv.host]: { username: priv.username, password: priv.password } },
      }),
    },
  });
  expect(res.status).toBe(201);
}

/** Metadata nobody's registry ever served, marked so any leak of it shows. */
function invented(d: string, marker: string) {
  return {
    metadata: { name: d },
    dockerImageReference: `evil.example.com/${marker.toLowerCase()}@${d}`,
    dockerImageMetadata: {
      kind: 'DockerImage',
      apiVersion: 'image.openshift.io/1.0',
      Id: d,
      Architecture: 'evil-arch',
      Config: { Env: [`EVIL=${marker}`], Cmd: ['/evil'], Labels: { 'evil.marker': marker } },
    },
    dockerImageMetadataVersion: '1.0',
    dockerImageLayers: [
      {
        name: `sha256:${'e'.repeat(64)}`,
        size: 666,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      },
    ],
  };
}

/** A mapping with only a digest and a pull spec of the caller's own. */
const plain = (d: string, ref: string) => ({ metadata: { name: d }, dockerImageReference: `${ref}@${d}` });

async function map(who: Api, ns: string, tag: string, image: unknown, stream = 's'): Promise<void> {
  const res = await who.post(ISM(ns), {
    kind: 'ImageStreamMapping',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: stream, namespace: ns },
    tag,
    image,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function importInto(who: Api, ns: string, tag: string, from: string, mode?: string) {
  const res = await who.post(ISI(ns), {
    kind: 'ImageStreamImport',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: 's' },
    spec: {
      import: true,
      images: [
        {
          from: { kind: 'DockerImage', name: from },
          to: { name: tag },
          importPolicy: { insecure: true, ...(mode ? { importMode: mode } : {}) },
        },
      ],
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.status.images[0];
}

/** The image a registry serves for a pushImage() label: its config, its one layer, and the given pull spec. */
function expectRegistryImage(image: any, d: string, ref: string, label: string): void {
  expect(image.metadata.name).toBe(d);
  expect(image.dockerImageReference).toBe(ref);
  expect(image.dockerImageMetadata).toMatchObject({
    Architecture: 'amd64',
    Config: { Labels: { 'test.label': label }, Cmd: ['/hello'] },
  });
  expect(image.dockerImageLayers).toHaveLength(1);
  expect(JSON.stringify(image)).not.toMatch(/evil/i);
}

/** The caller's own invented image, and nothing of the registry's. */
function expectInvented(image: any, d: string, marker: string, label: string): void {
  expect(image.metadata.name).toBe(d);
  expect(image.dockerImageMetadata).toMatchObject({
    Architecture: 'evil-arch',
    Config: { Labels: { 'evil.marker': marker } },
  });
  expect(image.dockerImageLayers).toEqual([expect.objectContaining({ size: 666 })]);
  expect(JSON.stringify(image)).not.toContain(label);
}

/** Nothing of another project's image: no path, label, layer or registry of it anywhere in `body`. */
function expectNothingOf(body: unknown, ...secrets: string[]): void {
  const text = JSON.stringify(body);
  for (const s of secrets) expect(text).not.toContain(s);
}

describe('poisoning: a mapping never shows in another project', () => {
  it('A maps invented metadata for D first, then B imports the real D', async () => {
    const d = await pushImage(pub, 'poison/first', 'v1', { label: 'poison-first' });
    await project(alice, 'pa1');
    await project(bob, 'pb1');
    await map(alice, 'pa1', 'evil', invented(d, 'PA1'));
    // alice sees what she sent, in her own project
    const hers = (await alice.get(ISTAG('pa1', 's:evil'))).body;
    expectInvented(hers.image, d, 'PA1', 'poison-first');
    expect(hers.image.dockerImageReference).toBe(`evil.example.com/pa1@${d}`);

    const ref = `${pub.host}/poison/first@${d}`;
    const imported = await importInto(bob, 'pb1', 'v1', `${pub.host}/poison/first:v1`);
    expect(imported.status.status).toBe('Success');
    expectRegistryImage(imported.image, d, ref, 'poison-first');
    expectRegistryImage((await bob.get(ISTAG('pb1', 's:v1'))).body.image, d, ref, 'poison-first');
    const isimage = await bob.get(ISIMAGE('pb1', `s@${d}`));
    expect(isimage.status).toBe(200);
    expectRegistryImage(isimage.body.image, d, ref, 'poison-first');
    // bob's own later mapping of D (a push) gets his import's pull spec and metadata
    await map(bob, 'pb1', 'pushed', plain(d, 'bob.example.com/pushed'));
    expectRegistryImage((await bob.get(ISTAG('pb1', 's:pushed'))).body.image, d, ref, 'poison-first');
    expect((await bob.get(ISTAG('pb1', 's:pushed'))).body.image.dockerImageReference).toBe(ref);
    // the shared image cluster administrators see is the verified one; project users never see it directly
    expectRegistryImage((await admin.get(IMAGES(d))).body, d, ref, 'poison-first');
    expect((await alice.get(IMAGES(d))).status).toBe(403);
    // and alice still sees only her own
    expectInvented((await alice.get(ISTAG('pa1', 's:evil'))).body.image, d, 'PA1', 'poison-first');
  });

  it('B imports D first, then A maps invented metadata for D: B is unchanged, A sees only her own', async () => {
    const d = await pushImage(pub, 'poison/second', 'v1', { label: 'poison-second' });
    await project(alice, 'pa2');
    await project(bob, 'pb2');
    const ref = `${pub.host}/poison/second@${d}`;
    expect((await importInto(bob, 'pb2', 'v1', `${pub.host}/poison/second:v1`)).status.status).toBe(
      'Success',
    );
    await map(alice, 'pa2', 'evil', invented(d, 'PA2'));

    expectRegistryImage((await bob.get(ISTAG('pb2', 's:v1'))).body.image, d, ref, 'poison-second');
    expectRegistryImage((await bob.get(ISIMAGE('pb2', `s@${d}`))).body.image, d, ref, 'poison-second');
    const hers = (await alice.get(ISTAG('pa2', 's:evil'))).body;
    expectInvented(hers.image, d, 'PA2', 'poison-second');
    expect(hers.image.dockerImageReference).toBe(`evil.example.com/pa2@${d}`);
    const herImage = (await alice.get(ISIMAGE('pa2', `s@${d}`))).body.image;
    expectInvented(herImage, d, 'PA2', 'poison-second');
    expect(herImage.dockerImageReference).toBe(`evil.example.com/pa2@${d}`);
    expectNothingOf(hers, 'poison/second');
    expectRegistryImage((await admin.get(IMAGES(d))).body, d, ref, 'poison-second');

    // Once alice imports D herself, her project has the verified metadata (it replaces her invention) ...
    const own = `${pub.host}/poison/second@${d}`;
    expect((await importInto(alice, 'pa2', 'real', `${pub.host}/poison/second:v1`)).status.status).toBe(
      'Success',
    );
    expectRegistryImage((await alice.get(ISIMAGE('pa2', `s@${d}`))).body.image, d, own, 'poison-second');
    // ... and no later mapping replaces it again.
    await map(alice, 'pa2', 'again', invented(d, 'PA2B'));
    const again = (await alice.get(ISTAG('pa2', 's:again'))).body.image;
    expectRegistryImage(again, d, own, 'poison-second');
  });
});

describe('reading: a digest is not a key to another project’s image', () => {
  it('D exists only in B’s private registry and B imported it; A maps D: A sees only her own mapping', async () => {
    const d = await pushImage(priv, 'secret/app', 'v1', { label: 'b-private-1' });
    await project(bob, 'rb1', true);
    await project(alice, 'ra1');
    const imported = await importInto(bob, 'rb1', 'v1', `${priv.host}/secret/app:v1`);
    expect(imported.status.status).toBe('Success');

    await map(alice, 'ra1', 'guess', plain(d, 'alice.example.com/mine'));
    const istag = (await alice.get(ISTAG('ra1', 's:guess'))).body;
    expect(istag.image).toMatchObject({
      metadata: { name: d },
      dockerImageReference: `alice.example.com/mine@${d}`,
    });
    expect(istag.image.dockerImageMetadata).toBeUndefined();
    expect(istag.image.dockerImageLayers).toBeUndefined();
    expectNothingOf(istag, 'secret/app', 'b-private-1', priv.host);
    const isimage = await alice.get(ISIMAGE('ra1', `s@${d}`));
    expect(isimage.status).toBe(200);
    expect(isimage.body.image.dockerImageReference).toBe(`alice.example.com/mine@${d}`);
    expectNothingOf(isimage.body, 'secret/app', 'b-private-1', priv.host);
    expectNothingOf((await alice.get(ISTAG('ra1'))).body, 'secret/app', 'b-private-1', priv.host);

    // Nor can she import it by digest without the credentials, first import or re-check of her tag: what this
    // process fetched for bob is not hers to read.
    for (const tag of ['bydigest', 'guess']) {
      const tried = await importInto(alice, 'ra1', tag, `${priv.host}/secret/app@${d}`);
      expect(tried.status).toMatchObject({ status: 'Failure', reason: 'Unauthorized' });
      expectNothingOf(tried, 'b-private-1');
    }
    // (her tag's spec now names the path she typed; its image is still only hers)
    expectNothingOf((await alice.get(ISTAG('ra1', 's:guess'))).body.image, 'secret/app', 'b-private-1');
    expect((await bob.get(ISTAG('rb1', 's:v1'))).body.image.dockerImageMetadata.Config.Labels).toEqual({
      'test.label': 'b-private-1',
    });
  });

  it('A maps D first, then B imports D from his private registry: neither sees the other’s', async () => {
    const d = await pushImage(priv, 'secret/other', 'v1', { label: 'b-private-2' });
    await project(alice, 'ra2');
    await project(bob, 'rb2', true);
    await map(alice, 'ra2', 'guess', plain(d, 'alice.example.com/mine'));
    const ref = `${priv.host}/secret/other@${d}`;
    expect((await importInto(bob, 'rb2', 'v1', `${priv.host}/secret/other:v1`)).status.status).toBe(
      'Success',
    );

    expectRegistryImage((await bob.get(ISTAG('rb2', 's:v1'))).body.image, d, ref, 'b-private-2');
    expectRegistryImage((await bob.get(ISIMAGE('rb2', `s@${d}`))).body.image, d, ref, 'b-private-2');
    for (const path of [ISTAG('ra2', 's:guess'), ISIMAGE('ra2', `s@${d}`), ISTAG('ra2')]) {
      const res = await alice.get(path);
      expect(res.status).toBe(200);
      expectNothingOf(res.body, 'secret/other', 'b-private-2', priv.host);
    }
    // a later mapping of D in alice's project keeps her own pull spec
    await map(alice, 'ra2', 'later', plain(d, 'alice.example.com/other'));
    const later = (await alice.get(ISTAG('ra2', 's:later'))).body;
    expect(later.image.dockerImageReference).toBe(`alice.example.com/mine@${d}`);
    expectNothingOf(later, 'secret/other', 'b-private-2', priv.host);
  });

  it('a hostile registry that claims another project’s digest gets none of that image', async () => {
    const d = await pushImage(priv, 'secret/claimed', 'v1', { label: 'b-private-3' });
    await project(bob, 'hb', true);
    await project(alice, 'ha');
    expect((await importInto(bob, 'hb', 'v1', `${priv.host}/secret/claimed:v1`)).status.status).toBe(
      'Success',
    );
    const claims = `${fault.host}/lying/header:${d.replace(':', '-')}`;

    // A re-check: alice's tag has an image, so the registry's HEAD decides, and it names bob's digest.
    expect((await importInto(alice, 'ha', 'recheck', `${fault.host}/ok/app:latest`)).status.status).toBe(
      'Success',
    );
    // Her own unverified mapping of that digest is no proof either.
    await map(alice, 'ha', 'mapped', plain(d, 'alice.example.com/mine'));
    for (const tag of ['recheck', 'mapped', 'fresh']) {
      const tried = await importInto(alice, 'ha', tag, claims);
      expect(tried.status.status, tag).toBe('Failure');
      expectNothingOf(tried, 'b-private-3', 'secret/claimed');
    }
    const recheck = (await alice.get(ISTAG('ha', 's:recheck'))).body;
    expect(recheck.image.metadata.name).toBe(fault.content.manifest.digest);
    const mapped = (await alice.get(ISTAG('ha', 's:mapped'))).body;
    expect(mapped.image.dockerImageReference).toBe(`alice.example.com/mine@${d}`);
    expectNothingOf(mapped, 'b-private-3', 'secret/claimed', priv.host);
    expect((await alice.get(ISTAG('ha', 's:fresh'))).status).toBe(404);
    expectNothingOf((await alice.get(ISTAG('ha'))).body, 'b-private-3', 'secret/claimed', priv.host);
  });
});

describe('sharing on purpose', () => {
  it('tagging from another project with pull rights copies that project’s image, manifest list children included', async () => {
    const d = await pushImage(priv, 'secret/shared', 'v1', { label: 'b-private-4' });
    await project(bob, 'xb', true);
    await project(alice, 'xa');
    const ref = `${priv.host}/secret/shared@${d}`;
    expect((await importInto(bob, 'xb', 'v1', `${priv.host}/secret/shared:v1`)).status.status).toBe(
      'Success',
    );
    const list = standard.digests.multi!;
    const arm = standard.children.multi!.arm64!;
    const multi = await importInto(bob, 'xb', 'multi', `${pub.host}/tiny/app:multi`, 'PreserveOriginal');
    expect(multi.status.status).toBe('Success');
    expect(
      (
        await bob.post(RB('xb'), {
          metadata: { name: 'alice-pulls' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'system:image-puller',
          },
          subjects: [{ kind: 'User', name: 'alice' }],
        })
      ).status,
    ).toBe(201);

    const tag = (name: string, from: Record<string, string>) =>
      alice.put(ISTAG('xa', `s:${name}`), { metadata: { name: `s:${name}` }, tag: { name, from } });
    expect((await tag('v1', { kind: 'ImageStreamTag', name: 's:v1', namespace: 'xb' })).status).toBe(201);
    expect(
      (await tag('multi', { kind: 'ImageStreamImage', name: `s@${list}`, namespace: 'xb' })).status,
    ).toBe(201);
    expectRegistryImage((await alice.get(ISTAG('xa', 's:v1'))).body.image, d, ref, 'b-private-4');
    expectRegistryImage((await alice.get(ISIMAGE('xa', `s@${d}`))).body.image, d, ref, 'b-private-4');
    const listImage = await alice.get(ISIMAGE('xa', `s@${list}`));
    expect(listImage.status).toBe(200);
    expect(listImage.body.image.dockerImageManifests).toHaveLength(2);
    const child = await alice.get(ISIMAGE('xa', `s@${arm}`));
    expect(child.status).toBe(200);
    expect(child.body.image.dockerImageMetadata.Architecture).toBe('arm64');
  });
});

describe('project lifecycle and old data', () => {
  it('deleting a project deletes its images: a project re-created under that name starts without them', async () => {
    const d = await pushImage(pub, 'lifecycle/app', 'v1', { label: 'lifecycle' });
    await project(alice, 'reused');
    await map(alice, 'reused', 'evil', invented(d, 'OLDOWNER'));
    expect((await alice.delete(`${PROJECTS}/reused`)).status).toBe(200);
    await eventually(
      async () => ((await admin.get(`${PROJECTS}/reused`)).status === 404 ? true : undefined),
      'the project to be gone',
      30_000,
    );
    await project(bob, 'reused');
    await map(bob, 'reused', 'mine', plain(d, 'bob.example.com/mine'));
    const istag = (await bob.get(ISTAG('reused', 's:mine'))).body;
    expect(istag.image.dockerImageReference).toBe(`bob.example.com/mine@${d}`);
    expectNothingOf(istag, 'OLDOWNER', 'evil');
  });

  it('a tag whose project has no record of its image (older data) shows no other project’s metadata', async () => {
    const d = await pushImage(pub, 'old/app', 'v1', { label: 'old-data' });
    await project(alice, 'olddata');
    await map(alice, 'olddata', 'm', plain(d, 'alice.example.com/old'));
    expect((await importInto(alice, 'olddata', 'i', `${pub.host}/old/app:v1`)).status.status).toBe('Success');
    // What the previous version left behind: only the shared record, written here by someone else's mapping.
    const db = createDocumentClient({ endpoint: stack.service.dynamodbEndpoint });
    await db.send(new DeleteCommand({ TableName: stack.table, Key: { PK: 'NSIMG#olddata', SK: d } }));
    await db.send(
      new PutCommand({
        TableName: stack.table,
        Item: { PK: `IMG#${d}`, SK: 'IMG', kind: 'image', doc: JSON.stringify(invented(d, 'SHARED')) },
      }),
    );
    // A new stream: nothing this process remembers for the old one answers for it.
    await alice.post(IS('olddata'), { metadata: { name: 'fresh' } });
    await alice.put(ISTAG('olddata', 'fresh:m'), {
      metadata: { name: 'fresh:m' },
      tag: { name: 'm', from: { kind: 'ImageStreamTag', name: 's:m' } },
    });
    const istag = await alice.get(ISTAG('olddata', 'fresh:m'));
    expect(istag.status).toBe(200);
    expect(istag.body.image).toEqual({
      metadata: { name: d },
      dockerImageReference: `alice.example.com/old@${d}`,
    });
    const isimage = await alice.get(ISIMAGE('olddata', `fresh@${d}`));
    expect(isimage.status).toBe(200);
    expectNothingOf(isimage.body, 'SHARED', 'evil');
    expectNothingOf((await alice.get(ISTAG('olddata'))).body, 'SHARED', 'evil');
    // The next re-import of the tag verifies the image again and the project has its metadata back.
    expect((await importInto(alice, 'olddata', 'i', `${pub.host}/old/app:v1`)).status.status).toBe('Success');
    expectRegistryImage(
      (await alice.get(ISIMAGE('olddata', `fresh@${d}`))).body.image,
      d,
      `${pub.host}/old/app@${d}`,
      'old-data',
    );
  });
});

describe('the image store', () => {
  it('refuses image records for a project being deleted, or gone, in the same transaction', async () => {
    await project(alice, 'closing');
    const db = createDocumentClient({ endpoint: stack.service.dynamodbEndpoint });
    await db.send(
      new UpdateCommand({
        TableName: stack.table,
        Key: { PK: 'PRJ#closing', SK: 'PRJ' },
        UpdateExpression: 'SET phase = :t',
        ExpressionAttributeValues: { ':t': 'Terminating' },
      }),
    );
    const d = `sha256:${'c'.repeat(64)}`;
    const res = await alice.post(ISM('closing'), {
      kind: 'ImageStreamMapping',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: 's' },
      tag: 'late',
      image: plain(d, 'alice.example.com/late'),
    });
    expect(res.status).toBe(403);
    expect(res.body.message).toBe(
      'unable to create new content in namespace closing because it is being terminated',
    );
    const images = new ImageStore(db, stack.table);
    await expect(
      images.recordImports('closing', [plain(d, 'x.example.com/y')], 'test'),
    ).rejects.toMatchObject({
      code: 403,
    });
    await expect(
      images.recordMapping('no-such-project', plain(d, 'x.example.com/y'), 'test'),
    ).rejects.toMatchObject({ code: 404, message: 'namespaces "no-such-project" not found' });
    expect(await images.current('closing', d)).toBeUndefined();
  });

  it('remembers a mapping record briefly and an import record until evicted, per stream incarnation', async () => {
    await project(alice, 'memory');
    const db = createDocumentClient({ endpoint: stack.service.dynamodbEndpoint });
    let now = Date.now();
    // Two processes over one table; the first one's clock is ours to move.
    const here = new ImageStore(db, stack.table, 100, () => now);
    const elsewhere = new ImageStore(db, stack.table);
    const d = `sha256:${'a'.repeat(64)}`;
    const stream = { namespace: 'memory', uid: 'stream-1' };
    await here.recordMapping('memory', invented(d, 'MEM'), 'alice');
    expect((await here.seenBy(stream, d))?.source).toBe('mapping');

    const verified = { metadata: { name: d }, dockerImageReference: `registry.example.com/app@${d}` };
    await elsewhere.recordImports('memory', [verified], 'importer');
    // Until the mapping's time is up, this process may still show the project's own older metadata, never longer.
    expect((await here.seenBy(stream, d))?.source).toBe('mapping');
    now += MAPPING_CACHE_MS + 1;
    expect(await here.seenBy(stream, d)).toEqual({ source: 'import', image: verified });

    // An import record is final: remembered, while a new incarnation of the project (new stream uids) reads afresh.
    await db.send(new DeleteCommand({ TableName: stack.table, Key: { PK: 'NSIMG#memory', SK: d } }));
    now += 60 * 60_000;
    expect((await here.seenBy(stream, d))?.source).toBe('import');
    expect(await here.seenBy({ namespace: 'memory', uid: 'stream-3' }, d)).toBeUndefined();
  });
});
