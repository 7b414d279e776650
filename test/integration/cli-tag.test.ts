import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cli } from '../support/cli';
import { eventually } from '../support/eventually';
import { ADMIN_TOKEN, type Api, HISTORY, IS, ISTAG, mapImage, startStack } from '../support/local-stack';
import {
  type PushedContent,
  pushImage,
  pushStandardContent,
  type Registry,
  startRegistry,
} from '../support/registries';

/**
 * `isctl tag` and `isctl rollback` as users run them (the bundle as its own process) against the local stack and a
 * loopback registry: every rule of docs/semantics.md#oc-tag checked in what the server stored, and in what isctl printed.
 */

const INTERNAL = 'image-registry.test:5000';
const RB = (ns: string) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`;
const hex = (c: string, n = 64) => c.repeat(Math.ceil(n / c.length)).slice(0, n);
const sha = (h: string) => `sha256:${h}`;

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
let reg: Registry;
let content: PushedContent;
let cli: Cli;
let bob: Cli;

beforeAll(async () => {
  [stack, reg] = await Promise.all([
    startStack({
      INTERNAL_REGISTRY_HOSTNAME: INTERNAL,
      LOCAL_TOKENS: JSON.stringify({ 'bob-token-0123456789': { user: 'bob', groups: ['devs'] } }),
    }),
    startRegistry('anonymous'),
  ]);
  api = stack.api;
  content = await pushStandardContent(reg);
  cli = new Cli();
  bob = new Cli();
  await cli.ok(['login', '--server', api.url, '--token', ADMIN_TOKEN]);
  await cli.ok(['new-project', 'p1']);
  await cli.ok(['new-project', 'p2', '--skip-config-write']);
  await bob.ok(['login', '--server', api.url, '--token', 'bob-token-0123456789']);
  await bob.ok(['new-project', 'bobs']);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await reg?.stop();
  cli?.cleanup();
  bob?.cleanup();
});

const specTag = async (ns: string, stream: string, tag: string) =>
  (await api.get(IS(ns, stream))).body.spec?.tags?.find((t: { name: string }) => t.name === tag);
const top = async (ns: string, name: string) => (await api.get(ISTAG(ns, name))).body.image?.metadata?.name;
const historyOf = async (ns: string, name: string): Promise<string[]> =>
  (await api.get(HISTORY(ns, name))).body.items.map((e: { image: string }) => e.image);
const waitFor = (ns: string, name: string, digest: string) =>
  eventually(
    async () => ((await top(ns, name)) === digest ? true : undefined),
    `${name} at ${digest}`,
    20_000,
  );

/** Points `stream:tag` at image `d` (registered through imagestreammappings), creating the stream if needed. */
async function mapTo(ns: string, stream: string, tag: string, d: string): Promise<string> {
  if ((await api.get(IS(ns, stream))).status === 404) await api.post(IS(ns), { metadata: { name: stream } });
  return mapImage(api, ns, stream, tag, d);
}

async function usageError(c: Cli, args: string[], message: string) {
  const r = await c.run(args);
  expect(r.code, `${args.join(' ')}: ${r.stdout} ${r.stderr}`).toBe(2);
  expect(r.stderr).toContain(`error: ${message}`);
  expect(r.stdout).toBe('');
}

describe('isctl tag: the kind of SOURCE', () => {
  it('a registry host is a container image: kept as written, imported, and re-imported when tagged again', async () => {
    const remote = `${reg.host}/moving/app:stable`;
    const first = await pushImage(reg, 'moving/app', 'stable', { label: 'moving-1' });
    const out = await cli.ok(['tag', '--insecure', remote, 'dock:stable']);
    expect(out).toBe(`Tag dock:stable set to ${remote}.\n`);
    const spec = await specTag('p1', 'dock', 'stable');
    expect(spec).toMatchObject({
      from: { kind: 'DockerImage', name: remote },
      importPolicy: { insecure: true, importMode: 'Legacy' },
      referencePolicy: { type: 'Source' },
    });
    expect(spec.reference || spec.importPolicy.scheduled).toBeFalsy();
    await waitFor('p1', 'dock:stable', first);
    // the same command again sends generation 0, so the server imports again and sees the moved remote tag
    const second = await pushImage(reg, 'moving/app', 'stable', { label: 'moving-2' });
    await cli.ok(['tag', '--insecure', remote, 'dock:stable']);
    await waitFor('p1', 'dock:stable', second);
    expect(await historyOf('p1', 'dock:stable')).toEqual([second, first]);
  });

  it('@digest is an image stream image, :tag an image stream tag (a snapshot), a bare name a container image', async () => {
    const d1 = await mapTo('p1', 'kinds', 'a', sha(hex('a1')));
    expect(await cli.ok(['tag', `kinds@${d1}`, 'kinds:isi'])).toBe(`Tag kinds:isi set to kinds@${d1}.\n`);
    expect((await specTag('p1', 'kinds', 'isi')).from).toEqual({
      kind: 'ImageStreamImage',
      name: `kinds@${d1}`,
    });
    expect(await top('p1', 'kinds:isi')).toBe(d1);

    expect(await cli.ok(['tag', 'kinds:a', 'kinds:ist'])).toBe(`Tag kinds:ist set to kinds@${d1}.\n`);
    expect((await specTag('p1', 'kinds', 'ist')).from).toEqual({
      kind: 'ImageStreamImage',
      name: `kinds@${d1}`,
    });
    // --source says the same explicitly; library/ means this project
    await cli.ok(['tag', '--source=istag', 'library/kinds:a', 'kinds:lib']);
    expect((await specTag('p1', 'kinds', 'lib')).from).toEqual({
      kind: 'ImageStreamImage',
      name: `kinds@${d1}`,
      namespace: 'p1',
    });

    // no registry, no tag, no digest: a container image on Docker Hub (reference: nothing is fetched)
    expect(await cli.ok(['tag', '--reference', 'busybox', 'kinds:hub'])).toBe(
      'Tag kinds:hub set to busybox.\n',
    );
    expect((await specTag('p1', 'kinds', 'hub')).from).toEqual({ kind: 'DockerImage', name: 'busybox' });
    // --source=docker turns a stream-looking name into a container image
    await cli.ok(['tag', '--reference', '--source=docker', 'kinds:a', 'kinds:dock']);
    expect((await specTag('p1', 'kinds', 'dock')).from).toEqual({ kind: 'DockerImage', name: 'kinds:a' });
  });

  it('a tag without an image cannot be a source; a reference-only tag gives its pull spec', async () => {
    await cli.ok(['tag', '--reference', 'quay.io/x/y:1', 'snap:ref']);
    expect(await cli.ok(['tag', '--reference', 'snap:ref', 'snap:copy'])).toBe(
      'Tag snap:copy set to quay.io/x/y:1.\n',
    );
    expect(await specTag('p1', 'snap', 'copy')).toMatchObject({
      from: { kind: 'DockerImage', name: 'quay.io/x/y:1' },
      reference: true,
    });
    const none = await cli.run(['tag', 'snap:nothing', 'snap:x']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      'error: "snap:nothing" is not currently pointing to an image, cannot use it as the source of a tag\n',
    );
    const missing = await cli.run(['tag', 'nostream:a', 'snap:x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      'Error from server (NotFound): imagestreams.image.openshift.io "nostream" not found',
    );
  });
});

describe('isctl tag: snapshot and alias', () => {
  it('a snapshot keeps the image it was given, an alias follows its source tag', async () => {
    const d1 = await mapTo('p1', 'web', 'v', sha(hex('b1')));
    await cli.ok(['tag', 'web:v', 'web:snap']);
    expect(await cli.ok(['tag', '--alias', 'web:v', 'web:live'])).toBe(
      'Tag web:live set up to track web:v.\n',
    );
    expect((await specTag('p1', 'web', 'live')).from).toEqual({ kind: 'ImageStreamTag', name: 'web:v' });
    expect(await top('p1', 'web:live')).toBe(d1);

    const d2 = await mapTo('p1', 'web', 'v', sha(hex('b2')));
    expect(await top('p1', 'web:v')).toBe(d2);
    expect(await top('p1', 'web:live')).toBe(d2);
    expect(await top('p1', 'web:snap')).toBe(d1);
    expect((await specTag('p1', 'web', 'snap')).from).toEqual({
      kind: 'ImageStreamImage',
      name: `web@${d1}`,
    });
  });

  it('an alias stays in its stream, takes no import flags and no -d', async () => {
    await usageError(
      cli,
      ['tag', '--alias', 'web:v', 'other:live'],
      'cannot set alias across different Image Streams',
    );
    await usageError(
      cli,
      ['tag', '--alias', 'web:v', 'p2/web:live'],
      'cannot set alias across different Image Streams',
    );
    await usageError(
      cli,
      ['tag', '--alias', 'p2/web:v', 'web:live'],
      'cannot set alias across different Image Streams',
    );
    await usageError(
      cli,
      ['tag', '--alias', '--scheduled', `${reg.host}/tiny/app:oci`, 'app:x'],
      'cannot set a container image tag as an alias and also set import flags',
    );
    await usageError(
      cli,
      ['tag', '--alias', '-d', 'web:live'],
      '--alias and --delete may not be both specified',
    );
  });
});

describe('isctl tag: the import it starts', () => {
  it('reports an import that fails (exit 1), naming --insecure for a plain-HTTP registry; success stays silent', async () => {
    const remote = `${reg.host}/tiny/app:oci`;
    const plain = await cli.run(['tag', remote, 'waits:plain']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe(`Tag waits:plain set to ${remote}.\n`);
    expect(plain.stderr).toContain(
      `error: the import of p1/waits:plain failed: the repository ${reg.host}/tiny/app is HTTP only and requires the insecure flag to import\nhint: `,
    );
    expect(plain.stderr).toContain('Import with --insecure');
    const missing = await cli.run(['tag', '--insecure', `${reg.host}/tiny/absent:1`, 'waits:missing']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the import of p1/waits:missing failed:');
    const fine = await cli.run(['tag', '--insecure', remote, 'waits:fine']);
    expect([fine.code, fine.stdout, fine.stderr]).toEqual([0, `Tag waits:fine set to ${remote}.\n`, '']);
    expect(await top('p1', 'waits:fine')).toBe(content.digests.oci);
  });
});

describe('isctl tag: flags', () => {
  it('--reference records the pull spec at once and imports nothing', async () => {
    const remote = `${reg.host}/tiny/app:oci`;
    await cli.ok(['tag', '--reference', remote, 'refs:r']);
    const stream = (await api.get(IS('p1', 'refs'))).body;
    expect(stream.spec.tags[0]).toMatchObject({
      reference: true,
      from: { kind: 'DockerImage', name: remote },
    });
    expect(stream.status.tags[0].items).toEqual([
      expect.objectContaining({ dockerImageReference: remote, image: '' }),
    ]);
    expect((await api.get(ISTAG('p1', 'refs:r'))).status).toBe(404);
  });

  it('--scheduled and --insecure only for container images', async () => {
    await mapTo('p1', 'flags', 'a', sha(hex('c1')));
    await usageError(
      cli,
      ['tag', '--scheduled', 'flags:a', 'flags:b'],
      'only container images can have importing flags set',
    );
    await usageError(
      cli,
      ['tag', '--insecure', `flags@${sha(hex('c1'))}`, 'flags:b'],
      'only container images can have importing flags set',
    );
    const remote = `${reg.host}/tiny/app:oci`;
    expect(await cli.ok(['tag', '--scheduled', '--insecure', remote, 'flags:sch'])).toBe(
      `Tag flags:sch set to import ${remote} periodically.\n`,
    );
    expect((await specTag('p1', 'flags', 'sch')).importPolicy).toEqual({
      insecure: true,
      scheduled: true,
      importMode: 'Legacy',
    });
    await waitFor('p1', 'flags:sch', content.digests.oci!);
  });

  it('--reference-policy local makes the tag resolve through this service’s registry', async () => {
    const d = await mapTo('p1', 'pol', 'src', sha(hex('d1')));
    await cli.ok(['tag', 'pol:src', 'pol:source']);
    await cli.ok(['tag', '--reference-policy', 'local', 'pol:src', 'pol:local']);
    expect((await specTag('p1', 'pol', 'local')).referencePolicy).toEqual({ type: 'Local' });
    expect((await api.get(ISTAG('p1', 'pol:source'))).body.image.dockerImageReference).toBe(
      `quay.io/x/y@${d}`,
    );
    expect((await api.get(ISTAG('p1', 'pol:local'))).body.image.dockerImageReference).toBe(
      `${INTERNAL}/p1/pol@${d}`,
    );
    await usageError(
      cli,
      ['tag', '--reference-policy', 'pullthrough', 'pol:src', 'pol:x'],
      "reference policy must be set to 'source' or 'local'",
    );
  });

  it('--import-mode PreserveOriginal keeps a manifest list whole; Legacy picks one platform', async () => {
    const remote = `${reg.host}/tiny/app:multi`;
    await cli.ok(['tag', '--insecure', '--import-mode', 'PreserveOriginal', remote, 'multi:whole']);
    await cli.ok(['tag', '--insecure', remote, 'multi:one']);
    expect((await specTag('p1', 'multi', 'whole')).importPolicy.importMode).toBe('PreserveOriginal');
    expect((await specTag('p1', 'multi', 'one')).importPolicy.importMode).toBe('Legacy');
    await waitFor('p1', 'multi:whole', content.digests.multi!);
    await waitFor('p1', 'multi:one', content.children.multi!.amd64!);
    const whole = (await api.get(ISTAG('p1', 'multi:whole'))).body.image;
    expect(whole.dockerImageManifests.map((m: { architecture: string }) => m.architecture).sort()).toEqual([
      'amd64',
      'arm64',
    ]);
    await usageError(
      cli,
      ['tag', '--import-mode', 'legacy', remote, 'multi:x'],
      'valid ImportMode values are Legacy or PreserveOriginal',
    );
  });
});

describe('isctl tag: across projects', () => {
  it('a destination in another project names the source’s project', async () => {
    const d = await mapTo('p1', 'cross', 'a', sha(hex('e1')));
    expect(await cli.ok(['tag', 'cross:a', 'p2/cross:b'])).toBe(`Tag p2/cross:b set to cross@${d}.\n`);
    expect((await specTag('p2', 'cross', 'b')).from).toEqual({
      kind: 'ImageStreamImage',
      name: `cross@${d}`,
      namespace: 'p1',
    });
    expect(await top('p2', 'cross:b')).toBe(d);
  });

  it('a source in another project needs pull rights there: the server’s 422 is shown, then it works once granted', async () => {
    const d = await mapTo('p2', 'base', '1', sha(hex('f1')));
    const refused = await bob.run(['tag', `p2/base@${d}`, 'app:base']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^Error from server \(Invalid\): .*spec\.tags\[base\]\.from: Forbidden: p2\/base/,
    );
    expect((await api.get(IS('bobs', 'app'))).status).toBe(404);
    // a snapshot of a tag needs to read the stream, which pulling does not allow
    const unreadable = await bob.run(['tag', 'p2/base:1', 'app:base']);
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toContain(
      'Error from server (Forbidden): imagestreams.image.openshift.io "base" is forbidden',
    );

    const grant = await api.post(RB('p2'), {
      kind: 'RoleBinding',
      apiVersion: 'rbac.authorization.k8s.io/v1',
      metadata: { name: 'bob-pulls' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:image-puller' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'bob' }],
    });
    expect(grant.status).toBe(201);
    expect(await bob.ok(['tag', `p2/base@${d}`, 'app:base'])).toBe(`Tag app:base set to p2/base@${d}.\n`);
    expect((await specTag('bobs', 'app', 'base')).from).toEqual({
      kind: 'ImageStreamImage',
      name: `base@${d}`,
      namespace: 'p2',
    });
    expect(await top('bobs', 'app:base')).toBe(d);
  });
});

describe('isctl tag -d', () => {
  it('deletes spec and history of each tag, and says what it deleted', async () => {
    await mapTo('p1', 'del', 'a', sha(hex('0a')));
    await cli.ok(['tag', 'del:a', 'del:b', 'del:c']);
    expect(await cli.ok(['tag', '-d', 'del:b', 'del:c'])).toBe(
      'Deleted tag p1/del:b.\nDeleted tag p1/del:c.\n',
    );
    expect((await api.get(ISTAG('p1', 'del:b'))).status).toBe(404);
    expect((await api.get(HISTORY('p1', 'del:c'))).status).toBe(404);
    expect(await specTag('p1', 'del', 'b')).toBeUndefined();
    const again = await cli.run(['tag', '-d', 'del:b']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      'Error from server (NotFound): imagestreamtags.image.openshift.io "del:b" not found',
    );
  });

  it('takes no source and no import flags', async () => {
    await usageError(
      cli,
      ['tag', '-d', '--source=istag', 'del:a'],
      'cannot specify a source kind when deleting',
    );
    await usageError(
      cli,
      ['tag', '-d', '--scheduled', 'del:a'],
      'cannot set flags for importing images when deleting a tag',
    );
    await usageError(
      cli,
      ['tag', '-d', '--insecure', 'del:a'],
      'cannot set flags for importing images when deleting a tag',
    );
    await usageError(
      cli,
      ['tag', '-d', '--import-mode', 'Legacy', 'del:a'],
      'cannot specify an import mode when deleting',
    );
    await usageError(cli, ['tag', '-d'], 'at least a destination is required');
    expect(await top('p1', 'del:a')).toBeDefined();
  });
});

describe('isctl tag: usage errors (exit 2, oc wording, nothing written)', () => {
  it('refuses malformed sources, destinations and flags', async () => {
    await usageError(
      cli,
      ['tag'],
      'you must specify a source and at least one destination or one or more tags to delete',
    );
    await usageError(cli, ['tag', 'web:v'], 'at least a destination is required');
    await usageError(cli, ['tag', 'web:v', 'web'], '"web" must be of the form <stream_name>:<tag>');
    await usageError(cli, ['tag', 'web:v', 'a/b/web:x'], 'invalid image stream "a/b/web:x"');
    await usageError(
      cli,
      ['tag', 'web:v', 'web:.bad'],
      `invalid tag ".bad" format, tags must start with an alphanumeric character followed by alphanumeric, '.' or '-' characters, and have a maximum of 128 characters`,
    );
    await usageError(
      cli,
      ['tag', '--source=git', 'web:v', 'web:x'],
      'invalid source "git"; valid values are docker, dockerimage, imagestreamimage, imagestreamtag, isimage, istag',
    );
    await usageError(cli, ['tag', 'Web:v', 'web:x'], 'invalid SOURCE: repository name must be lowercase');
    await usageError(
      cli,
      ['tag', '--source=istag', 'web', 'web:x'],
      '--source=ImageStreamTag requires a valid <name>:<tag> in SOURCE',
    );
    await usageError(
      cli,
      ['tag', '--source=isimage', 'web:v', 'web:x'],
      '--source=ImageStreamImage requires a valid <name>@<id> in SOURCE',
    );
    await usageError(
      cli,
      ['tag', '--source=istag', 'quay.io/x/web:v', 'web:x'],
      'server in SOURCE is only allowed when providing a container image',
    );
    const unknown = await cli.run(['tag', '--frobnicate', 'web:v', 'web:x']);
    expect(unknown.code).toBe(2);
    expect(await specTag('p1', 'web', 'x')).toBeUndefined();
  });
});

describe('isctl tag: PUT, then POST', () => {
  it('falls back to POST when the server has no PUT for imagestreamtags (405)', async () => {
    const seen: string[] = [];
    const proxy: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      seen.push(`${req.method} ${req.url}`);
      if (req.method === 'PUT' && req.url?.includes('/imagestreamtags/')) {
        res.writeHead(405, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            status: 'Failure',
            reason: 'MethodNotAllowed',
            code: 405,
            message: 'the server does not allow this method on the requested resource',
          }),
        );
        return;
      }
      const upstream = await fetch(api.url + req.url, {
        method: req.method!,
        headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
        ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
      });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      expect(await cli.ok(['tag', '--reference', 'quay.io/x/y:2', 'posted:a', '--server', url])).toBe(
        'Tag posted:a set to quay.io/x/y:2.\n',
      );
      expect(seen.filter((s) => s.includes('imagestreamtags')).map((s) => s.split(' ')[0])).toEqual([
        'PUT',
        'POST',
      ]);
      expect((await specTag('p1', 'posted', 'a')).from).toEqual({
        kind: 'DockerImage',
        name: 'quay.io/x/y:2',
      });
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('isctl rollback', () => {
  const D1 = sha(hex('1'));
  const D2 = sha(hex('2'));
  const D3 = sha(hex('3'));

  it('goes back one distinct image by default, N with --steps, and the server prepends the old image', async () => {
    for (const d of [D1, D2, D3]) await mapTo('p1', 'rb', 't', d);
    expect(await historyOf('p1', 'rb:t')).toEqual([D3, D2, D1]);

    const out = await cli.ok(['rollback', 'rb:t']);
    expect(out).toBe(
      `Tag rb:t rolled back from ${D3} to ${D2} (1 image back).\n  was: quay.io/x/y@${D3}\n  now: quay.io/x/y@${D2}\n`,
    );
    expect(await historyOf('p1', 'rb:t')).toEqual([D2, D3, D2, D1]);
    expect((await specTag('p1', 'rb', 't')).from).toEqual({ kind: 'ImageStreamImage', name: `rb@${D2}` });

    // from D2, the distinct earlier images are D3 then D1
    expect(await cli.ok(['rollback', 'rb:t', '--steps', '2'])).toContain(
      `rolled back from ${D2} to ${D1} (2 images back).`,
    );
    expect(await historyOf('p1', 'rb:t')).toEqual([D1, D2, D3, D2, D1]);
    const far = await cli.run(['rollback', 'rb:t', '--steps', '3']);
    expect(far.code).toBe(1);
    expect(far.stderr).toBe('error: "rb:t" has only 2 earlier images in its history, cannot go back 3\n');
    expect(await historyOf('p1', 'rb:t')).toHaveLength(5);
  });

  it('--to takes a digest or a unique prefix from the tag’s history, and lists the candidates otherwise', async () => {
    const A = sha(`abcd0${hex('0', 59)}`);
    const B = sha(`abcd1${hex('0', 59)}`);
    for (const d of [A, B, D3]) await mapTo('p1', 'rbto', 't', d);
    expect(await cli.ok(['rollback', 'rbto:t', '--to', 'abcd0'])).toContain(`from ${D3} to ${A} (`);
    expect(await historyOf('p1', 'rbto:t')).toEqual([A, D3, B, A]);
    expect(await cli.ok(['rollback', 'rbto:t', '--to', D3])).toContain(`to ${D3} (`);

    const ambiguous = await cli.run(['rollback', 'rbto:t', '--to', 'sha256:abcd']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toBe(
      `error: "sha256:abcd" matches 2 images in the history of "rbto:t":\n  ${A}  quay.io/x/y@${A}\n  ${B}  quay.io/x/y@${B}\nGive more digits.\n`,
    );
    const absent = await cli.run(['rollback', 'rbto:t', '--to', 'ffff']);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain(
      'error: no image in the history of "rbto:t" matches "ffff"; its images are:\n',
    );
    expect(absent.stderr).toContain(`  ${B}  quay.io/x/y@${B}`);
    // an image of another stream is not in this tag's history
    const foreign = await cli.run(['rollback', 'rbto:t', '--to', D1]);
    expect(foreign.code).toBe(1);
    expect(await historyOf('p1', 'rbto:t')).toEqual([D3, A, D3, B, A]);

    await usageError(
      cli,
      ['rollback', 'rbto:t', '--to', 'abcd0', '--steps', '1'],
      '--to and --steps may not be both specified',
    );
    await usageError(
      cli,
      ['rollback', 'rbto:t', '--steps', 'two'],
      '--steps must be a positive whole number, not "two"',
    );
    await usageError(cli, ['rollback', 'rbto'], '"rbto" must be of the form <stream_name>:<tag>');
  });

  it('a scheduled registry tag stops importing once rolled back, and says so', async () => {
    const help = await cli.ok(['rollback', '--help']);
    expect(help).toContain('a tag imported from a registry stops importing after a rollback');
    const remote = `${reg.host}/sched/app:t`;
    const first = await pushImage(reg, 'sched/app', 't', { label: 'sched-1' });
    await cli.ok(['tag', '--scheduled', '--insecure', remote, 'sch:t']);
    await waitFor('p1', 'sch:t', first);
    const second = await pushImage(reg, 'sched/app', 't', { label: 'sched-2' });
    await cli.ok(['import-image', 'sch:t']);
    expect(await top('p1', 'sch:t')).toBe(second);

    const r = await cli.run(['rollback', 'sch:t']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`from ${second} to ${first} (1 image back).`);
    expect(r.stderr).toBe(
      `warning: sch:t was imported periodically from ${remote}; it now points to a fixed image and is no longer re-imported. To follow the registry again: isctl tag --scheduled --insecure ${remote} sch:t\n`,
    );
    const spec = await specTag('p1', 'sch', 't');
    expect(spec.from).toEqual({ kind: 'ImageStreamImage', name: `sch@${first}` });
    expect(spec.importPolicy?.scheduled).toBeFalsy();
    const reimport = await cli.run(['import-image', 'sch:t']);
    expect(reimport.code).toBe(1);
    expect(reimport.stderr).toBe(
      `error: tag "t" points to existing ImageStreamImage "sch@${first}", it cannot be re-imported\n`,
    );
  });
});
