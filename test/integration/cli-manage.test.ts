import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { Cli, type CliResult } from '../support/cli';
import { eventually } from '../support/eventually';
import { ADMIN_TOKEN, type Api, IS, startStack } from '../support/local-stack';
import { PASSWORD, pushImage, type Registry, startRegistry, USER } from '../support/registries';
import { tableText } from '../support/table-text';

/**
 * isctl apply / create / delete, secrets, policy and completion, through the bundled CLI as its own process
 * against the local stack, with real loopback registries (anonymous and htpasswd) for the imports.
 */

const RB = (ns: string, name = '') =>
  `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings${name ? `/${encodeURIComponent(name)}` : ''}`;
const SECRETS = (ns: string, name = '') => `/api/v1/namespaces/${ns}/secrets${name ? `/${name}` : ''}`;

let api: Api;
let stop: () => Promise<void>;
let table: string;
let anon: Registry;
let basic: Registry;
let anonDigest: string;
let basicDigest: string;
let cli: Cli;

beforeAll(async () => {
  [anon, basic] = await Promise.all([startRegistry('anonymous'), startRegistry('htpasswd')]);
  [anonDigest, basicDigest] = await Promise.all([
    pushImage(anon, 'tiny/app', 'v1'),
    pushImage(basic, 'private/app', 'v1'),
  ]);
  ({ api, stop, table } = await startStack({
    LOCAL_TOKENS: JSON.stringify({
      'bob-token': { user: 'bob', groups: [] },
      'dana-token': { user: 'dana', groups: ['auditors'] },
    }),
  }));
  cli = new Cli();
  await cli.ok(['login', '--server', api.url, '--token', ADMIN_TOKEN]);
  for (const p of ['p2', 'sec', 'pol']) await cli.ok(['new-project', p, '--skip-config-write']);
  await cli.ok(['new-project', 'p1']);
}, 120_000);

afterAll(async () => {
  await stop?.();
  await Promise.all([anon?.stop(), basic?.stop()]);
  cli?.cleanup();
});

/** A manifest file in the CLI's temp dir. */
function file(name: string, text: string): string {
  const path = join(cli.dir, name);
  writeFileSync(path, text);
  return path;
}

/** `isctl <args>` with `input` on stdin (the test support's Cli has no stdin). */
function runWithStdin(args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli.bin, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: cli.dir,
        XDG_CONFIG_HOME: join(cli.dir, 'config'),
        NO_COLOR: '1',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

const lines = (s: string) => s.trim().split('\n').filter(Boolean);

async function stream(ns: string, name: string) {
  const res = await api.get(IS(ns, name));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}
const specTag = (s: any, name: string) => s.spec.tags.find((t: any) => t.name === name);

function streamsYaml(pinned: string) {
  // As OpenShift writes them (oc get is -o yaml): server fields, generations, status, nulls.
  return `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: base
  labels:
    team: a
  creationTimestamp: "2025-01-01T00:00:00Z"
  generation: 3
  resourceVersion: "12345"
  uid: 0b7c4f0e-0000-0000-0000-000000000000
spec:
  lookupPolicy:
    local: false
  tags:
  - name: latest
    annotations: null
    from:
      kind: DockerImage
      name: ${anon.host}/tiny/app:v1
    generation: 2
    importPolicy:
      insecure: true
      scheduled: true
    referencePolicy:
      type: Source
status:
  dockerImageRepository: ""
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: app
  annotations:
    description: the app
spec:
  tags:
  - name: prod
    from:
      kind: ImageStreamTag
      name: base:latest
    referencePolicy:
      type: Local
  - name: pinned
    from:
      kind: DockerImage
      name: ${pinned}
    reference: true
---
`;
}

describe('apply', () => {
  it('creates streams from OpenShift YAML, is unchanged on a second run, configures what the file changed', async () => {
    const path = file('streams.yaml', streamsYaml('quay.io/x/y:1'));
    const first = await cli.run(['apply', '-f', path]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(lines(first.stdout)).toEqual([
      'imagestream.image.openshift.io/base created',
      'imagestream.image.openshift.io/app created',
    ]);
    const base = await stream('p1', 'base');
    expect(base.metadata.labels).toEqual({ team: 'a' });
    expect(specTag(base, 'latest')).toMatchObject({
      from: { kind: 'DockerImage', name: `${anon.host}/tiny/app:v1` },
      importPolicy: { insecure: true, scheduled: true },
    });
    const app = await stream('p1', 'app');
    expect(specTag(app, 'prod')).toMatchObject({
      from: { kind: 'ImageStreamTag', name: 'base:latest' },
      referencePolicy: { type: 'Local' },
    });
    expect(specTag(app, 'pinned')).toMatchObject({ reference: true, from: { name: 'quay.io/x/y:1' } });

    // The scheduled tag is imported by the server, which writes annotations, status and generations.
    await eventually(async () => {
      const s = await stream('p1', 'base');
      return s.status.tags?.find((t: any) => t.tag === 'latest')?.items?.[0]?.image === anonDigest
        ? s
        : undefined;
    }, 'the import of base:latest');
    const before = await stream('p1', 'base');
    expect(before.metadata.annotations['openshift.io/image.dockerRepositoryCheck']).toBeTruthy();
    const appBefore = await stream('p1', 'app');

    const again = await cli.run(['apply', '-f', path]);
    expect(again.code, again.stderr).toBe(0);
    expect(lines(again.stdout)).toEqual([
      'imagestream.image.openshift.io/base unchanged',
      'imagestream.image.openshift.io/app unchanged',
    ]);
    expect((await stream('p1', 'base')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect((await stream('p1', 'app')).metadata.resourceVersion).toBe(appBefore.metadata.resourceVersion);

    file('streams.yaml', streamsYaml('quay.io/x/y:2'));
    const edited = await cli.run(['apply', '-f', path]);
    expect(edited.code, edited.stderr).toBe(0);
    expect(lines(edited.stdout)).toEqual([
      'imagestream.image.openshift.io/base unchanged',
      'imagestream.image.openshift.io/app configured',
    ]);
    const appAfter = await stream('p1', 'app');
    expect(specTag(appAfter, 'pinned').from.name).toBe('quay.io/x/y:2');
    expect(specTag(appAfter, 'prod').from).toMatchObject({ kind: 'ImageStreamTag', name: 'base:latest' });
    expect(appAfter.metadata.annotations.description).toBe('the app');
  });

  it('keeps what others added, removes what the file dropped (last-applied configuration)', async () => {
    const path = file(
      'merge.yaml',
      `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: merge
  labels: {owner: file, gone: soon}
spec:
  tags:
  - {name: a, from: {kind: DockerImage, name: quay.io/x/a:1}, reference: true}
  - {name: b, from: {kind: DockerImage, name: quay.io/x/b:1}, reference: true}
`,
    );
    await cli.ok(['apply', '-f', path]);
    // Someone else adds a tag and a label.
    const live = await stream('p1', 'merge');
    live.spec.tags.push({
      name: 'theirs',
      from: { kind: 'DockerImage', name: 'quay.io/x/t:1' },
      reference: true,
    });
    live.metadata.labels.other = 'kept';
    expect((await api.put(IS('p1', 'merge'), live)).status).toBe(200);

    file(
      'merge.yaml',
      `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: merge
  labels: {owner: file}
spec:
  tags:
  - {name: a, from: {kind: DockerImage, name: quay.io/x/a:2}, reference: true}
`,
    );
    expect(lines(await cli.ok(['apply', '-f', path]))).toEqual([
      'imagestream.image.openshift.io/merge configured',
    ]);
    const after = await stream('p1', 'merge');
    expect(after.spec.tags.map((t: any) => t.name).sort()).toEqual(['a', 'theirs']);
    expect(specTag(after, 'a').from.name).toBe('quay.io/x/a:2');
    expect(after.metadata.labels).toEqual({ owner: 'file', other: 'kept' });
    expect(lines(await cli.ok(['apply', '-f', path]))).toEqual([
      'imagestream.image.openshift.io/merge unchanged',
    ]);
  });

  it('reads JSON, kind: List, directories and stdin; ImageStreamTags and RoleBindings too', async () => {
    const dir = join(cli.dir, 'manifests');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'a.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'ImageStream',
            metadata: { name: 'listed' },
            spec: {
              tags: [{ name: 't', from: { kind: 'DockerImage', name: 'quay.io/x/l:1' }, reference: true }],
            },
          },
        ],
      }),
    );
    writeFileSync(
      join(dir, 'b.yml'),
      `apiVersion: image.openshift.io/v1
kind: ImageStreamTag
metadata:
  name: listed:extra
tag:
  from: {kind: DockerImage, name: quay.io/x/e:1}
  reference: true
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: viewers
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: dana}
`,
    );
    writeFileSync(join(dir, 'ignored.txt'), 'not a manifest');
    expect(lines(await cli.ok(['apply', '-f', dir]))).toEqual([
      'imagestream.image.openshift.io/listed created',
      'imagestreamtag.image.openshift.io/listed:extra created',
      'rolebinding.rbac.authorization.k8s.io/viewers created',
    ]);
    expect(specTag(await stream('p1', 'listed'), 'extra').from.name).toBe('quay.io/x/e:1');
    expect(lines(await cli.ok(['apply', '-f', dir]))).toEqual([
      'imagestream.image.openshift.io/listed unchanged',
      'imagestreamtag.image.openshift.io/listed:extra unchanged',
      'rolebinding.rbac.authorization.k8s.io/viewers unchanged',
    ]);

    // The same binding from stdin with one more subject; the tag moved.
    const viaStdin = await runWithStdin(
      ['apply', '-f', '-'],
      `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: dana}
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: auditors}
---
apiVersion: image.openshift.io/v1
kind: ImageStreamTag
metadata: {name: "listed:extra"}
tag: {from: {kind: DockerImage, name: quay.io/x/e:2}, reference: true}
`,
    );
    expect(viaStdin.code, viaStdin.stderr).toBe(0);
    expect(lines(viaStdin.stdout)).toEqual([
      'rolebinding.rbac.authorization.k8s.io/viewers configured',
      'imagestreamtag.image.openshift.io/listed:extra configured',
    ]);
    const rb = await api.get(RB('p1', 'viewers'));
    expect(rb.body.subjects.map((s: any) => `${s.kind}/${s.name}`)).toEqual(['User/dana', 'Group/auditors']);
    expect(specTag(await stream('p1', 'listed'), 'extra').from.name).toBe('quay.io/x/e:2');
  });

  it('sends each object to its metadata.namespace; a different explicit -n is an error and writes nothing', async () => {
    const path = file(
      'ns.yaml',
      `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: here}
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: there, namespace: p2}
`,
    );
    const mismatch = await cli.run(['apply', '-f', path, '-n', 'p1']);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain(
      `the namespace from the provided object "p2" does not match the namespace "p1". You must pass '--namespace=p2' to perform this operation.`,
    );
    expect(mismatch.stdout).toBe('');
    expect((await api.get(IS('p1', 'here'))).status).toBe(404);

    expect(lines(await cli.ok(['apply', '-f', path]))).toEqual([
      'imagestream.image.openshift.io/here created',
      'imagestream.image.openshift.io/there created',
    ]);
    expect((await api.get(IS('p1', 'here'))).status).toBe(200);
    expect((await api.get(IS('p2', 'there'))).status).toBe(200);
    expect((await api.get(IS('p1', 'there'))).status).toBe(404);
  });

  it('invalid YAML: a clear error naming file, line and column; nothing is written', async () => {
    const path = file(
      'broken.yaml',
      `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: never}
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: never2
spec:
  tags: [ {name: a
  from: x
`,
    );
    for (const verb of ['apply', 'create']) {
      const r = await cli.run([verb, '-f', path]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        new RegExp(`^error: error parsing ${path.replace(/[.]/g, '\\.')}: line \\d+, column \\d+: `),
      );
    }
    expect((await api.get(IS('p1', 'never'))).status).toBe(404);
    expect((await api.get(IS('p1', 'never2'))).status).toBe(404);

    const unknown = file('unknown.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n');
    const r = await cli.run(['apply', '-f', unknown]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no matches for kind "Deployment" in version "apps/v1"');
    const missing = await cli.run(['apply', '-f', join(cli.dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
    expect((await cli.run(['apply'])).code).toBe(2);
  });

  it('an object the server refuses: exit 1 with its field paths, the other objects still applied', async () => {
    const path = file(
      'mixed.yaml',
      `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: good1}
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: bad}
spec:
  tags:
  - name: t
    from: {kind: ImageStreamTag, name: "good1:latest"}
    importPolicy: {scheduled: true}
  - name: u
    from: {kind: Image, name: whatever}
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: good2}
`,
    );
    const r = await cli.run(['apply', '-f', path]);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toEqual([
      'imagestream.image.openshift.io/good1 created',
      'imagestream.image.openshift.io/good2 created',
    ]);
    expect(r.stderr).toContain(
      `Error from server (Invalid): error when applying "${path}": ImageStream.image.openshift.io "bad" is invalid:`,
    );
    expect(r.stderr).toContain('* spec.tags[t].importPolicy.scheduled: ');
    expect(r.stderr).toContain('* spec.tags[u].from.kind: ');
    expect((await api.get(IS('p1', 'bad'))).status).toBe(404);
    expect((await api.get(IS('p1', 'good2'))).status).toBe(200);
  });
});

describe('create and delete', () => {
  it('create: AlreadyExists is an error (exit 1), the other objects are created', async () => {
    const path = file(
      'create.yaml',
      `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: good1}
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: fresh}
spec:
  tags: [{name: x, from: {kind: DockerImage, name: quay.io/x/f:1}, reference: true}]
`,
    );
    const r = await cli.run(['create', '-f', path]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe('imagestream.image.openshift.io/fresh created');
    expect(r.stderr.trim()).toBe(
      `Error from server (AlreadyExists): error when creating "${path}": imagestreams.image.openshift.io "good1" already exists`,
    );
    expect(specTag(await stream('p1', 'fresh'), 'x').from.name).toBe('quay.io/x/f:1');
  });

  it('delete -f and delete TYPE NAME…, with --ignore-not-found', async () => {
    const path = file(
      'del.yaml',
      `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: del1}
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: del2}
`,
    );
    await cli.ok(['create', '-f', path]);
    expect(lines(await cli.ok(['delete', '-f', path]))).toEqual([
      'imagestream.image.openshift.io "del1" deleted',
      'imagestream.image.openshift.io "del2" deleted',
    ]);
    expect((await api.get(IS('p1', 'del1'))).status).toBe(404);
    const again = await cli.run(['delete', '-f', path]);
    expect(again.code).toBe(1);
    expect(lines(again.stderr)).toEqual([
      `Error from server (NotFound): error when deleting "${path}": imagestreams.image.openshift.io "del1" not found`,
      `Error from server (NotFound): error when deleting "${path}": imagestreams.image.openshift.io "del2" not found`,
    ]);
    const ignored = await cli.run(['delete', '-f', path, '--ignore-not-found']);
    expect(ignored).toMatchObject({ code: 0, stdout: '', stderr: '' });

    await cli.ok(['create', '-f', path]);
    expect(lines(await cli.ok(['delete', 'is', 'del1', 'del2']))).toEqual([
      'imagestream.image.openshift.io "del1" deleted',
      'imagestream.image.openshift.io "del2" deleted',
    ]);
    expect(lines(await cli.ok(['delete', 'istag/listed:extra', 'rolebinding/viewers']))).toEqual([
      'imagestreamtag.image.openshift.io "listed:extra" deleted',
      'rolebinding.rbac.authorization.k8s.io "viewers" deleted',
    ]);
    expect((await api.get(RB('p1', 'viewers'))).status).toBe(404);
    const partly = await cli.run(['delete', 'is', 'gone', 'fresh']);
    expect(partly.code).toBe(1);
    expect(partly.stdout.trim()).toBe('imagestream.image.openshift.io "fresh" deleted');
    expect(partly.stderr.trim()).toBe(
      'Error from server (NotFound): imagestreams.image.openshift.io "gone" not found',
    );
    expect((await cli.run(['delete', 'pods', 'x'])).code).toBe(2);
    expect((await cli.run(['delete', 'is'])).code).toBe(2);

    await cli.ok(['new-project', 'doomed', '--skip-config-write']);
    expect(await cli.ok(['delete', 'project', 'doomed'])).toBe(
      'project.project.openshift.io "doomed" deleted\n',
    );
  });
});

describe('secrets', () => {
  const AUTH = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  const outputs: CliResult[] = [];
  const db = createDocumentClient({ endpoint: inject('dynamodbEndpoint') });

  /** A raw Scan of the whole table (anyone with read access to it) finds none of the secret material. */
  async function expectTableHoldsNo(...secrets: string[]) {
    const text = await tableText(db, table);
    expect(text).toContain('SEC#sec');
    for (const s of secrets) expect(text).not.toContain(s);
  }
  const record = (r: CliResult) => {
    outputs.push(r);
    return r;
  };

  afterAll(() => {
    db.destroy();
    // No secret material anywhere: not the password, not the auth value, not the config.
    for (const r of outputs) {
      const all = r.stdout + r.stderr;
      expect(all).not.toContain(PASSWORD);
      expect(all).not.toContain(AUTH);
      expect(all).not.toContain('{"auths"');
    }
    expect(outputs.length).toBeGreaterThan(8);
  });

  it('new-dockercfg (password from stdin), list, and an import from an htpasswd registry with it', async () => {
    const created = record(
      await runWithStdin(
        [
          'secrets',
          'new-dockercfg',
          'pull',
          '-n',
          'sec',
          `--docker-server=${basic.host}`,
          `--docker-username=${USER}`,
          '--docker-password-stdin',
        ],
        `${PASSWORD}\n`,
      ),
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe('secret/pull created\n');
    await expectTableHoldsNo(PASSWORD, AUTH, `${USER}:${PASSWORD}`, '"auths"');

    const list = record(await cli.run(['secrets', 'list', '-n', 'sec']));
    expect(list.code).toBe(0);
    expect(lines(list.stdout)[0]).toMatch(/^NAME\s+TYPE\s+AGE$/);
    expect(lines(list.stdout)[1]).toMatch(/^pull\s+kubernetes\.io\/dockerconfigjson\s+\d+s$/);
    for (const o of ['json', 'yaml', 'name'])
      expect(record(await cli.run(['secrets', 'list', '-n', 'sec', '-o', o])).code).toBe(0);

    const dup = record(
      await cli.run([
        'secrets',
        'new-dockercfg',
        'pull',
        '-n',
        'sec',
        `--docker-server=${basic.host}`,
        `--docker-username=${USER}`,
        `--docker-password=${PASSWORD}`,
      ]),
    );
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('Error from server (AlreadyExists): secrets "pull" already exists');
    // A mistyped flag: commander would echo the value; it is redacted.
    const typo = record(
      await cli.run(['secrets', 'new-dockercfg', 'x', '-n', 'sec', `--docker-pasword=${PASSWORD}`]),
    );
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown option '--docker-pasword=<redacted>'");

    // The import of a stream applied now uses the secret; the same stream in a project without it fails.
    const manifest = `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: private}
spec:
  tags:
  - name: v1
    from: {kind: DockerImage, name: ${basic.host}/private/app:v1}
    importPolicy: {insecure: true}
`;
    const path = file('private.yaml', manifest);
    record(await cli.run(['apply', '-f', path, '-n', 'sec']));
    record(await cli.run(['apply', '-f', path, '-n', 'p2']));
    const imported = await eventually(async () => {
      const s = (await api.get(IS('sec', 'private'))).body;
      return s.status?.tags?.find((t: any) => t.tag === 'v1')?.items?.[0];
    }, 'the import with the secret');
    expect(imported.image).toBe(basicDigest);
    const denied = await eventually(async () => {
      const s = (await api.get(IS('p2', 'private'))).body;
      return s.status?.tags?.find((t: any) => t.tag === 'v1')?.conditions?.[0];
    }, 'the failed import without it');
    expect(denied.reason).toBe('Unauthorized');
  });

  it('create --from-file, apply of Secret manifests, delete; bad files are refused without quoting them', async () => {
    const config = file('config.json', JSON.stringify({ auths: { [basic.host]: { auth: AUTH } } }));
    const fromFile = record(
      await cli.run(['secrets', 'create', 'fromfile', '-n', 'sec', `--from-file=${config}`]),
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toBe('secret/fromfile created\n');
    expect((await api.get(SECRETS('sec', 'fromfile'))).body.type).toBe('kubernetes.io/dockerconfigjson');

    const broken = file('broken.json', `{"auths": {"${basic.host}": {"auth": "${AUTH}"}`);
    const bad = record(await cli.run(['secrets', 'create', 'broken', '-n', 'sec', `--from-file=${broken}`]));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`error: ${broken} is not a Docker config: it is not valid JSON\n`);
    const helper = file('helper.json', JSON.stringify({ auths: {}, credsStore: 'desktop' }));
    const h = record(await cli.run(['secrets', 'create', 'helper', '-n', 'sec', `--from-file=${helper}`]));
    expect(h.code).toBe(1);
    expect(h.stderr).toContain('credential helper');

    const secretYaml = (password: string) => `apiVersion: v1
kind: Secret
metadata: {name: applied, labels: {app: ci}}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths": {"${basic.host}": {"username": "${USER}", "password": "${password}"}}}'
`;
    const path = file('secret.yaml', secretYaml(PASSWORD));
    const a1 = record(await cli.run(['apply', '-f', path, '-n', 'sec']));
    expect(a1.stdout).toBe('secret/applied created\n');
    const uid = (await api.get(SECRETS('sec', 'applied'))).body.metadata.uid;
    // The content is never readable, so an existing secret is always replaced in place (PUT: same uid, next
    // resourceVersion, never a moment without it), and nothing about its content is kept anywhere else.
    file('secret.yaml', secretYaml(`${PASSWORD}-rotated`));
    const a2 = record(await cli.run(['apply', '-f', path, '-n', 'sec']));
    expect(a2.stdout).toBe('secret/applied configured\n');
    const after = (await api.get(SECRETS('sec', 'applied'))).body.metadata;
    expect(after.uid).toBe(uid);
    expect(after.resourceVersion).toBe('2');
    expect(JSON.stringify(after.annotations ?? {})).not.toMatch(/fingerprint|scrypt/);
    await expectTableHoldsNo(PASSWORD, AUTH, `${PASSWORD}-rotated`, '"auths"');

    // A server-side refusal of a secret names the field, never the content.
    const invalid = file(
      'invalid-secret.yaml',
      `apiVersion: v1
kind: Secret
metadata: {name: invalid}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths": {"${basic.host}": {"password": "${PASSWORD}"}}}'
`,
    );
    const inv = record(await cli.run(['create', '-f', invalid, '-n', 'sec']));
    expect(inv.code).toBe(1);
    expect(inv.stderr).toContain('data[.dockerconfigjson]');

    const del = record(await cli.run(['secrets', 'delete', 'fromfile', 'applied', '-n', 'sec']));
    expect(del.stdout).toBe('secret "fromfile" deleted\nsecret "applied" deleted\n');
    const gone = record(await cli.run(['secrets', 'delete', 'fromfile', '-n', 'sec']));
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('Error from server (NotFound): secrets "fromfile" not found');
    expect(
      record(await cli.run(['secrets', 'delete', 'fromfile', '-n', 'sec', '--ignore-not-found'])).code,
    ).toBe(0);
  });
});

describe('policy', () => {
  const bob = () => api.as('bob-token');

  it('add-role-to-user grants, is idempotent, reuses or names bindings like oc; remove takes it away', async () => {
    expect((await bob().get(IS('pol'))).status).toBe(403);
    const add = await cli.run(['policy', 'add-role-to-user', 'view', 'bob', '-n', 'pol']);
    expect(add).toMatchObject({
      code: 0,
      stdout: 'clusterrole.rbac.authorization.k8s.io/view added: "bob"\n',
    });
    expect((await bob().get(IS('pol'))).status).toBe(200);
    const binding = (await api.get(RB('pol', 'view'))).body;
    expect(binding.subjects).toEqual([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'bob' }]);

    // Again: same output, no write.
    expect(await cli.ok(['policy', 'add-role-to-user', 'view', 'bob', '-n', 'pol'])).toBe(
      'clusterrole.rbac.authorization.k8s.io/view added: "bob"\n',
    );
    expect((await api.get(RB('pol', 'view'))).body.metadata.resourceVersion).toBe(
      binding.metadata.resourceVersion,
    );

    // More subjects go into the same binding; a group too.
    expect(await cli.ok(['policy', 'add-role-to-user', 'view', 'carol', 'bob', 'erin', '-n', 'pol'])).toBe(
      'clusterrole.rbac.authorization.k8s.io/view added: ["carol" "bob" "erin"]\n',
    );
    expect(await cli.ok(['policy', 'add-role-to-group', 'view', 'auditors', '-n', 'pol'])).toBe(
      'clusterrole.rbac.authorization.k8s.io/view added: "auditors"\n',
    );
    expect((await api.get(RB('pol', 'view'))).body.subjects.map((s: any) => `${s.kind}/${s.name}`)).toEqual([
      'User/bob',
      'User/carol',
      'User/erin',
      'Group/auditors',
    ]);
    expect((await api.as('dana-token').get(IS('pol'))).status).toBe(200);

    // A binding named after the role but for another role: the new one is edit-0.
    expect(
      (
        await api.post(RB('pol'), {
          metadata: { name: 'edit' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'system:image-puller',
          },
          subjects: [{ kind: 'User', name: 'zed' }],
        })
      ).status,
    ).toBe(201);
    await cli.ok(['policy', 'add-role-to-user', 'edit', 'bob', '-n', 'pol']);
    expect((await api.get(RB('pol', 'edit-0'))).body).toMatchObject({
      roleRef: { name: 'edit' },
      subjects: [{ kind: 'User', name: 'bob' }],
    });
    const wrong = await cli.run([
      'policy',
      'add-role-to-user',
      'view',
      'bob',
      '--rolebinding-name=edit',
      '-n',
      'pol',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe('error: rolebinding edit found for role system:image-puller, not view\n');
    await cli.ok([
      'policy',
      'add-role-to-user',
      'view',
      'frank',
      '--rolebinding-name=team-view',
      '-n',
      'pol',
    ]);
    expect((await api.get(RB('pol', 'team-view'))).body.subjects[0].name).toBe('frank');

    // Removal: from every binding of the role; an emptied binding is deleted.
    expect(await cli.ok(['policy', 'remove-role-from-user', 'view', 'bob', 'frank', '-n', 'pol'])).toBe(
      'clusterrole.rbac.authorization.k8s.io/view removed: ["bob" "frank"]\n',
    );
    expect((await api.get(RB('pol', 'team-view'))).status).toBe(404);
    expect((await api.get(RB('pol', 'view'))).body.subjects.map((s: any) => s.name)).toEqual([
      'carol',
      'erin',
      'auditors',
    ]);
    // bob still edits through edit-0; taking that away too leaves him nothing.
    expect((await bob().get(IS('pol'))).status).toBe(200);
    await cli.ok(['policy', 'remove-role-from-user', 'edit', 'bob', '-n', 'pol']);
    expect((await bob().get(IS('pol'))).status).toBe(403);
    expect((await api.get(RB('pol', 'edit-0'))).status).toBe(404);

    const none = await cli.run(['policy', 'remove-role-from-user', 'view', 'bob', '-n', 'pol']);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe(
      'error: user "bob" has no role binding for role "view" in project "pol"; nothing to remove\n',
    );
    expect(await cli.ok(['policy', 'remove-role-from-group', 'view', 'auditors', '-n', 'pol'])).toBe(
      'clusterrole.rbac.authorization.k8s.io/view removed: "auditors"\n',
    );
  });

  it('the server checks roles and who may grant them', async () => {
    const bad = await cli.run(['policy', 'add-role-to-user', 'superuser', 'bob', '-n', 'pol']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Error from server (Invalid)');
    expect(bad.stderr).toContain('roleRef.name: Unsupported value: "superuser"');
    const asBob = await cli.run([
      'policy',
      'add-role-to-user',
      'admin',
      'bob',
      '-n',
      'pol',
      '--token',
      'bob-token',
    ]);
    expect(asBob.code).toBe(1);
    expect(asBob.stderr).toContain('Error from server (Forbidden)');
  });
});

describe('completion', () => {
  /** Runs bash with the generated script sourced, completing `words` (the last one is the word being typed). */
  function complete(script: string, words: string[], env: Record<string, string> = {}): Promise<string[]> {
    const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _isctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return new Promise((resolve, reject) => {
      execFile(
        'bash',
        ['--norc', '--noprofile', '-c', program, 'bash', script, ...words],
        {
          env: {
            PATH: `${join(cli.dir, 'bin')}:${process.env.PATH}`,
            HOME: cli.dir,
            XDG_CONFIG_HOME: join(cli.dir, 'config'),
            ...env,
          },
        },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(lines(stdout)),
      );
    });
  }

  it('bash: a valid script that completes commands, flags, resource types and names', async () => {
    const script = file('isctl.bash', await cli.ok(['completion', 'bash']));
    await new Promise<void>((resolve, reject) =>
      execFile('bash', ['-n', script], (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve())),
    );
    // An isctl on PATH, as an installed one would be (names come from the CLI itself).
    mkdirSync(join(cli.dir, 'bin'), { recursive: true });
    const wrapper = join(cli.dir, 'bin', 'isctl');
    writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${cli.bin}" "$@"\n`);
    chmodSync(wrapper, 0o755);

    expect(await complete(script, ['isctl', 'get', ''])).toEqual(
      expect.arrayContaining(['is', 'istag', 'isimage', 'imagestreams']),
    );
    expect(await complete(script, ['isctl', '-n', 'p1', 'delete', ''])).toEqual(
      expect.arrayContaining(['is', 'istag', 'secret', 'rolebinding', 'project']),
    );
    expect(await complete(script, ['isctl', 'se'])).toEqual(['secrets']);
    expect(await complete(script, ['isctl', 'secrets', ''])).toEqual([
      'new-dockercfg',
      'create',
      'list',
      'delete',
    ]);
    expect(await complete(script, ['isctl', 'secrets', 'new-dockercfg', '--docker-p'])).toEqual([
      '--docker-password',
      '--docker-password-stdin',
    ]);
    expect(await complete(script, ['isctl', 'policy', 'add-role-to-user', '--role'])).toEqual([
      '--rolebinding-name',
    ]);
    expect(await complete(script, ['isctl', 'get', '--name'])).toEqual(['--namespace']);
    expect(await complete(script, ['isctl', 'get', 'is', '-o', ''])).toEqual([
      'json',
      'yaml',
      'name',
      'wide',
    ]);
    expect(await complete(script, ['isctl', 'apply', '-f', 'x', '-'])).toEqual(
      expect.arrayContaining(['-f', '--filename', '-R', '--recursive', '-n', '--namespace']),
    );
    // Names of existing objects, from the server.
    expect(await complete(script, ['isctl', 'secrets', 'delete', '-n', 'sec', 'p'])).toEqual(['pull']);
    expect(await complete(script, ['isctl', 'delete', 'is', '-n', 'p2', ''])).toEqual(
      expect.arrayContaining(['there', 'private']),
    );
    expect(await complete(script, ['isctl', 'get', 'is', '-n', 'p'])).toEqual(
      expect.arrayContaining(['p1', 'p2']),
    );
  });

  it('zsh gets the same script on bashcompinit; help says how to install; other shells are usage errors', async () => {
    const zsh = await cli.ok(['completion', 'zsh']);
    expect(zsh).toContain('bashcompinit');
    expect(zsh).toContain('complete -o default -F _isctl isctl');
    const script = file('isctl.zsh', zsh);
    await new Promise<void>((resolve, reject) =>
      execFile('bash', ['-n', script], (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve())),
    );
    const help = await cli.ok(['completion', '--help']);
    expect(help).toContain('source <(isctl completion bash)');
    expect(help).toContain('source <(isctl completion zsh)');
    expect((await cli.run(['completion', 'fish'])).code).toBe(2);
  });
});
