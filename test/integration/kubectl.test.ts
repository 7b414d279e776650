import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Cli } from '../support/cli';
import { ADMIN_TOKEN, type Api, IS, mapImage, startStack } from '../support/local-stack';

/**
 * The real kubectl (on PATH) against the local stack over HTTPS, with kubeconfigs `isctl kubeconfig` wrote: the
 * discovery, version and authorization answers kubectl relies on. Each row of KUBECTL_ROWS is one kubectl command
 * and what its output must show, so more commands are one line each.
 */

const TOKENS = {
  'dev-token-0123456789': { user: 'dev', groups: ['developers'] },
  'nobody-token-0123456789': { user: 'nobody', groups: [] },
};

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
let cli: Cli;
const dir = mkdtempSync(join(tmpdir(), 'kubectl-test-'));
const kubeconfigs: Record<'admin' | 'dev' | 'nobody', string> = {
  admin: join(dir, 'admin.kubeconfig'),
  dev: join(dir, 'dev.kubeconfig'),
  nobody: join(dir, 'nobody.kubeconfig'),
};

/** Manifests the rows create from (`kubectl create -f`). */
const manifests = {
  newStream: join(dir, 'new-stream.json'),
  existingStream: join(dir, 'existing-stream.json'),
  applied: join(dir, 'applied.yaml'),
  appliedByOther: join(dir, 'applied-by-other.yaml'),
  appliedWithoutLabel: join(dir, 'applied-without-label.yaml'),
  clientSide: join(dir, 'client-side.yaml'),
  clientSideChanged: join(dir, 'client-side-changed.yaml'),
  clientSideToServerSide: join(dir, 'client-side-to-server-side.yaml'),
  unknownField: join(dir, 'unknown-field.yaml'),
};

/** An ImageStream manifest; `reference: true` tags are never imported, so nothing leaves the machine. */
const streamYaml = (name: string, labels: string, tags: Array<[string, string]>) =>
  `apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: ${name}
${labels ? `  labels:\n    ${labels}\n` : ''}spec:
  tags:
${tags.map(([tag, from]) => `  - name: ${tag}\n    reference: true\n    from:\n      kind: DockerImage\n      name: ${from}\n`).join('')}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with `kubeconfig`, its own discovery cache and HOME, bounded in time. */
function kubectl(args: string[], kubeconfig: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout=20s', ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: stdout.toString(),
          stderr: stderr.toString(),
        }),
    );
  });
}

async function kubectlOk(args: string[], who: keyof typeof kubeconfigs = 'admin'): Promise<string> {
  const r = await kubectl(args, kubeconfigs[who]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  stack = await startStack({ TLS_PORT: '0', LOCAL_TOKENS: JSON.stringify(TOKENS) });
  api = stack.api;
  expect((await api.newProject('x')).status).toBe(201);
  expect((await api.post(IS('x'), { metadata: { name: 'ruby' }, spec: {} })).status).toBe(201);
  expect(
    (
      await api.post('/apis/rbac.authorization.k8s.io/v1/namespaces/x/rolebindings', {
        metadata: { name: 'developers-edit' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
        subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'developers' }],
      })
    ).status,
  ).toBe(201);
  await mapImage(api, 'x', 'ruby', '3.3');
  expect(
    (
      await api.post('/api/v1/namespaces/x/secrets', {
        metadata: { name: 'pull' },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: { '.dockerconfigjson': '{"auths":{"quay.io":{"auth":"dTpw"}}}' },
      })
    ).status,
  ).toBe(201);
  writeFileSync(
    manifests.newStream,
    JSON.stringify({ apiVersion: 'image.openshift.io/v1', kind: 'ImageStream', metadata: { name: 'dry' } }),
  );
  writeFileSync(
    manifests.existingStream,
    JSON.stringify({ apiVersion: 'image.openshift.io/v1', kind: 'ImageStream', metadata: { name: 'ruby' } }),
  );
  writeFileSync(manifests.applied, streamYaml('web', 'tier: gold', [['a', '127.0.0.1:5000/x/web:1']]));
  writeFileSync(
    manifests.appliedByOther,
    streamYaml('web', '', [
      ['a', '127.0.0.1:5000/x/web:2'],
      ['b', '127.0.0.1:5000/x/web:b'],
    ]),
  );
  writeFileSync(manifests.appliedWithoutLabel, streamYaml('web', '', [['a', '127.0.0.1:5000/x/web:2']]));
  writeFileSync(manifests.clientSide, streamYaml('site', 'tier: gold', [['a', '127.0.0.1:5000/x/site:1']]));
  writeFileSync(
    manifests.clientSideChanged,
    streamYaml('site', 'tier: silver', [['a', '127.0.0.1:5000/x/site:2']]),
  );
  writeFileSync(
    manifests.clientSideToServerSide,
    streamYaml('site', 'tier: silver', [['a', '127.0.0.1:5000/x/site:3']]),
  );
  writeFileSync(
    manifests.unknownField,
    'apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata: {name: loose}\nspec:\n  tagz: []\n',
  );
  cli = new Cli();
  const tokens = { admin: ADMIN_TOKEN, dev: 'dev-token-0123456789', nobody: 'nobody-token-0123456789' };
  for (const [who, token] of Object.entries(tokens)) {
    const config = join(dir, `${who}.isctl.json`);
    await cli.ok(['login', '--server', api.url, '--token', token, '--config', config]);
    writeFileSync(
      kubeconfigs[who as keyof typeof kubeconfigs],
      await cli.ok(['kubeconfig', '-n', 'x', '--config', config]),
    );
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  cli?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('isctl kubeconfig', () => {
  it('points at the HTTPS listener with its CA, the login token and the project', async () => {
    const config = parse(await cli.ok(['kubeconfig', '-n', 'x', '--config', join(dir, 'dev.isctl.json')]));
    const port = new URL(stack.service.tlsUrl!).port;
    expect(config.clusters).toEqual([
      {
        name: `127-0-0-1:${port}`,
        cluster: {
          server: `https://127.0.0.1:${port}`,
          'certificate-authority-data': Buffer.from(stack.service.caPem!).toString('base64'),
        },
      },
    ]);
    expect(config.users).toEqual([
      { name: `dev/127-0-0-1:${port}`, user: { token: 'dev-token-0123456789' } },
    ]);
    expect(config.contexts[0].context).toEqual({
      cluster: `127-0-0-1:${port}`,
      user: `dev/127-0-0-1:${port}`,
      namespace: 'x',
    });
    expect(config['current-context']).toBe(config.contexts[0].name);
  });

  it('says how to get HTTPS when the server has none', async () => {
    const plain = await startStack();
    try {
      const config = join(dir, 'plain.isctl.json');
      await cli.ok(['login', '--server', plain.api.url, '--token', ADMIN_TOKEN, '--config', config]);
      const r = await cli.run(['kubeconfig', '--config', config]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('serves no HTTPS');
      expect(r.stderr).toContain('TLS_PORT');
    } finally {
      await plain.stop();
    }
  });
});

describe('discovery over HTTP', () => {
  it('answers any authenticated caller, no anonymous one; health endpoints are open', async () => {
    for (const path of [
      '/api',
      '/api/v1',
      '/apis',
      '/apis/image.openshift.io',
      '/apis/image.openshift.io/v1',
      '/version',
    ]) {
      expect((await api.as('nobody-token-0123456789').get(path)).status, path).toBe(200);
      const anonymous = await api.as(null).get(path);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.body.reason).toBe('Unauthorized');
    }
    for (const path of ['/healthz', '/livez', '/readyz'])
      expect((await api.as(null).get(path)).status).toBe(200);
    const unknown = await api.get('/apis/apps/v1');
    expect(unknown.status).toBe(404);
    expect(unknown.body.kind).toBe('Status');
  });
});

describe('access reviews over HTTP (JSON)', () => {
  const SSAR = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
  const SSRR = '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews';
  const dev = () => api.as('dev-token-0123456789');
  const ask = (resourceAttributes: object) =>
    dev().post(SSAR, {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      spec: { resourceAttributes },
    });

  it('answers a SelfSubjectAccessReview from the rule table, saying why', async () => {
    const yes = await ask({
      namespace: 'x',
      verb: 'update',
      group: 'image.openshift.io',
      resource: 'imagestreams',
    });
    expect(yes.status).toBe(201);
    expect(yes.body).toMatchObject({
      kind: 'SelfSubjectAccessReview',
      status: { allowed: true, reason: 'allowed by role "edit" in project "x"' },
    });
    const deleteProject = { verb: 'delete', group: 'project.openshift.io', resource: 'projects', name: 'x' };
    expect((await ask(deleteProject)).body.status).toEqual({ allowed: false });
    expect((await ask({ ...deleteProject, verb: 'get' })).body.status.allowed).toBe(true);
    const elsewhere = { namespace: 'y', verb: 'get', group: 'image.openshift.io', resource: 'imagestreams' };
    expect((await ask(elsewhere)).body.status.allowed).toBe(false);
    const badNamespace = await ask({ namespace: 'Not_A_Project', verb: 'get', resource: 'secrets' });
    expect(badNamespace.status).toBe(201);
    expect(badNamespace.body.status.allowed).toBe(false);
    const escalate = {
      namespace: 'x',
      verb: 'escalate',
      group: 'rbac.authorization.k8s.io',
      resource: 'roles',
    };
    expect((await ask(escalate)).body.status.allowed).toBe(false);
  });

  it('refuses a review that asks about both or neither kind of attributes (422), and no token (401)', async () => {
    const both = {
      resourceAttributes: { verb: 'get' },
      nonResourceAttributes: { path: '/api', verb: 'get' },
    };
    for (const spec of [{}, both]) {
      const r = await dev().post(SSAR, { kind: 'SelfSubjectAccessReview', spec });
      expect(r.status).toBe(422);
      expect(r.body.details.causes[0].field).toBe('spec.resourceAttributes');
    }
    expect((await api.as(null).post(SSAR, { spec: {} })).status).toBe(401);
    expect((await dev().post(SSRR, { spec: { namespace: 'Bad_Name' } })).status).toBe(422);
  });

  it('lists the rules of a project in a SelfSubjectRulesReview', async () => {
    const r = await dev().post(SSRR, { kind: 'SelfSubjectRulesReview', spec: { namespace: 'x' } });
    expect(r.status).toBe(201);
    expect(r.body.status.incomplete).toBe(false);
    expect(r.body.status.resourceRules).toContainEqual({
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'],
      apiGroups: [''],
      resources: ['secrets'],
    });
    const none = await api.as('nobody-token-0123456789').post(SSRR, { spec: { namespace: 'x' } });
    const groups = none.body.status.resourceRules.flatMap((rule: { apiGroups: string[] }) => rule.apiGroups);
    expect(groups).not.toContain('image.openshift.io');
  });
});

/**
 * One kubectl command per row: who runs it, its exit code (default 0), what it prints on stdout and on stderr (all
 * must appear).
 */
const KUBECTL_ROWS: Array<{
  name: string;
  who?: keyof typeof kubeconfigs;
  args: string[];
  code?: number;
  out?: Array<string | RegExp>;
  err?: Array<string | RegExp>;
  /** What stdout must not show. */
  absent?: string[];
}> = [
  {
    name: 'api-resources shows OpenShift short names, groups, kinds',
    args: ['api-resources'],
    out: [
      /^imagestreams\s+is\s+image\.openshift\.io\/v1\s+true\s+ImageStream$/m,
      /^imagestreamtags\s+istag\s+image\.openshift\.io\/v1\s+true\s+ImageStreamTag$/m,
      /^imagestreamimages\s+isimage\s+image\.openshift\.io\/v1\s+true\s+ImageStreamImage$/m,
      /^secrets\s+v1\s+true\s+Secret$/m,
      /^images\s+image\.openshift\.io\/v1\s+false\s+Image$/m,
      /^imagestreamtaghistories\s+imagestreams\.io\/v1\s+true\s+ImageStreamTagHistory$/m,
      /^projects\s+project\.openshift\.io\/v1\s+false\s+Project$/m,
      /^rolebindings\s+rbac\.authorization\.k8s\.io\/v1\s+true\s+RoleBinding$/m,
    ],
  },
  {
    name: "get all: imagestreams are in OpenShift's category all",
    args: ['get', 'all', '-o', 'name'],
    out: [/^imagestream\.image\.openshift\.io\/ruby$/m],
  },
  {
    name: 'api-versions',
    args: ['api-versions'],
    out: [
      /^image\.openshift\.io\/v1$/m,
      /^imagestreams\.io\/v1$/m,
      /^project\.openshift\.io\/v1$/m,
      /^rbac\.authorization\.k8s\.io\/v1$/m,
      /^user\.openshift\.io\/v1$/m,
      /^v1$/m,
    ],
  },
  {
    name: 'version',
    args: ['version', '-o', 'json'],
    out: [/"serverVersion": \{[^}]*"gitVersion": "v1\.32\.0\+imagestreams-\d+\.\d+\.\d+"/],
  },
  {
    name: "explain: OpenShift's descriptions from the served OpenAPI",
    args: ['explain', 'imagestream.spec.tags.importPolicy'],
    out: [
      /^KIND:\s+ImageStream$/m,
      'TagImportPolicy controls how images related to this tag will be imported.',
      /^\s+scheduled\s+<boolean>$/m,
      'Scheduled indicates to the server that this tag should be periodically',
    ],
  },
  {
    name: 'explain: status tags',
    args: ['explain', 'is.status.tags.items.dockerImageReference'],
    out: ['DockerImageReference is the string that can be used to pull this image'],
  },
  { name: 'get is (short name, namespace from the kubeconfig)', args: ['get', 'is'], out: [/^ruby\s/m] },
  {
    name: 'get is -n x as a user with a role',
    who: 'dev',
    args: ['get', 'is', '-n', 'x'],
    out: [/^ruby\s/m],
  },
  {
    name: 'get imagestream by name, as JSON path',
    who: 'dev',
    args: [
      'get',
      'imagestream.image.openshift.io',
      'ruby',
      '-n',
      'x',
      '-o',
      'jsonpath={.kind}/{.metadata.name}',
    ],
    out: ['ImageStream/ruby'],
  },
  {
    name: 'get is -n x as a user without a role',
    who: 'nobody',
    args: ['get', 'is', '-n', 'x'],
    code: 1,
    err: [
      'Error from server (Forbidden): imagestreams.image.openshift.io is forbidden: User "nobody" cannot list resource "imagestreams" in API group "image.openshift.io" in the namespace "x"',
    ],
  },
  {
    name: 'auth can-i: yes where a role allows it',
    who: 'dev',
    args: ['auth', 'can-i', 'create', 'imagestreams', '-n', 'x'],
    out: [/^yes$/m],
  },
  {
    name: 'auth can-i: short names and subresources resolve through discovery',
    who: 'dev',
    args: ['auth', 'can-i', 'delete', 'istag', '-n', 'x'],
    out: [/^yes$/m],
  },
  {
    name: 'auth can-i: no where the role does not reach',
    who: 'dev',
    args: ['auth', 'can-i', 'create', 'rolebindings', '-n', 'x'],
    code: 1,
    out: [/^no$/m],
  },
  {
    name: 'auth can-i: no for a user without a role',
    who: 'nobody',
    args: ['auth', 'can-i', 'get', 'is', '-n', 'x'],
    code: 1,
    out: [/^no$/m],
  },
  {
    name: 'auth can-i: discovery paths for everyone',
    who: 'nobody',
    args: ['auth', 'can-i', 'get', '/apis'],
    out: [/^yes$/m],
  },
  {
    name: 'auth can-i: everything for a cluster administrator',
    args: ['auth', 'can-i', '*', '*'],
    out: [/^yes$/m],
  },
  {
    name: 'auth can-i --list: the rules of the roles held',
    who: 'dev',
    args: ['auth', 'can-i', '--list', '-n', 'x'],
    out: [
      /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/m,
      /^imagestreams\.image\.openshift\.io\s+\[\]\s+\[\]\s+\[get list watch create update patch delete deletecollection\]$/m,
      /^secrets\s+\[\]\s+\[\]\s+\[get list watch create update patch delete deletecollection\]$/m,
      /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m,
      /^\s+\[\/apis\/\*\]\s+\[\]\s+\[get\]$/m,
    ],
  },
  {
    name: 'auth can-i --list: nothing of a project for a user without a role',
    who: 'nobody',
    args: ['auth', 'can-i', '--list', '-n', 'x'],
    out: [/^projects\.project\.openshift\.io\s+\[\]\s+\[\]\s+\[list\]$/m],
  },
  {
    name: "get is: the server's Table with oc's columns",
    args: ['get', 'is'],
    // The image repository is the service's own registry (docs/registry.md): locally its own host and port.
    out: [
      /^NAME\s+IMAGE REPOSITORY\s+TAGS\s+UPDATED$/m,
      /^ruby\s+127\.0\.0\.1:\d+\/x\/ruby\s+3\.3\s+\d+ seconds? ago$/m,
    ],
  },
  {
    name: "get istag: oc's columns, and the wide ones with -o wide",
    args: ['get', 'istag', '-o', 'wide'],
    out: [
      /^NAME\s+IMAGE REFERENCE\s+UPDATED\s+IMAGE\s+SOURCE$/m,
      /^ruby:3\.3\s+quay\.io\/x\/y@sha256:[0-9a-f]{64}\s+\d+ seconds? ago\s+sha256:[0-9a-f]{64}\s+<none>$/m,
    ],
  },
  {
    name: "get secrets: kubectl's columns",
    args: ['get', 'secrets'],
    out: [/^NAME\s+TYPE\s+DATA\s+AGE$/m, /^pull\s+kubernetes\.io\/dockerconfigjson\s+1\s+\d+s$/m],
  },
  {
    name: "get rolebindings: kubectl's columns",
    args: ['get', 'rolebindings'],
    out: [/^NAME\s+ROLE\s+AGE$/m, /^developers-edit\s+ClusterRole\/edit\s+\d+s$/m],
  },
  {
    name: "get projects: oc's columns",
    args: ['get', 'projects'],
    out: [/^NAME\s+DISPLAY NAME\s+STATUS$/m, /^x\s+Active$/m],
  },
  {
    name: 'describe a built-in kind: kubectl asks for protobuf first and takes the JSON fallback',
    args: ['describe', 'rolebinding', 'developers-edit', '-v=8'],
    out: [/^Name:\s+developers-edit$/m, /^\s+Kind:\s+ClusterRole$/m, /^\s+Name:\s+edit$/m],
    err: [/Accept: application\/vnd\.kubernetes\.protobuf/, /Response Status: 200 OK/],
  },
  {
    name: 'create --dry-run=server: answered as created, nothing created',
    // Client-side validation needs /openapi/v2 as protobuf, which part A's OpenAPI does not serve (yet).
    args: ['create', '--dry-run=server', '--validate=false', '-f', manifests.newStream],
    out: ['imagestream.image.openshift.io/dry created (server dry run)'],
  },
  {
    name: 'create --dry-run=server: nothing was created',
    args: ['get', 'is', '-o', 'name'],
    out: [/^imagestream\.image\.openshift\.io\/ruby$/m],
    absent: ['imagestream.image.openshift.io/dry'],
  },
  {
    name: 'create --dry-run=server: AlreadyExists still reported',
    args: ['create', '--dry-run=server', '--validate=false', '-f', manifests.existingStream],
    code: 1,
    err: ['Error from server (AlreadyExists)', 'imagestreams.image.openshift.io "ruby" already exists'],
  },
  {
    name: 'delete --dry-run=server: answered as deleted',
    args: ['delete', 'is', 'ruby', '--dry-run=server'],
    out: ['imagestream.image.openshift.io "ruby" deleted (server dry run)'],
  },
  {
    name: 'delete --dry-run=server: nothing was deleted',
    args: ['get', 'is', 'ruby', '-o', 'name'],
    out: [/^imagestream\.image\.openshift\.io\/ruby$/m],
  },
  {
    name: 'delete --dry-run=server: NotFound still reported',
    args: ['delete', 'is', 'ghost', '--dry-run=server'],
    code: 1,
    err: ['Error from server (NotFound): imagestreams.image.openshift.io "ghost" not found'],
  },
  {
    name: 'get -A: every namespace, with a NAMESPACE column',
    args: ['get', 'is', '-A'],
    out: [
      /^NAMESPACE\s+NAME\s+IMAGE REPOSITORY\s+TAGS\s+UPDATED$/m,
      /^x\s+ruby\s+127\.0\.0\.1:\d+\/x\/ruby\s+3\.3\s/m,
    ],
  },
  {
    name: '--field-selector metadata.name',
    args: ['get', 'is', '--field-selector', 'metadata.name=ruby', '-o', 'name'],
    out: [/^imagestream\.image\.openshift\.io\/ruby$/m],
  },
  {
    name: '--field-selector on a field no object offers',
    args: ['get', 'is', '--field-selector', 'spec.tags=x'],
    code: 1,
    err: ['Error from server (BadRequest)', 'field label not supported: spec.tags'],
  },
  {
    name: 'label',
    args: ['label', 'is', 'ruby', 'tier=gold'],
    out: ['imagestream.image.openshift.io/ruby labeled'],
  },
  {
    name: 'get -l: the labelled stream',
    args: ['get', 'is', '-l', 'tier=gold', '-o', 'name'],
    out: [/^imagestream\.image\.openshift\.io\/ruby$/m],
  },
  {
    name: 'get -l: nothing else',
    args: ['get', 'is', '-l', 'tier=silver'],
    err: ['No resources found in x namespace.'],
  },
  {
    name: 'annotate',
    args: ['annotate', 'is', 'ruby', 'note=hello'],
    out: ['imagestream.image.openshift.io/ruby annotated'],
  },
  {
    name: 'patch --type=merge',
    args: ['patch', 'is', 'ruby', '--type=merge', '-p', '{"spec":{"lookupPolicy":{"local":true}}}'],
    out: ['imagestream.image.openshift.io/ruby patched'],
  },
  {
    name: 'patch (strategic merge, kubectl’s default)',
    args: ['patch', 'is', 'ruby', '-p', '{"metadata":{"labels":{"patched":"strategic"}}}'],
    out: ['imagestream.image.openshift.io/ruby patched'],
  },
  {
    name: 'label, annotate and patches arrived',
    args: [
      'get',
      'is',
      'ruby',
      '-o',
      'jsonpath={.metadata.labels.tier}/{.metadata.annotations.note}/{.spec.lookupPolicy.local}/{.metadata.labels.patched}',
    ],
    out: ['gold/hello/true/strategic'],
  },
  {
    name: 'describe',
    args: ['describe', 'is', 'ruby'],
    out: [/^Name:\s+ruby$/m, /^Namespace:\s+x$/m, /tier=gold/],
  },
  {
    name: 'apply --server-side: creates the stream',
    args: ['apply', '--server-side', '-f', manifests.applied],
    out: ['imagestream.image.openshift.io/web serverside-applied'],
  },
  {
    name: 'apply --server-side: the applier owns what it applied (managedFields)',
    args: [
      'get',
      'is',
      'web',
      '-o',
      'jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation}/{.fieldsType};{end}',
    ],
    out: ['kubectl/Apply/FieldsV1;'],
  },
  {
    name: 'apply --server-side again, unchanged',
    args: ['apply', '--server-side', '-f', manifests.applied],
    out: ['imagestream.image.openshift.io/web serverside-applied'],
  },
  {
    name: 'apply --server-side --dry-run=server: answered, nothing written (checked two rows down)',
    args: [
      'apply',
      '--server-side',
      '--dry-run=server',
      '--field-manager=other',
      '--force-conflicts',
      '-f',
      manifests.appliedByOther,
    ],
    out: ['imagestream.image.openshift.io/web serverside-applied (server dry run)'],
  },
  {
    name: 'diff --server-side: what the apply would change',
    args: [
      'diff',
      '--server-side',
      '--field-manager=other',
      '--force-conflicts',
      '-f',
      manifests.appliedByOther,
    ],
    code: 1,
    out: [/^-\s+name: 127\.0\.0\.1:5000\/x\/web:1$/m, /^\+\s+name: 127\.0\.0\.1:5000\/x\/web:2$/m],
  },
  {
    name: 'apply --server-side by another manager changing a field kubectl owns: conflict',
    args: ['apply', '--server-side', '--field-manager=other', '-f', manifests.appliedByOther],
    code: 1,
    err: [
      'Apply failed with 1 conflict: conflict with "kubectl": .spec.tags[name="a"].from',
      '--force-conflicts',
    ],
  },
  {
    name: 'apply --server-side conflict: nothing changed',
    args: ['get', 'is', 'web', '-o', 'jsonpath={.spec.tags[*].from.name}'],
    out: [/^127\.0\.0\.1:5000\/x\/web:1$/],
  },
  {
    name: 'apply --server-side --force-conflicts: the other manager takes the field',
    args: [
      'apply',
      '--server-side',
      '--field-manager=other',
      '--force-conflicts',
      '-f',
      manifests.appliedByOther,
    ],
    out: ['imagestream.image.openshift.io/web serverside-applied'],
  },
  {
    name: 'apply --server-side --force-conflicts: applied, and ownership moved',
    args: [
      'get',
      'is',
      'web',
      '-o',
      'jsonpath={.spec.tags[*].from.name}|{.metadata.labels.tier}|{range .metadata.managedFields[*]}{.manager}/{.operation};{end}',
    ],
    out: ['127.0.0.1:5000/x/web:2 127.0.0.1:5000/x/web:b|gold|kubectl/Apply;other/Apply;'],
  },
  {
    name: 'apply --server-side: kubectl re-applies its file and now conflicts with other',
    args: ['apply', '--server-side', '-f', manifests.applied],
    code: 1,
    err: ['Apply failed with 1 conflict: conflict with "other": .spec.tags[name="a"].from'],
  },
  {
    name: 'apply --server-side: a label kubectl stops applying is removed, the tags other owns stay',
    args: ['apply', '--server-side', '-f', manifests.appliedWithoutLabel],
    out: ['imagestream.image.openshift.io/web serverside-applied'],
  },
  {
    name: 'apply --server-side: label gone, tags kept',
    args: ['get', 'is', 'web', '-o', 'jsonpath={.spec.tags[*].name}|{.metadata.labels}'],
    out: [/^a b\|$/m],
  },
  {
    name: 'apply (client-side): created',
    args: ['apply', '-f', manifests.clientSide],
    out: ['imagestream.image.openshift.io/site created'],
  },
  {
    name: 'apply (client-side): unchanged',
    args: ['apply', '-f', manifests.clientSide],
    out: ['imagestream.image.openshift.io/site unchanged'],
  },
  {
    name: 'apply (client-side): configured',
    args: ['apply', '-f', manifests.clientSideChanged],
    out: ['imagestream.image.openshift.io/site configured'],
  },
  {
    name: 'apply (client-side): applied, last-applied kept, an Update entry per writer',
    args: [
      'get',
      'is',
      'site',
      '-o',
      'jsonpath={.spec.tags[0].from.name}|{.metadata.labels.tier}|{range .metadata.managedFields[*]}{.manager}/{.operation};{end}',
    ],
    out: ['127.0.0.1:5000/x/site:2|silver|kubectl-client-side-apply/Update;'],
  },
  {
    name: 'apply --server-side after client-side apply: kubectl hands the fields over, no conflict',
    args: ['apply', '--server-side', '-f', manifests.clientSideToServerSide],
    out: ['imagestream.image.openshift.io/site serverside-applied'],
  },
  {
    name: 'apply --server-side after client-side apply: applied, owned by the server-side applier',
    args: [
      'get',
      'is',
      'site',
      '-o',
      'jsonpath={.spec.tags[0].from.name}|{range .metadata.managedFields[*]}{.manager}/{.operation};{end}',
    ],
    out: ['127.0.0.1:5000/x/site:3|kubectl/Apply;'],
  },
  {
    name: 'create with an unknown field: refused by the server (fieldValidation=Strict)',
    args: ['create', '-f', manifests.unknownField],
    code: 1,
    err: ['Error from server (BadRequest)', 'strict decoding error: unknown field "spec.tagz"'],
  },
  {
    name: 'create with an unknown field and --validate=false: created',
    args: ['create', '--validate=false', '-f', manifests.unknownField],
    out: ['imagestream.image.openshift.io/loose created'],
  },
  {
    name: 'create, for real this time',
    args: ['create', '--validate=false', '-f', manifests.newStream],
    out: ['imagestream.image.openshift.io/dry created'],
  },
  {
    name: 'delete',
    args: ['delete', 'is', 'dry'],
    out: ['imagestream.image.openshift.io "dry" deleted'],
  },
  {
    name: 'get is missing: NotFound names the object (kubectl reads the project as a Namespace first)',
    args: ['get', 'is', 'missing'],
    code: 1,
    err: ['Error from server (NotFound): imagestreams.image.openshift.io "missing" not found'],
  },
  {
    name: 'get namespace: the project as a Namespace, for its members',
    who: 'dev',
    args: ['get', 'namespace', 'x', '-o', 'jsonpath={.kind}/{.metadata.name}/{.status.phase}'],
    out: ['Namespace/x/Active'],
  },
  {
    name: 'get namespace of another project: forbidden',
    who: 'nobody',
    args: ['get', 'namespace', 'x'],
    code: 1,
    err: ['User "nobody" cannot get resource "namespaces" in API group "" in the namespace "x"'],
  },
  {
    name: 'delete: gone',
    args: ['get', 'is', '-o', 'name'],
    out: [/^imagestream\.image\.openshift\.io\/ruby$/m],
    absent: ['imagestream.image.openshift.io/dry'],
  },
];

describe('kubectl over HTTPS', () => {
  for (const row of KUBECTL_ROWS)
    it(row.name, async () => {
      const r = await kubectl(row.args, kubeconfigs[row.who ?? 'admin']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(row.code ?? 0);
      const expectIn = (text: string, wants: Array<string | RegExp> = []) => {
        for (const want of wants)
          if (typeof want === 'string') expect(text).toContain(want);
          else expect(text).toMatch(want);
      };
      expectIn(r.stdout, row.out);
      expectIn(r.stderr, row.err);
      for (const unwanted of row.absent ?? []) expect(r.stdout).not.toContain(unwanted);
    });

  it('leaves unknown fields of imagestreams to the server (fieldValidation=Strict), as kube-apiserver does', async () => {
    const wrong = join(dir, 'wrong.yaml');
    writeFileSync(
      wrong,
      'apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata: {name: wrong}\nspec:\n  tagz: []\n  tags:\n  - name: a\n    fromm: {kind: DockerImage, name: x/y:1}\n',
    );
    const refused = await kubectl(['create', '--dry-run=server', '-o', 'name', '-f', wrong], kubeconfigs.dev);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Error from server (BadRequest)');
    expect(refused.stderr).toContain(
      'ImageStream in version "v1" cannot be handled as a ImageStream: strict decoding error: unknown field',
    );
    expect(refused.stderr).toContain('unknown field "spec.tagz"');
    expect(refused.stderr).toContain('unknown field "spec.tags[0].fromm"');

    // What kubectl reads back is decoded as it is (metadata, managedFields and status included), and so is
    // OpenShift's own file: both name an existing stream, so the server gets as far as AlreadyExists.
    const readBack = join(dir, 'read-back.yaml');
    writeFileSync(readBack, await kubectlOk(['get', 'is', 'ruby', '-o', 'yaml'], 'dev'));
    const sample = join(
      import.meta.dirname,
      '../fixtures/openshift-imagestreams/community__ruby__ruby-centos.json',
    );
    for (const file of [readBack, sample]) {
      const r = await kubectl(['create', '--dry-run=server', '-o', 'name', '-f', file], kubeconfigs.dev);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Error from server (AlreadyExists)');
    }
  });

  it('warns of unknown fields when asked to (fieldValidation=Warn)', async () => {
    const loose = join(dir, 'warn.yaml');
    writeFileSync(
      loose,
      'apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata: {name: warned}\nspec:\n  tagz: []\n',
    );
    const r = await kubectl(['create', '--validate=warn', '--dry-run=server', '-f', loose], kubeconfigs.dev);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Warning: unknown field "spec.tagz"');
    expect(r.stdout).toContain('imagestream.image.openshift.io/warned created (server dry run)');
  });

  it('talks to the server only over verified HTTPS', async () => {
    // The kubeconfig's CA is what makes the connection trusted: without it kubectl refuses the certificate.
    const config = parse(await kubectlOk(['config', 'view', '--raw', '-o', 'json']));
    expect(config.clusters[0].cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    delete config.clusters[0].cluster['certificate-authority-data'];
    const untrusted = join(dir, 'untrusted.kubeconfig');
    writeFileSync(untrusted, JSON.stringify(config));
    const r = await kubectl(['get', 'is'], untrusted);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/certificate signed by unknown authority/);
  });
});

/** Starts kubectl, runs `during` once it has had time to start its watch, and waits for it to end. */
function kubectlWhile(
  args: string[],
  kubeconfig: string,
  during: () => Promise<void>,
): Promise<Run & { ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: stdout.toString(),
          stderr: stderr.toString(),
          ms: Date.now() - started,
        }),
    );
    // The watch is open once kubectl has listed (or, with --watch-only, a moment after); then the change.
    setTimeout(
      () =>
        during().catch((e) => {
          child.kill();
          reject(e);
        }),
      2_500,
    );
  });
}

/**
 * kubectl's watches (`get -w`, `--watch-only`, `-A -w`) over HTTPS: each row makes a change with another client
 * while kubectl watches, and the watch ends at its --request-timeout (which kubectl sends as timeoutSeconds).
 */
const WATCH_ROWS: Array<{
  name: string;
  who?: keyof typeof kubeconfigs;
  args: string[];
  during: () => Promise<void>;
  code?: number;
  out?: Array<string | RegExp>;
  err?: Array<string | RegExp>;
  absent?: string[];
}> = [
  {
    name: 'get is -w: the list, then a stream another client creates',
    args: ['get', 'is', '-w', '--request-timeout=6s'],
    during: async () => {
      expect((await api.post(IS('x'), { metadata: { name: 'watched' }, spec: {} })).status).toBe(201);
    },
    out: [/^NAME\s+IMAGE REPOSITORY\s+TAGS\s+UPDATED$/m, /^ruby\s/m, /^watched\s/m],
  },
  {
    name: 'get istag -w: a tag another client maps',
    args: ['get', 'istag', '-w', '--request-timeout=6s'],
    during: async () => {
      await mapImage(api, 'x', 'watched', 'v9');
    },
    out: [/^ruby:3\.3\s/m, /^watched:v9\s/m],
  },
  {
    name: 'get is --watch-only: changes only, no list',
    args: ['get', 'is', '--watch-only', '--request-timeout=6s'],
    during: async () => {
      expect((await api.patch(IS('x', 'watched'), { metadata: { labels: { seen: 'yes' } } })).status).toBe(
        200,
      );
    },
    out: [/^watched\s/m],
    absent: ['ruby'],
  },
  {
    name: 'get is -A -w (cluster administrator): every project',
    args: ['get', 'is', '-A', '-w', '--request-timeout=6s'],
    during: async () => {
      expect((await api.newProject('wx')).status).toBe(201);
      expect((await api.post(IS('wx'), { metadata: { name: 'elsewhere' }, spec: {} })).status).toBe(201);
    },
    out: [/^NAMESPACE\s+NAME\s/m, /^x\s+ruby\s/m, /^wx\s+elsewhere\s/m],
  },
  {
    name: 'get is -A -w (developer): forbidden at the cluster scope',
    who: 'dev',
    args: ['get', 'is', '-A', '-w', '--request-timeout=6s'],
    during: async () => {},
    code: 1,
    err: ['cannot list resource "imagestreams" in API group "image.openshift.io" at the cluster scope'],
  },
];

describe('kubectl watches over HTTPS', () => {
  for (const row of WATCH_ROWS)
    it(row.name, async () => {
      const r = await kubectlWhile(row.args, kubeconfigs[row.who ?? 'admin'], row.during);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(row.code ?? 0);
      for (const want of row.out ?? []) expect(r.stdout).toMatch(want);
      for (const want of row.err ?? []) expect(r.stderr).toMatch(want);
      for (const unwanted of row.absent ?? []) expect(r.stdout).not.toContain(unwanted);
      // It ended at its timeout, not at the harness's.
      expect(r.ms).toBeLessThan(20_000);
      console.log(
        `ROW ${row.name}\n$ kubectl ${row.args.join(' ')}\n${r.stdout}${r.stderr}(exit ${r.code}, ${r.ms} ms)`,
      );
    });
});
