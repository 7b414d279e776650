import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cli, type CliResult } from '../support/cli';
import { ADMIN_TOKEN, type Api, HISTORY, IS, ISTAG, startStack } from '../support/local-stack';
import {
  type PushedContent,
  pushDistinctTags,
  pushImage,
  pushStandardContent,
  type Registry,
  startRegistry,
} from '../support/registries';

/**
 * `isctl import-image` as users run it (the bundle as its own process) against the local stack and a loopback
 * registry (plain HTTP, so imports pass --insecure): the rules of docs/semantics.md#oc-import-image, what was written through the API, and
 * what isctl printed on stdout and stderr, with its exit code.
 */

const INTERNAL = 'image-registry.test:5000';

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
let reg: Registry;
let content: PushedContent;
let many: Record<string, string>;
let cli: Cli;

beforeAll(async () => {
  [stack, reg] = await Promise.all([
    startStack({ INTERNAL_REGISTRY_HOSTNAME: INTERNAL }),
    startRegistry('anonymous'),
  ]);
  api = stack.api;
  content = await pushStandardContent(reg);
  many = await pushDistinctTags(reg, 'many/app', 4, (i) => ['latest', '1.0', '1.1', 'edge'][i]!);
  cli = new Cli();
  await cli.ok(['login', '--server', api.url, '--token', ADMIN_TOKEN]);
  await cli.ok(['new-project', 'imp']);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await reg?.stop();
  cli?.cleanup();
});

const top = async (name: string) => (await api.get(ISTAG('imp', name))).body.image?.metadata?.name;
const historyTotal = async (name: string) => (await api.get(HISTORY('imp', name))).body.total as number;
const specTag = async (stream: string, tag: string) =>
  (await api.get(IS('imp', stream))).body.spec?.tags?.find((t: { name: string }) => t.name === tag);

async function usageError(args: string[], message: string) {
  const r = await cli.run(args);
  expect(r.code, `${args.join(' ')}: ${r.stdout} ${r.stderr}`).toBe(2);
  expect(r.stderr).toContain(`error: ${message}`);
}

describe('isctl import-image: a new stream', () => {
  it('needs --confirm, then creates the stream and shows what it imported', async () => {
    const from = `${reg.host}/tiny/app:oci`;
    const refused = await cli.run(['import-image', 'fresh:1', '--from', from, '--insecure']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'error: no image stream named "fresh" exists, pass --confirm to create and import\n',
    );
    expect((await api.get(IS('imp', 'fresh'))).status).toBe(404);

    const plain = await cli.run(['import-image', 'plain:1', '--from', from, '--confirm']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('is HTTP only and requires the insecure flag to import');
    expect(plain.stderr).toContain(
      'hint: the registry answers only plain HTTP (no HTTPS). Import with --insecure (also on isctl tag)',
    );
    expect(plain.stderr).toContain('INSECURE_REGISTRIES');

    const out = await cli.ok(['import-image', 'fresh:1', '--from', from, '--insecure', '--confirm']);
    const d = content.digests.oci!;
    expect(out).toMatch(/^imagestream\.image\.openshift\.io\/fresh imported\n\n/);
    expect(out).toContain('Name:\t\t\tfresh\nNamespace:\t\timp\n');
    expect(out).toContain(`Image Repository:\t${INTERNAL}/imp/fresh\n`);
    expect(out).toContain(
      `\n1\n  tagged from ${from}\n  digest:    ${d}\n  pull spec: ${reg.host}/tiny/app@${d}\n`,
    );
    expect(await top('fresh:1')).toBe(d);
    expect(await specTag('fresh', '1')).toMatchObject({
      from: { kind: 'DockerImage', name: from },
      importPolicy: { insecure: true, importMode: 'Legacy' },
    });
  });

  it('imports the target itself when there is no --from; the stream is named after its last segment', async () => {
    const out = await cli.ok(['import-image', `${reg.host}/tiny/app:v2s2`, '--insecure', '--confirm']);
    expect(out).toMatch(/^imagestream\.image\.openshift\.io\/app imported\n/);
    expect(await top('app:v2s2')).toBe(content.digests.v2s2);
  });

  it('--dry-run shows the image and writes nothing', async () => {
    const from = `${reg.host}/tiny/app:arm64`;
    const out = await cli.ok([
      'import-image',
      'dry:a',
      '--from',
      from,
      '--insecure',
      '--confirm',
      '--dry-run',
    ]);
    expect(out).toMatch(/^imagestream\.image\.openshift\.io\/dry imported \(dry run\)\n/);
    expect(out).toContain(`  digest:    ${content.digests.arm64}\n`);
    expect(out).toContain('Tags:\t\t\t1 found\n');
    expect((await api.get(IS('imp', 'dry'))).status).toBe(404);
  });

  it('--import-mode PreserveOriginal keeps the manifest list; --reference-policy local and --scheduled are recorded', async () => {
    const from = `${reg.host}/tiny/app:multi`;
    const out = await cli.ok([
      'import-image',
      'ml:multi',
      '--from',
      from,
      '--insecure',
      '--confirm',
      '--scheduled',
      '--import-mode',
      'PreserveOriginal',
      '--reference-policy',
      'local',
    ]);
    const list = content.digests.multi!;
    expect(out).toContain(`  digest:    ${list}\n  pull spec: ${INTERNAL}/imp/ml@${list}\n`);
    expect(out).toContain(`linux/amd64 ${content.children.multi!.amd64}`);
    expect(out).toContain(`linux/arm64 ${content.children.multi!.arm64}`);
    expect(await top('ml:multi')).toBe(list);
    expect(await specTag('ml', 'multi')).toMatchObject({
      importPolicy: { insecure: true, scheduled: true, importMode: 'PreserveOriginal' },
      referencePolicy: { type: 'Local' },
    });
  });
});

describe('isctl import-image: an existing stream', () => {
  it('re-imports a tag: a moved remote tag moves it, an unchanged one adds no history entry', async () => {
    const first = await pushImage(reg, 'moving/app', 'latest', { label: 'mv-1' });
    await cli.ok([
      'import-image',
      'mv',
      '--from',
      `${reg.host}/moving/app:latest`,
      '--insecure',
      '--confirm',
    ]);
    expect(await top('mv:latest')).toBe(first);
    const rv = (await api.get(IS('imp', 'mv'))).body.metadata.resourceVersion;

    // nothing changed remotely: no write, no history entry
    const again = await cli.ok(['import-image', 'mv']);
    expect(again).toContain(`  digest:    ${first}\n`);
    expect(await historyTotal('mv:latest')).toBe(1);
    expect((await api.get(IS('imp', 'mv'))).body.metadata.resourceVersion).toBe(rv);

    // the remote tag moved: a dry run shows it and changes nothing, the import moves the tag
    const second = await pushImage(reg, 'moving/app', 'latest', { label: 'mv-2' });
    expect(await cli.ok(['import-image', 'mv', '--dry-run'])).toContain(`  digest:    ${second}\n`);
    expect(await top('mv:latest')).toBe(first);
    await cli.ok(['import-image', 'mv:latest']);
    expect(await top('mv:latest')).toBe(second);
    expect(await historyTotal('mv:latest')).toBe(2);
  });

  it('follows aliases to the tag that imports, and keeps its import policy', async () => {
    const from = `${reg.host}/tiny/app:oci`;
    expect((await api.post(IS('imp'), { metadata: { name: 'other' } })).status).toBe(201);
    expect(
      (
        await api.post(IS('imp'), {
          metadata: { name: 'al' },
          spec: {
            tags: [
              { name: 'src', from: { kind: 'DockerImage', name: from }, importPolicy: { insecure: true } },
              { name: 'latest', from: { kind: 'ImageStreamTag', name: 'al:mid' } },
              { name: 'mid', from: { kind: 'ImageStreamTag', name: 'src' } },
              { name: 'loop1', from: { kind: 'ImageStreamTag', name: 'loop2' } },
              { name: 'loop2', from: { kind: 'ImageStreamTag', name: 'loop1' } },
              { name: 'cross', from: { kind: 'ImageStreamTag', name: 'other:1' } },
            ],
          },
        })
      ).status,
    ).toBe(201);
    // no --insecure: the tag's own insecure policy is kept (the registry is plain HTTP)
    const out = await cli.ok(['import-image', 'al']);
    expect(out).toContain(`\nsrc\n  tagged from ${from}\n  digest:    ${content.digests.oci}\n`);
    expect(await top('al:src')).toBe(content.digests.oci);
    expect(await top('al:latest')).toBe(content.digests.oci);

    const loop = await cli.run(['import-image', 'al:loop1']);
    expect(loop.code).toBe(1);
    expect(loop.stderr).toBe('error: tag "loop1" on the image stream is a reference to same tag\n');
    const cross = await cli.run(['import-image', 'al:cross']);
    expect(cross.code).toBe(1);
    expect(cross.stderr).toBe('error: tag "cross" points to an imagestreamtag from another ImageStream\n');
    const other = await cli.run(['import-image', 'al:latest', '--from', `${reg.host}/tiny/app:arm64`]);
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(
      `error: the tag "latest" points to the tag "src" which points to "${from}" - use the 'isctl tag' command if you want to change the source to "${reg.host}/tiny/app:arm64"\n`,
    );
    const missing = await cli.run(['import-image', 'al:nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `error: the tag "nope" does not exist on the image stream - choose an existing tag to import or use the 'isctl tag' command to create a new tag\n`,
    );
  });

  it('refuses tags that do not import from a registry', async () => {
    await cli.ok(['tag', `app@${content.digests.v2s2}`, 'app:pinned']);
    const r = await cli.run(['import-image', 'app:pinned']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: tag "pinned" points to existing ImageStreamImage "app@${content.digests.v2s2}", it cannot be re-imported\n`,
    );
  });

  it('a tag missing in the registry: exit 1, the failure printed, the stream keeps serving the old image', async () => {
    const r = await cli.run([
      'import-image',
      'fresh:nope',
      '--from',
      `${reg.host}/tiny/app:nope`,
      '--insecure',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^imagestream\.image\.openshift\.io\/fresh imported with errors\n/);
    expect(r.stdout).toContain('Tags:\t\t\t0 imported');
    expect(r.stderr).toBe(
      `error: tag nope failed: dockerimage.image.openshift.io "${reg.host}/tiny/app:nope" not found\nerror: imported completed with errors\n`,
    );
    const status = (await api.get(IS('imp', 'fresh'))).body.status.tags.find(
      (t: { tag: string }) => t.tag === 'nope',
    );
    expect(status.conditions[0]).toMatchObject({
      type: 'ImportSuccess',
      status: 'False',
      reason: 'NotFound',
    });
    expect(await top('fresh:1')).toBe(content.digests.oci);
  });
});

describe('isctl import-image: a stream that changes meanwhile', () => {
  it('sends the resourceVersion it read; on 409 reads the stream again and retries, at most three times', async () => {
    await cli.ok(['import-image', 'busy', '--from', `${reg.host}/tiny/app:oci`, '--insecure', '--confirm']);
    // a proxy that changes the stream (a label) just before each import request reaches the server
    let conflicts = 0;
    const seen: string[] = [];
    const proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      if (req.method === 'POST' && req.url?.endsWith('/imagestreamimports')) {
        seen.push(JSON.parse(body!.toString()).metadata.resourceVersion);
        if (conflicts > 0) {
          conflicts--;
          await api.patch(IS('imp', 'busy'), { metadata: { labels: { poke: String(Date.now()) } } });
        }
      }
      const upstream = await fetch(api.url + req.url, {
        method: req.method!,
        headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
        ...(body ? { body } : {}),
      });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const server = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      conflicts = 2;
      const out = await cli.ok(['import-image', 'busy', '--server', server]);
      expect(out).toMatch(/^imagestream\.image\.openshift\.io\/busy imported\n/);
      expect(seen).toHaveLength(3);
      expect(new Set(seen).size).toBe(3);
      const rv = (await api.get(IS('imp', 'busy'))).body.metadata.resourceVersion;
      expect(seen[2]).toBe(rv);

      seen.length = 0;
      conflicts = 3;
      const r = await cli.run(['import-image', 'busy', '--server', server]);
      expect(r.code).toBe(1);
      expect(seen).toHaveLength(3);
      expect(r.stderr).toContain(
        'Error from server (Conflict): Operation cannot be fulfilled on imagestream.image.openshift.io "busy": the image stream was updated from',
      );
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('isctl import-image --all', () => {
  it('imports a whole repository with progress on stderr, a line per tag and a count', async () => {
    const from = `${reg.host}/many/app`;
    const r = await cli.run(['import-image', 'many', '--all', '--from', from, '--insecure', '--confirm']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('Reading imagestream imp/many…');
    expect(lines[1]).toBe(
      `Importing all tags of ${from} into a new imagestream imp/many; the server imports them in one request…`,
    );
    expect(lines[2]).toMatch(/^Import request finished after \d+\.\ds$/);
    expect(lines.slice(3, 7).sort()).toEqual([
      'tag 1.0 imported',
      'tag 1.1 imported',
      'tag edge imported',
      'tag latest imported',
    ]);
    expect(lines[7]).toBe('imported 4 of 4 tags');
    expect(lines).toHaveLength(8);
    expect(r.stdout).toMatch(/^imagestream\.image\.openshift\.io\/many imported\n/);
    for (const [tag, d] of Object.entries(many)) {
      expect(r.stdout).toContain(
        `\n${tag}\n  tagged from ${from}:${tag}\n  digest:    ${d}\n  pull spec: ${from}@${d}\n`,
      );
      expect(await top(`many:${tag}`)).toBe(d);
    }

    // an existing stream: another repository needs --confirm
    const change = await cli.run([
      'import-image',
      'many',
      '--all',
      '--from',
      `${reg.host}/tiny/app`,
      '--insecure',
    ]);
    expect(change.code).toBe(1);
    expect(change.stderr).toContain(
      'error: the image stream does not currently import an entire Docker repository, pass --confirm to update',
    );
  });

  it('without a repository, re-imports every tag that imports from a registry, each on its line', async () => {
    const r = await cli.run(['import-image', 'fresh', '--all']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Importing 2 tags imported from registries into imagestream imp/fresh;');
    expect(r.stderr).toContain('tag 1 imported\n');
    expect(r.stderr).toContain(
      `tag nope failed: dockerimage.image.openshift.io "${reg.host}/tiny/app:nope" not found\n`,
    );
    expect(r.stderr).toContain('imported 1 of 2 tags\nerror: imported completed with errors\n');
  });

  it('a repository that does not exist: exit 1 with the registry’s answer', async () => {
    const r = await cli.run([
      'import-image',
      'ghost',
      '--all',
      '--from',
      `${reg.host}/no/such`,
      '--insecure',
      '--confirm',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^imagestream\.image\.openshift\.io\/ghost imported with errors\n/);
    expect(r.stderr).toContain(`error: repository ${reg.host}/no/such failed: `);
    expect(r.stderr).toContain('imported 0 of 0 tags\n');
  });

  it('on a terminal, shows a spinner with the elapsed time while the server works', async () => {
    const r = await onTerminal([
      'import-image',
      'tty',
      '--all',
      '--from',
      `${reg.host}/many/app`,
      '--insecure',
      '--confirm',
    ]);
    expect(r.code, r.stdout).toBe(0);
    // each frame is drawn over the last: carriage return, erase the line, spinner, text, elapsed time
    expect(r.stdout).toContain('\r\u001b[K⠋ Importing all tags of ');
    expect(r.stdout).toMatch(
      /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Importing all tags of \S+ into a new imagestream imp\/tty; .* \d+\.\ds/,
    );
    expect(r.stdout).toContain('imported 4 of 4 tags');
    expect(await top('tty:edge')).toBe(many.edge);
  });
});

describe('isctl import-image: usage errors (exit 2)', () => {
  it('refuses digests, a tag with --all, unknown modes and policies, and no name', async () => {
    await usageError(
      ['import-image', `app@${content.digests.oci}`],
      "to import images by ID, use the 'isctl tag' command",
    );
    await usageError(['import-image', 'app:1', '--all'], 'cannot specify a tag "app:1" as well as --all');
    await usageError(
      ['import-image', 'app', '--import-mode', 'Whole'],
      'valid ImportMode values are Legacy or PreserveOriginal',
    );
    await usageError(
      ['import-image', 'app', '--reference-policy', 'pull'],
      'valid reference policy values are source or local',
    );
    await usageError(['import-image'], 'you must specify the name of an image stream');
    await usageError(
      ['import-image', 'App'],
      'the image name must be a valid container image pull spec or reference to an image stream (e.g. myregistry/myteam/image:tag)',
    );
  });
});

/** Runs isctl under `script`, which gives it a pseudo-terminal (stdout and stderr both arrive on stdout). */
function onTerminal(args: string[]): Promise<CliResult> {
  const quoted = [process.execPath, cli.bin, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    execFile(
      'script',
      ['-qec', quoted, '/dev/null'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: cli.dir,
          XDG_CONFIG_HOME: join(cli.dir, 'config'),
          TERM: 'xterm',
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
