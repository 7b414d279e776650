import { describe, expect, it } from 'vitest';
import { namedObjects } from '../../../cli/commands/manage';
import { CliError, UsageError } from '../../../cli/errors';
import { type Manifest, parseSource } from '../../../cli/manage/manifests';
import { LAST_APPLIED } from '../../../cli/manage/merge';
import { cleanObject, KINDS, resolveTargets } from '../../../cli/manage/objects';

const parse = (text: string, source = 'f.yaml') => parseSource({ source, text });
const kinds = (ms: Manifest[]) => ms.map((m) => `${m.object.kind}/${(m.object.metadata as any)?.name}`);

describe('parseSource', () => {
  it('reads multi-document YAML, skipping empty documents', () => {
    const ms = parse(
      '---\nkind: ImageStream\nmetadata: {name: a}\n---\n---\nkind: Secret\nmetadata: {name: b}\n---\n',
    );
    expect(kinds(ms)).toEqual(['ImageStream/a', 'Secret/b']);
    expect(ms.every((m) => m.source === 'f.yaml')).toBe(true);
    expect(parse('# only a comment\n')).toEqual([]);
  });

  it('flattens kind: List and other …List kinds, nested too; reads JSON', () => {
    const json = JSON.stringify({
      kind: 'List',
      items: [
        { kind: 'ImageStream', metadata: { name: 'a' } },
        { kind: 'ImageStreamList', items: [{ kind: 'ImageStream', metadata: { name: 'b' } }] },
      ],
    });
    expect(kinds(parse(json, 'x.json'))).toEqual(['ImageStream/a', 'ImageStream/b']);
    expect(() => parse('kind: List\nitems: 3\n')).toThrow(/items must be a list/);
  });

  it('reads YAML as kubectl does: 1.1 booleans, timestamps as strings', () => {
    const [m] = parse(
      'kind: X\nmetadata: {name: a}\ninsecure: yes\ncreated: 2025-01-01T00:00:00Z\nv: "1.10"\n',
    );
    expect(m!.object).toMatchObject({ insecure: true, created: '2025-01-01T00:00:00Z', v: '1.10' });
  });

  it('a syntax error names source, line and column, and never quotes the text', () => {
    const text = 'kind: Secret\nstringData:\n  password: [hunter2\nother: x\n';
    let err: unknown;
    try {
      parse(text, 'secret.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    const message = (err as Error).message;
    expect(message).toMatch(/^error parsing secret\.yaml: line \d+, column \d+: \S/);
    expect(message).not.toContain('hunter2');
    expect(message.split('\n')).toHaveLength(1);
    // Broken JSON too (JSON.parse's own messages would quote it).
    const json = '{"kind": "Secret", "stringData": {"password": "hunter2",}';
    expect(() => parse(json, 's.json')).toThrow(/^error parsing s\.json: line \d+, column \d+: /);
    try {
      parse(json, 's.json');
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('a document that is not an object is an error', () => {
    expect(() => parse('just a string\n')).toThrow(/must be an object with apiVersion and kind/);
  });
});

describe('resolveTargets', () => {
  const m = (object: Record<string, unknown>, source = 'f.yaml'): Manifest => ({ source, object });
  const is = (name: string, extra: { metadata?: object } = {}) => ({
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name, ...extra.metadata },
  });
  const noProject = () => {
    throw new CliError('no project selected');
  };

  it('takes metadata.namespace, else the project (asked only when needed)', () => {
    const ts = resolveTargets([m(is('a', { metadata: { namespace: 'x' } }))], undefined, noProject);
    expect(ts.map((t) => [t.info.kind, t.namespace, t.name])).toEqual([['ImageStream', 'x', 'a']]);
    const ts2 = resolveTargets([m(is('b'))], 'p', () => 'p');
    expect(ts2[0]!.namespace).toBe('p');
  });

  it('accepts OpenShift 3’s apiVersion v1 for image streams; Secrets and RoleBindings; refuses the rest', () => {
    const ok = resolveTargets(
      [
        m({ apiVersion: 'v1', kind: 'ImageStream', metadata: { name: 'a' } }),
        m({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }),
        m({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'r' } }),
        m({
          apiVersion: 'image.openshift.io/v1',
          kind: 'ImageStreamTag',
          metadata: { name: 'a:b' },
          tag: {},
        }),
      ],
      undefined,
      () => 'p',
    );
    expect(ok.map((t) => t.info)).toEqual([
      KINDS.ImageStream,
      KINDS.Secret,
      KINDS.RoleBinding,
      KINDS.ImageStreamTag,
    ]);
    const bad = [
      m({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }),
      m({ apiVersion: 'authorization.openshift.io/v1', kind: 'RoleBinding', metadata: { name: 'old' } }),
      m({ kind: 'ImageStream', metadata: { name: 'noversion' } }),
      m(is('')),
      m({
        apiVersion: 'image.openshift.io/v1',
        kind: 'ImageStreamTag',
        metadata: { name: 'nocolon' },
        tag: {},
      }),
      m({ apiVersion: 'image.openshift.io/v1', kind: 'ImageStreamTag', metadata: { name: 'a:b' } }),
      m({ apiVersion: 'project.openshift.io/v1', kind: 'Project', metadata: { name: 'p' } }),
    ];
    let message = '';
    try {
      resolveTargets(bad, undefined, () => 'p');
    } catch (e) {
      message = (e as Error).message;
    }
    const problems = message.split('\nerror: ');
    expect(problems).toHaveLength(7);
    expect(problems[0]).toContain('no matches for kind "Deployment" in version "apps/v1"');
    expect(problems[1]).toContain(
      'no matches for kind "RoleBinding" in version "authorization.openshift.io/v1"',
    );
    expect(problems[2]).toContain('apiVersion and kind are required');
    expect(problems[3]).toContain('metadata.name is required');
    expect(problems[4]).toContain('<stream>:<tag>');
    expect(problems[5]).toContain('tag is required');
    expect(problems[6]).toContain('no matches for kind "Project"');
    expect(message).toMatch(/nothing was written/);
  });

  it('an explicit -n that differs from metadata.namespace is kubectl’s error', () => {
    expect(() => resolveTargets([m(is('a', { metadata: { namespace: 'x' } }))], 'y', () => 'y')).toThrow(
      `the namespace from the provided object "x" does not match the namespace "y". You must pass '--namespace=x' to perform this operation.`,
    );
    expect(resolveTargets([m(is('a', { metadata: { namespace: 'x' } }))], 'x', () => 'x')).toHaveLength(1);
  });

  it('drops status and server-owned fields (an exported object applies as is)', () => {
    const exported = {
      apiVersion: 'image.openshift.io/v1',
      kind: 'ImageStream',
      metadata: {
        name: 'a',
        uid: 'u',
        resourceVersion: '5',
        generation: 3,
        creationTimestamp: 't',
        managedFields: [],
        annotations: { keep: 'me', [LAST_APPLIED]: '{}' },
      },
      spec: { tags: [] },
      status: { dockerImageRepository: 'x' },
    };
    expect(cleanObject(exported, 'ImageStream')).toEqual({
      apiVersion: 'image.openshift.io/v1',
      kind: 'ImageStream',
      metadata: { name: 'a', annotations: { keep: 'me' } },
      spec: { tags: [] },
    });
    const istag = cleanObject(
      {
        kind: 'ImageStreamTag',
        metadata: { name: 'a:b' },
        tag: {},
        image: {},
        generation: 2,
        lookupPolicy: {},
        conditions: [],
      },
      'ImageStreamTag',
    );
    expect(istag).toEqual({ kind: 'ImageStreamTag', metadata: { name: 'a:b' }, tag: {} });
  });
});

describe('delete TYPE NAME… / TYPE/NAME…', () => {
  it('reads both forms with oc’s names', () => {
    expect(namedObjects(['is', 'a', 'b']).map((o) => [o.info.kind, o.name])).toEqual([
      ['ImageStream', 'a'],
      ['ImageStream', 'b'],
    ]);
    expect(
      namedObjects([
        'istag/a:b',
        'secret/s',
        'rolebindings/r',
        'project/p',
        'imagestreams.image.openshift.io/x',
      ]).map((o) => o.info.kind),
    ).toEqual(['ImageStreamTag', 'Secret', 'RoleBinding', 'Project', 'ImageStream']);
  });

  it.each([[[]], [['is']], [['pods', 'x']], [['is/a', 'b']], [['is', 'a/b']]])(
    '%j is a usage error',
    (args) => {
      expect(() => namedObjects(args)).toThrow(UsageError);
    },
  );
});
