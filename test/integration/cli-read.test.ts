import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Cli } from '../support/cli';
import {
  ADMIN_TOKEN,
  type Api,
  digest,
  HISTORY,
  IS,
  ISIMAGE,
  ISTAG,
  mapImage,
  startStack,
} from '../support/local-stack';
import { pushImage, type Registry, startRegistry } from '../support/registries';

/**
 * isctl get / describe / history against the local stack: streams built through the API (image stream mappings,
 * tags, aliases, cross-project and reference tags, real imports from a loopback registry, a failing import, a tag
 * with 30 history entries written by two users), read back through the CLI as its own process. Tables are checked
 * cell by cell and for kubectl's alignment; -o json|yaml|name against the server's own objects.
 */

const TOKENS = {
  'dev-token-0123456789': { user: 'dev', groups: ['developers'] },
  'outsider-token-0123456789': { user: 'outsider', groups: [] },
};
const INTERNAL = 'registry.internal:5000';
const ISI = (ns: string) => `/apis/image.openshift.io/v1/namespaces/${ns}/imagestreamimports`;
const RB = (ns: string) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`;

/** A relative time as isctl prints it; the suite runs in well under an hour. */
const AGO_RE = /^\d+ (seconds?|minutes?) ago$/;
const AGO = expect.stringMatching(AGO_RE);
const agoAfter = (iso: string) =>
  expect.stringMatching(new RegExp(`^${iso} \\(\\d+ (seconds?|minutes?) ago\\)$`));

/**
 * A kubectl table: header names and cells, found by the header's column starts. Also checks the layout
 * `table()` promises: every column is as wide as its widest cell (header included) plus three spaces.
 */
function parseTable(text: string): { headers: string[]; rows: string[][] } {
  const lines = text.replace(/\n$/, '').split('\n');
  const header = lines[0]!;
  const starts: number[] = [];
  const headers: string[] = [];
  if (header.startsWith(' ')) {
    starts.push(0);
    headers.push('');
  }
  for (const m of header.matchAll(/\S+(?: \S+)*/g)) {
    starts.push(m.index);
    headers.push(m[0]);
  }
  const cut = (line: string) =>
    starts.map((s, i) => (i + 1 < starts.length ? line.slice(s, starts[i + 1]) : line.slice(s)).trimEnd());
  const rows = lines.slice(1).map(cut);
  for (let i = 0; i + 1 < starts.length; i++) {
    const widest = Math.max(headers[i]!.length, ...rows.map((r) => r[i]!.length));
    if (starts[i + 1]! - starts[i]! !== widest + 3)
      throw new Error(
        `column ${headers[i]} is misaligned (start ${starts[i]}, next ${starts[i + 1]}):\n${text}`,
      );
  }
  for (const line of lines.slice(1))
    for (const s of starts.slice(1))
      if (line[s - 1] !== ' ') throw new Error(`a cell runs into the next column at ${s}:\n${text}`);
  return { headers, rows };
}

/** Relative times are the one thing that moves between runs. */
const normalizeAgo = (text: string) => text.replace(/\d+ (seconds?|minutes?|hours?|days?) ago/g, '<ago>');

let api: Api;
let stop: () => Promise<void>;
let reg: Registry;
let cli: Cli;

// What the streams hold, for the expectations.
const d1 = digest('cli-read ruby 3.2');
const d2 = digest('cli-read ruby 3.3');
const dBase = digest('cli-read shared base');
const dPy = digest('cli-read python');
let L1 = '';
let L2 = '';
let N = '';
const busy: string[] = [];
let ruby: any;

async function ok<T = any>(res: Promise<{ status: number; body: T }>): Promise<T> {
  const r = await res;
  if (r.status >= 300) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

function stream(ns: string, name: string, metadata: Record<string, unknown> = {}) {
  return ok(
    api.post(IS(ns), {
      kind: 'ImageStream',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name, ...metadata },
    }),
  );
}

function tag(ns: string, name: string, ref: Record<string, unknown>) {
  return ok(
    api.put(ISTAG(ns, name), {
      kind: 'ImageStreamTag',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name },
      tag: { name: name.split(':')[1], ...ref },
    }),
  );
}

async function importImages(ns: string, name: string, images: unknown[]) {
  const body = await ok(
    api.post(ISI(ns), {
      kind: 'ImageStreamImport',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name },
      spec: { import: true, images },
    }),
  );
  return body.status.images.map((i: any) => i.status.status);
}

const fromRegistry = (t: string, to: string, policy: Record<string, unknown> = {}) => ({
  from: { kind: 'DockerImage', name: `${reg.host}/tiny/ruby:${t}` },
  to: { name: to },
  importPolicy: { insecure: true, ...policy },
});

beforeAll(async () => {
  reg = await startRegistry('anonymous');
  ({ api, stop } = await startStack({
    LOCAL_TOKENS: JSON.stringify(TOKENS),
    INTERNAL_REGISTRY_HOSTNAME: INTERNAL,
    SCHEDULER: 'off',
    IMPORT_CONTROLLER: 'off',
  }));
  cli = new Cli();
  await cli.ok(['login', '--server', api.url, '--token', ADMIN_TOKEN]);
  await cli.ok(['new-project', 'p1']);
  await ok(api.newProject('shared'));
  await ok(api.newProject('empty'));
  await ok(
    api.post(RB('p1'), {
      kind: 'RoleBinding',
      apiVersion: 'rbac.authorization.k8s.io/v1',
      metadata: { name: 'dev-edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'dev' }],
    }),
  );

  await stream('shared', 'base');
  await mapImage(api, 'shared', 'base', '1', dBase, 'quay.io/x/base');

  await stream('p1', 'python', { labels: { app: 'python' } });
  await mapImage(api, 'p1', 'python', '3.12', dPy, 'quay.io/x/python');

  // ruby: pushed tags, a registry import that moved, aliases, a snapshot with the Local policy, a tag from
  // another project, a scheduled import, a failed import, a reference tag and a spec tag not imported yet.
  await stream('p1', 'ruby', {
    labels: { app: 'ruby' },
    annotations: { description: 'Ruby runtimes', team: 'lang' },
  });
  await mapImage(api, 'p1', 'ruby', '3.2', d1, 'quay.io/x/ruby');
  await mapImage(api, 'p1', 'ruby', '3.3', d2, 'quay.io/x/ruby');
  L1 = await pushImage(reg, 'tiny/ruby', 'latest', { label: 'one' });
  expect(await importImages('p1', 'ruby', [fromRegistry('latest', 'latest')])).toEqual(['Success']);
  L2 = await pushImage(reg, 'tiny/ruby', 'latest', { label: 'two' });
  expect(await importImages('p1', 'ruby', [fromRegistry('latest', 'latest')])).toEqual(['Success']);
  await tag('p1', 'ruby:prod', { from: { kind: 'ImageStreamTag', name: 'latest' } });
  await tag('p1', 'ruby:stable', { from: { kind: 'ImageStreamTag', name: 'ruby:prod' } });
  await tag('p1', 'ruby:local', {
    from: { kind: 'ImageStreamImage', name: `ruby@${d1}` },
    referencePolicy: { type: 'Local' },
  });
  await tag('p1', 'ruby:base', { from: { kind: 'ImageStreamTag', namespace: 'shared', name: 'base:1' } });
  await tag('p1', 'ruby:ext', { from: { kind: 'DockerImage', name: 'quay.io/x/ext:1' }, reference: true });
  await tag('p1', 'ruby:pending', { from: { kind: 'DockerImage', name: 'quay.io/x/pending:1' } });
  N = await pushImage(reg, 'tiny/ruby', 'nightly', { label: 'nightly' });
  expect(
    await importImages('p1', 'ruby', [
      fromRegistry('nightly', 'nightly', { scheduled: true }),
      fromRegistry('nope', 'broken'),
    ]),
  ).toEqual(['Success', 'Failure']);
  ruby = await ok(api.get(IS('p1', 'ruby')));

  // app:busy: 30 entries, the older 15 written by admin, the newer 15 by dev.
  await stream('p1', 'app');
  const dev = api.as('dev-token-0123456789');
  for (let i = 0; i < 30; i++)
    busy.push(await mapImage(i < 15 ? api : dev, 'p1', 'app', 'busy', digest(`busy ${i}`), 'quay.io/x/app'));

  // many: 12 tags, then one of them moved a second later, so it is the most recently updated.
  await stream('p1', 'many');
  for (let i = 1; i <= 12; i++)
    await mapImage(api, 'p1', 'many', `t${String(i).padStart(2, '0')}`, digest(`many ${i}`));
  await new Promise((r) => setTimeout(r, 1100));
  await mapImage(api, 'p1', 'many', 't05', digest('many 5 again'));
}, 120_000);

afterAll(async () => {
  await stop?.();
  await reg?.stop();
  cli?.cleanup();
});

/** Status tags by their newest event, newest first, ties by name: the order of the TAGS column. */
function byUpdate(is: any): string[] {
  return [...is.status.tags]
    .filter((t: any) => t.items?.length)
    .sort((a: any, b: any) =>
      a.items[0].created === b.items[0].created
        ? a.tag < b.tag
          ? -1
          : 1
        : Date.parse(b.items[0].created) - Date.parse(a.items[0].created),
    )
    .map((t: any) => t.tag)
    .concat(is.status.tags.filter((t: any) => !t.items?.length).map((t: any) => t.tag));
}

describe('isctl get is', () => {
  it('lists streams like oc get is: repository, tags most recently updated first (cut at 40 columns), last update', async () => {
    const many = await ok(api.get(IS('p1', 'many')));
    const order = byUpdate(many);
    expect(order[0]).toBe('t05');
    const out = await cli.ok(['get', 'is']);
    const t = parseTable(out);
    expect(t.headers).toEqual(['NAME', 'IMAGE REPOSITORY', 'TAGS', 'UPDATED']);
    const rubyTags = byUpdate(ruby);
    expect(t.rows).toEqual([
      ['app', `${INTERNAL}/p1/app`, 'busy', AGO],
      ['many', `${INTERNAL}/p1/many`, `${order.slice(0, 10).join(',')} + 2 more...`, AGO],
      ['python', `${INTERNAL}/p1/python`, '3.12', AGO],
      ['ruby', `${INTERNAL}/p1/ruby`, expect.stringMatching(/ \+ \d+ more\.\.\.$/), AGO],
    ]);
    // ruby's tags are longer: as many as fit in about 40 columns (unit tests pin the exact rule).
    const shown = t.rows[3]![2]!.replace(/ \+ \d+ more\.\.\.$/, '').split(',');
    expect(shown).toEqual(rubyTags.slice(0, shown.length));
    expect(t.rows[3]![2]).toBe(`${shown.join(',')} + ${rubyTags.length - shown.length} more...`);
    expect(shown.join(',').length).toBeLessThanOrEqual(50);
  });

  it('-o wide shows every tag; a name shows that stream; -l selects by label', async () => {
    const wide = parseTable(await cli.ok(['get', 'is', '-o', 'wide']));
    expect(wide.rows.find((r) => r[0] === 'ruby')![2]).toBe(byUpdate(ruby).join(','));
    expect(wide.rows.find((r) => r[0] === 'many')![2]!.split(',')).toHaveLength(12);

    const one = parseTable(await cli.ok(['get', 'is', 'python']));
    expect(one.rows).toEqual([['python', `${INTERNAL}/p1/python`, '3.12', AGO]]);
    const two = parseTable(await cli.ok(['get', 'imagestreams', 'python', 'app']));
    expect(two.rows.map((r) => r[0])).toEqual(['python', 'app']);

    const selected = parseTable(await cli.ok(['get', 'imagestream', '-l', 'app in (ruby,python)']));
    expect(selected.rows.map((r) => r[0])).toEqual(['python', 'ruby']);
    const none = await cli.run(['get', 'is', '-l', 'app=nothing']);
    expect(none).toEqual({ code: 0, stdout: '', stderr: 'No resources found in p1 namespace.\n' });
  });

  it('-o jsonpath prints through kubectl’s template, for one object and for lists', async () => {
    expect(
      await cli.ok(['get', 'is', 'python', '-o', 'jsonpath={.metadata.name}/{.status.tags[0].tag}']),
    ).toBe('python/3.12\n');
    const names = await cli.ok([
      'get',
      'is',
      '-l',
      'app in (ruby,python)',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}',
    ]);
    expect(names).toBe('python\nruby\n\n');
    const bad = await cli.run(['get', 'is', '-o', 'jsonpath={.items']);
    expect(bad.code).toBe(2);
  });

  it('-w prints the table, then a line for each stream that appears or changes, until stopped', async () => {
    await ok(api.newProject('watched'));
    await ok(api.post(IS('watched'), { metadata: { name: 'first' } }));
    const watching = cli.run(['get', 'is', '-w', '-n', 'watched'], {
      ISCTL_WATCH_INTERVAL_MS: '150',
      ISCTL_WATCH_FOR_MS: '2500',
    });
    await new Promise((r) => setTimeout(r, 700));
    expect((await api.post(IS('watched'), { metadata: { name: 'late' } })).status).toBe(201);
    const r = await watching;
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+IMAGE REPOSITORY\s+TAGS\s+UPDATED$/);
    expect(lines.filter((l) => /^late\s/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^first\s/.test(l))).toHaveLength(1);
    const refused = await cli.run(['get', 'is', '-w', '-o', 'json']);
    expect(refused.code).toBe(2);
  });

  it('an empty project prints kubectl\'s "No resources found" on stderr and exits 0', async () => {
    expect(await cli.run(['get', 'is', '-n', 'empty'])).toEqual({
      code: 0,
      stdout: '',
      stderr: 'No resources found in empty namespace.\n',
    });
    expect(await cli.run(['get', 'istag', '-n', 'empty'])).toMatchObject({
      code: 0,
      stderr: 'No resources found in empty namespace.\n',
    });
    const json = await cli.run(['get', 'is', '-n', 'empty', '-o', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      kind: 'ImageStreamList',
      apiVersion: 'image.openshift.io/v1',
      metadata: {},
      items: [],
    });
  });
});

describe('isctl get istag / isimage', () => {
  it('lists every tag that resolves to an image: stream:tag, the pull spec (Local policy: this stream), updated', async () => {
    const t = parseTable(await cli.ok(['get', 'istag']));
    expect(t.headers).toEqual(['NAME', 'IMAGE REFERENCE', 'UPDATED']);
    const ruby = (tg: string, ref: string) => [`ruby:${tg}`, ref, AGO];
    expect(t.rows).toEqual([
      ['app:busy', `quay.io/x/app@${busy[29]}`, AGO],
      ...Array.from({ length: 12 }, (_, i) => [
        `many:t${String(i + 1).padStart(2, '0')}`,
        expect.any(String),
        AGO,
      ]),
      ['python:3.12', `quay.io/x/python@${dPy}`, AGO],
      ruby('3.2', `quay.io/x/ruby@${d1}`),
      ruby('3.3', `quay.io/x/ruby@${d2}`),
      ruby('base', `quay.io/x/base@${dBase}`),
      ruby('latest', `${reg.host}/tiny/ruby@${L2}`),
      ruby('local', `${INTERNAL}/p1/ruby@${d1}`),
      ruby('nightly', `${reg.host}/tiny/ruby@${N}`),
      ruby('prod', `${reg.host}/tiny/ruby@${L2}`),
      ruby('stable', `${reg.host}/tiny/ruby@${L2}`),
    ]);
    // Read in pages of 4 (every page followed), the same tags.
    const paged = parseTable(await cli.ok(['get', 'istag', '--chunk-size', '4']));
    expect(paged.rows.map((r) => r.slice(0, 2))).toEqual(t.rows.map((r) => r.slice(0, 2)));
  });

  it('-o wide adds the image digest and the spec source; a name shows that tag', async () => {
    const t = parseTable(await cli.ok(['get', 'istag', '-o', 'wide', '-l', 'app=ruby']));
    expect(t.headers).toEqual(['NAME', 'IMAGE REFERENCE', 'UPDATED', 'IMAGE', 'SOURCE']);
    const rows = Object.fromEntries(t.rows.map((r) => [r[0], r.slice(1)]));
    expect(Object.keys(rows)).toEqual([
      'ruby:3.2',
      'ruby:3.3',
      'ruby:base',
      'ruby:latest',
      'ruby:local',
      'ruby:nightly',
      'ruby:prod',
      'ruby:stable',
    ]);
    expect(rows['ruby:3.2']).toEqual([`quay.io/x/ruby@${d1}`, AGO, d1, '<none>']);
    expect(rows['ruby:base']).toEqual([
      `quay.io/x/base@${dBase}`,
      AGO,
      dBase,
      'ImageStreamTag shared/base:1',
    ]);
    expect(rows['ruby:latest']).toEqual([
      `${reg.host}/tiny/ruby@${L2}`,
      AGO,
      L2,
      `DockerImage ${reg.host}/tiny/ruby:latest`,
    ]);
    expect(rows['ruby:local']).toEqual([`${INTERNAL}/p1/ruby@${d1}`, AGO, d1, `ImageStreamImage ruby@${d1}`]);
    expect(rows['ruby:stable']).toEqual([`${reg.host}/tiny/ruby@${L2}`, AGO, L2, 'ImageStreamTag ruby:prod']);

    const one = parseTable(await cli.ok(['get', 'imagestreamtag', 'ruby:nightly']));
    expect(one.rows).toEqual([['ruby:nightly', `${reg.host}/tiny/ruby@${N}`, AGO]]);
  });

  it('isimage NAME@DIGEST (or a unique prefix) shows the image; it needs a name', async () => {
    const t = parseTable(await cli.ok(['get', 'isimage', `ruby@${L1}`]));
    expect(t.headers).toEqual(['NAME', 'IMAGE REFERENCE', 'CREATED']);
    // The image's own creation time (the test images are built at a fixed date), not the tag's.
    expect(t.rows).toEqual([
      [
        `ruby@${L1}`,
        `${reg.host}/tiny/ruby@${L1}`,
        expect.stringMatching(/^\d+ (seconds?|minutes?|hours?|days?) ago$/),
      ],
    ]);
    const prefix = L1.slice(0, 'sha256:'.length + 12);
    const wide = parseTable(await cli.ok(['get', 'imagestreamimage', `ruby@${prefix}`, '-o', 'wide']));
    expect(wide.headers).toEqual(['NAME', 'IMAGE REFERENCE', 'CREATED', 'IMAGE']);
    expect(wide.rows[0]).toEqual([`ruby@${prefix}`, `${reg.host}/tiny/ruby@${L1}`, expect.any(String), L1]);

    const listed = await cli.run(['get', 'isimage']);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(
      /^error: image stream images cannot be listed; name one: <stream>@<digest>/,
    );
  });

  it('several types at once: one table each, names qualified by kind', async () => {
    const out = await cli.ok(['get', 'is,istag', '-l', 'app=python']);
    const [streams, tags] = out.trimEnd().split('\n\n');
    expect(parseTable(streams!).rows).toEqual([
      ['imagestream.image.openshift.io/python', `${INTERNAL}/p1/python`, '3.12', AGO],
    ]);
    expect(parseTable(tags!).rows).toEqual([
      ['imagestreamtag.image.openshift.io/python:3.12', `quay.io/x/python@${dPy}`, AGO],
    ]);
    // TYPE/NAME arguments, as kubectl takes them.
    const mixed = await cli.ok(['get', 'is/python', 'istag/ruby:3.2']);
    expect(
      mixed
        .trimEnd()
        .split('\n\n')
        .map((t) => parseTable(t).rows.map((r) => r[0])),
    ).toEqual([['imagestream.image.openshift.io/python'], ['imagestreamtag.image.openshift.io/ruby:3.2']]);
  });
});

describe('isctl get -o json|yaml|name', () => {
  it('prints the server objects: one object for a name, the server list kind for a list, List for mixes', async () => {
    expect(JSON.parse(await cli.ok(['get', 'is', 'ruby', '-o', 'json']))).toEqual(ruby);
    expect(parseYaml(await cli.ok(['get', 'istag', 'ruby:local', '-o', 'yaml']))).toEqual(
      await ok(api.get(ISTAG('p1', 'ruby:local'))),
    );
    expect(JSON.parse(await cli.ok(['get', 'isimage', `ruby@${N}`, '-o', 'json']))).toEqual(
      await ok(api.get(ISIMAGE('p1', `ruby@${N}`))),
    );

    const streams = await ok(api.get(IS('p1')));
    expect(parseYaml(await cli.ok(['get', 'is', '-o', 'yaml']))).toEqual({
      kind: 'ImageStreamList',
      apiVersion: 'image.openshift.io/v1',
      metadata: {},
      items: streams.items,
    });
    const istags = await ok(api.get(ISTAG('p1')));
    expect(JSON.parse(await cli.ok(['get', 'istag', '-o', 'json', '--chunk-size', '5']))).toEqual({
      kind: 'ImageStreamTagList',
      apiVersion: 'image.openshift.io/v1',
      metadata: {},
      items: istags.items,
    });

    const python = await ok(api.get(IS('p1', 'python')));
    const pythonTag = await ok(api.get(ISTAG('p1', 'python:3.12')));
    expect(JSON.parse(await cli.ok(['get', 'is,istag', '-l', 'app=python', '-o', 'json']))).toEqual({
      kind: 'List',
      apiVersion: 'v1',
      metadata: { resourceVersion: '' },
      items: [python, pythonTag],
    });
    expect(parseYaml(await cli.ok(['get', 'is', 'python', 'ruby', '-o', 'yaml']))).toEqual({
      kind: 'List',
      apiVersion: 'v1',
      metadata: { resourceVersion: '' },
      items: [python, ruby],
    });
  });

  it('-o name prints resource.group/name', async () => {
    expect(await cli.ok(['get', 'is', '-o', 'name'])).toBe(
      [
        'imagestream.image.openshift.io/app',
        'imagestream.image.openshift.io/many',
        'imagestream.image.openshift.io/python',
        'imagestream.image.openshift.io/ruby',
        '',
      ].join('\n'),
    );
    expect(await cli.ok(['get', 'istag', 'ruby:latest', '-o', 'name'])).toBe(
      'imagestreamtag.image.openshift.io/ruby:latest\n',
    );
    expect(await cli.ok(['get', 'isimage', `ruby@${d2}`, '-o', 'name'])).toBe(
      `imagestreamimage.image.openshift.io/ruby@${d2}\n`,
    );
  });
});

describe('isctl get: errors', () => {
  it('usage mistakes exit 2 with what to type', async () => {
    const unknown = await cli.run(['get', 'pods']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/^error: the server doesn't have a resource type "pods"/);

    const noColon = await cli.run(['get', 'istag', 'ruby']);
    expect(noColon.code).toBe(2);
    expect(noColon.stderr).toMatch(/^error: expected exactly one : delimiter in the istag "ruby"/);

    const badFormat = await cli.run(['get', 'is', '-o', 'table']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('unable to match a printer suitable for the output format "table"');

    const selectorAndName = await cli.run(['get', 'is', 'ruby', '-l', 'app=ruby']);
    expect(selectorAndName.code).toBe(2);
    expect((await cli.run(['get'])).code).toBe(2);
  });

  it("a missing object exits 1 with the server's NotFound; the others named are still shown", async () => {
    expect(await cli.run(['get', 'is', 'x'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error from server (NotFound): imagestreams.image.openshift.io "x" not found\n',
    });
    expect(await cli.run(['get', 'istag', 'ruby:nope'])).toMatchObject({
      code: 1,
      stderr: 'Error from server (NotFound): imagestreamtags.image.openshift.io "ruby:nope" not found\n',
    });
    // A reference-only tag has no image: not an ImageStreamTag, as in OpenShift.
    expect((await cli.run(['get', 'istag', 'ruby:ext'])).code).toBe(1);

    const some = await cli.run(['get', 'is', 'python', 'x']);
    expect(some.code).toBe(1);
    expect(parseTable(some.stdout).rows.map((r) => r[0])).toEqual(['python']);
    expect(some.stderr).toBe('Error from server (NotFound): imagestreams.image.openshift.io "x" not found\n');
  });

  it("a user without access gets the server's Forbidden and what to do", async () => {
    const env = { ISCTL_TOKEN: 'outsider-token-0123456789' };
    const list = await cli.run(['get', 'is'], env);
    expect(list.code).toBe(1);
    expect(list.stderr).toBe(
      'Error from server (Forbidden): imagestreams.image.openshift.io is forbidden: User "outsider" cannot list resource "imagestreams" in API group "image.openshift.io" in the namespace "p1"\n' +
        'Ask an admin of the project for a role binding (isctl policy add-role-to-user), or check the project\n',
    );
    const one = await cli.run(['describe', 'is', 'ruby'], env);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(
      /^Error from server \(Forbidden\): imagestreams.image.openshift.io "ruby" is forbidden: User "outsider" cannot get resource "imagestreams"/,
    );
    const history = await cli.run(['history', 'ruby:latest'], env);
    expect(history.code).toBe(1);
    expect(history.stderr).toMatch(/^Error from server \(Forbidden\): .*User "outsider" cannot get/);
  });
});

describe('isctl describe', () => {
  it('describe is: metadata, then every tag (latest first) with its source, failures and history', async () => {
    const out = await cli.ok(['describe', 'is', 'ruby']);
    const check = ruby.metadata.annotations['openshift.io/image.dockerRepositoryCheck'];
    const R = `${reg.host}/tiny/ruby`;
    expect(normalizeAgo(out)).toBe(
      [
        'Name:                   ruby',
        'Namespace:              p1',
        `Created:                <ago> (${ruby.metadata.creationTimestamp})`,
        'Labels:                 app=ruby',
        'Description:            Ruby runtimes',
        `Annotations:            openshift.io/image.dockerRepositoryCheck=${check}`,
        '                        team=lang',
        `Image Repository:       ${INTERNAL}/p1/ruby`,
        'Image Lookup:           local=false',
        'Unique Images:          7',
        'Tags:                   11',
        '',
        'latest (prod, stable)',
        `  tagged from ${R}:latest`,
        '    will use insecure HTTPS or HTTP connections',
        '',
        `  * ${R}@${L2}`,
        '      <ago>',
        `    ${R}@${L1}`,
        '      <ago>',
        '',
        '3.3',
        '  no spec tag',
        '',
        `  * quay.io/x/ruby@${d2}`,
        '      <ago>',
        '',
        '3.2',
        '  no spec tag',
        '',
        `  * quay.io/x/ruby@${d1}`,
        '      <ago>',
        '',
        'base',
        '  tagged from shared/base:1',
        '',
        `  * quay.io/x/base@${dBase}`,
        '      <ago>',
        '',
        'broken',
        `  tagged from ${R}:nope`,
        '    will use insecure HTTPS or HTTP connections',
        '',
        `  ! error: Import failed (NotFound): dockerimage.image.openshift.io "${R}:nope" not found`,
        '      <ago>',
        '',
        'ext',
        '  reference to registry quay.io/x/ext:1',
        '',
        '  * quay.io/x/ext:1',
        '      <ago>',
        '',
        'local',
        `  tagged from ruby@${d1}`,
        '    prefer registry pullthrough when referencing this tag',
        '',
        `  * quay.io/x/ruby@${d1}`,
        '      <ago>',
        '',
        'nightly',
        `  updates automatically from registry ${R}:nightly`,
        '    will use insecure HTTPS or HTTP connections',
        '',
        `  * ${R}@${N}`,
        '      <ago>',
        '',
        'pending',
        '  tagged from quay.io/x/pending:1',
        '',
        '  ~ importing latest image ...',
        '',
      ].join('\n'),
    );
  });

  it('describe is shows the newest 10 events of a long history and points at isctl history for the rest', async () => {
    const out = normalizeAgo(await cli.ok(['describe', 'imagestream', 'app']));
    const lines = out.split('\n');
    const at = lines.indexOf('busy');
    expect(lines.slice(at)).toEqual([
      'busy',
      '  no spec tag',
      '',
      `  * quay.io/x/app@${busy[29]}`,
      '      <ago>',
      ...busy
        .slice(20, 29)
        .reverse()
        .flatMap((d) => [`    quay.io/x/app@${d}`, '      <ago>']),
      '    ... 20 older (isctl history app:busy shows all 30)',
      '',
    ]);
    expect(lines.slice(0, at)).toContain('Tags:                   1');
  });

  it('describe istag: the image the tag points at; describe with no name describes them all', async () => {
    const out = normalizeAgo(await cli.ok(['describe', 'istag', 'ruby:nightly']));
    expect(out.split('\n')).toEqual([
      `Image Name:     ${N}`,
      `Docker Image:   ${reg.host}/tiny/ruby@${N}`,
      `Name:           ${N}`,
      // The test images' fixed build time (test-images.ts).
      'Created:        <ago> (2026-01-01T00:00:00Z)',
      'Annotations:    image.openshift.io/dockerLayersOrder=ascending',
      expect.stringMatching(/^Image Size: {5}\d+B in 1 layers$/),
      expect.stringMatching(/^Layers: {9}\d+B {4,}sha256:[0-9a-f]{64}$/),
      'Image Created:  <ago>',
      'Author:         <none>',
      'Arch:           amd64',
      'Command:        /hello',
      'Working Dir:    <none>',
      'User:           <none>',
      'Exposes Ports:  <none>',
      'Docker Labels:  test.label=nightly',
      '',
    ]);
    const isimage = normalizeAgo(await cli.ok(['describe', 'isimage', `ruby@${N}`]));
    expect(isimage).toBe(out);

    const all = normalizeAgo(await cli.ok(['describe', 'is', '-l', 'app']));
    expect(all.split('\n').filter((l) => l.startsWith('Name:'))).toEqual([
      'Name:                   python',
      'Name:                   ruby',
    ]);
    expect(await cli.run(['describe', 'is', '-n', 'empty'])).toEqual({
      code: 0,
      stdout: '',
      stderr: 'No resources found in empty namespace.\n',
    });
  });

  it('describe errors: NotFound exits 1, a bad name or type exits 2', async () => {
    expect(await cli.run(['describe', 'is', 'x'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error from server (NotFound): imagestreams.image.openshift.io "x" not found\n',
    });
    expect((await cli.run(['describe', 'istag', 'ruby@sha256:00'])).code).toBe(2);
    expect((await cli.run(['describe', 'buildconfig', 'x'])).code).toBe(2);
  });
});

describe('isctl history', () => {
  it('prints the whole timeline newest first, page after page, numbered, current marked, with who wrote it', async () => {
    const out = await cli.ok(['history', 'app:busy', '--chunk-size', '7']);
    const h = await ok(api.get(`${HISTORY('p1', 'app:busy')}?limit=500`));
    const t = parseTable(out);
    expect(t.headers).toEqual(['', '#', 'IMAGE', 'PULL SPEC', 'CREATED', 'BY', 'GENERATION']);
    expect(t.rows).toHaveLength(30);
    expect(t.rows).toEqual(
      busy
        .map((d, i) => [
          i === 29 ? '*' : '',
          String(i + 1),
          `sha256:${d.slice(7, 19)}`,
          `quay.io/x/app@${d}`,
          agoAfter(h.items[29 - i].created),
          i < 15 ? 'admin' : 'dev',
          String(h.items[29 - i].generation),
        ])
        .reverse(),
    );
    // One page or five, the same timeline.
    const whole = parseTable(await cli.ok(['history', 'app:busy']));
    expect(whole.rows.map((r) => r.slice(0, 4))).toEqual(t.rows.map((r) => r.slice(0, 4)));
  });

  it('-o json|yaml: the ImageStreamTagHistory with every page in one items list', async () => {
    const pages: any[] = [];
    let cont = '';
    do {
      const page = await ok(
        api.get(`${HISTORY('p1', 'app:busy')}?limit=9${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`),
      );
      pages.push(page);
      cont = page.metadata.continue ?? '';
    } while (cont);
    expect(pages.length).toBe(4);
    const json = JSON.parse(await cli.ok(['history', 'app:busy', '-o', 'json', '--chunk-size', '9']));
    const { continue: _c, ...metadata } = pages[0].metadata;
    expect(json).toEqual({ ...pages[0], metadata, total: 30, items: pages.flatMap((p) => p.items) });
    expect(json.items.map((e: any) => e.image)).toEqual([...busy].reverse());
    expect(parseYaml(await cli.ok(['history', 'ruby:latest', '-o', 'yaml']))).toEqual(
      await ok(api.get(`${HISTORY('p1', 'ruby:latest')}`)),
    );
  });

  it('an import that moved a tag: two entries, the newest current', async () => {
    const t = parseTable(await cli.ok(['history', 'ruby:latest']));
    expect(t.rows.map((r) => r.slice(0, 4).concat(r[5]!))).toEqual([
      ['*', '2', `sha256:${L2.slice(7, 19)}`, `${reg.host}/tiny/ruby@${L2}`, 'admin'],
      ['', '1', `sha256:${L1.slice(7, 19)}`, `${reg.host}/tiny/ruby@${L1}`, 'admin'],
    ]);
  });

  it('errors: no tag part exits 2, a missing tag exits 1 with NotFound', async () => {
    const noTag = await cli.run(['history', 'ruby']);
    expect(noTag.code).toBe(2);
    expect(noTag.stderr).toMatch(/^error: expected exactly one : delimiter in the istag "ruby"/);
    expect(await cli.run(['history', 'ruby:nope'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error from server (NotFound): imagestreamtags.image.openshift.io "ruby:nope" not found\n',
    });
    expect((await cli.run(['history', 'ruby:latest', '-o', 'wide'])).code).toBe(2);
    expect((await cli.run(['history', 'ruby:latest', '--chunk-size', '0'])).code).toBe(2);
  });
});
