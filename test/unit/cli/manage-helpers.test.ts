import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { ServerError } from '../../../cli/errors';
import { age } from '../../../cli/manage/age';
import { bashCompletion, describeCommands, zshCompletion } from '../../../cli/manage/completion';
import { quoteNames, sameSubject, subjectFor, uniqueBindingName } from '../../../cli/manage/policy';
import { describeFailure } from '../../../cli/manage/report';
import { dockerConfigJson, dockerConfigType, dockerSecret } from '../../../cli/manage/secret-content';
import { redact } from '../../../cli/manage/secrets';

describe('secret content', () => {
  it('dockerConfigJson writes username, password and auth for one registry', () => {
    const config = JSON.parse(
      dockerConfigJson({ server: 'quay.io', username: 'u', password: 'p:w', email: 'e@x' }),
    );
    expect(config).toEqual({
      auths: {
        'quay.io': {
          username: 'u',
          password: 'p:w',
          email: 'e@x',
          auth: Buffer.from('u:p:w').toString('base64'),
        },
      },
    });
    const secret = dockerSecret('pull', 'kubernetes.io/dockerconfigjson', '{"auths":{}}');
    expect(secret).toMatchObject({
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') },
    });
    expect(dockerSecret('old', 'kubernetes.io/dockercfg', '{}').data).toHaveProperty(['.dockercfg']);
  });

  it('dockerConfigType tells config.json from .dockercfg and refuses helpers and non-JSON without quoting', () => {
    expect(dockerConfigType('{"auths":{"quay.io":{"auth":"x"}}}', 'c.json')).toBe(
      'kubernetes.io/dockerconfigjson',
    );
    expect(dockerConfigType('{"quay.io":{"auth":"x"}}', 'c.json')).toBe('kubernetes.io/dockercfg');
    expect(() => dockerConfigType('{"auths":{},"credsStore":"desktop"}', 'c.json')).toThrow(
      /credential helper/,
    );
    expect(() => dockerConfigType('{"auths": {"quay.io": {"auth": "s3cret"}', 'c.json')).toThrow(
      /^c\.json is not a Docker config: it is not valid JSON$/,
    );
    expect(() => dockerConfigType('{}', 'c.json')).toThrow(/empty/);
  });

  it('redact hides the value of an echoed --flag=value', () => {
    expect(redact("error: unknown option '--docker-pasword=hunter2'")).toBe(
      "error: unknown option '--docker-pasword=<redacted>'",
    );
    expect(redact("error: unknown option '--nope'")).toBe("error: unknown option '--nope'");
  });
});

describe('policy helpers', () => {
  it('names a new binding after the role, then ROLE-0, ROLE-1… (oc)', () => {
    expect(uniqueBindingName('edit', new Set(['admin']))).toBe('edit');
    expect(uniqueBindingName('edit', new Set(['edit', 'edit-0']))).toBe('edit-1');
  });

  it('prints names as Go’s %q', () => {
    expect(quoteNames(['alice'])).toBe('"alice"');
    expect(quoteNames(['alice', 'bob'])).toBe('["alice" "bob"]');
  });

  it('a service account user is a ServiceAccount subject', () => {
    expect(subjectFor('User', 'system:serviceaccount:ci:builder')).toEqual({
      kind: 'ServiceAccount',
      name: 'builder',
      namespace: 'ci',
    });
    expect(subjectFor('Group', 'devs')).toEqual({
      kind: 'Group',
      apiGroup: 'rbac.authorization.k8s.io',
      name: 'devs',
    });
    expect(
      sameSubject(
        { kind: 'ServiceAccount', name: 'b' },
        { kind: 'ServiceAccount', name: 'b', namespace: 'p' },
        'p',
      ),
    ).toBe(true);
    expect(sameSubject({ kind: 'User', name: 'b' }, { kind: 'Group', name: 'b' }, 'p')).toBe(false);
  });
});

describe('describeFailure', () => {
  it('lists every field path of an Invalid answer', () => {
    const e = new ServerError(
      422,
      {
        kind: 'Status',
        reason: 'Invalid',
        message:
          'ImageStream.image.openshift.io "bad" is invalid: [spec.tags[t].x: Invalid value, spec.tags[u].y: Required value]',
        details: {
          causes: [
            { field: 'spec.tags[t].x', message: 'Invalid value' },
            { field: 'spec.tags[u].y', message: 'Required value' },
          ],
        },
      },
      '',
    );
    expect(describeFailure(e, 'applying', 'f.yaml')).toBe(
      'Error from server (Invalid): error when applying "f.yaml": ImageStream.image.openshift.io "bad" is invalid:\n* spec.tags[t].x: Invalid value\n* spec.tags[u].y: Required value',
    );
  });

  it('keeps a single cause on one line, adds hints, and passes other errors through', () => {
    const forbidden = new ServerError(403, { reason: 'Forbidden', message: 'no' }, '');
    expect(describeFailure(forbidden)).toMatch(/^Error from server \(Forbidden\): no\nAsk an admin/);
    const plain = new ServerError(502, undefined, 'Bad Gateway');
    expect(describeFailure(plain, 'creating', 'x')).toBe(
      'Error from server (HTTP 502): error when creating "x": Bad Gateway',
    );
    expect(describeFailure(new Error('unable to connect'), 'deleting', 'x')).toBe(
      'error when deleting "x": unable to connect',
    );
  });
});

describe('age', () => {
  const now = Date.parse('2026-01-10T00:00:00Z');
  const ago = (s: number) => new Date(now - s * 1000).toISOString();
  it.each([
    [5, '5s'],
    [119, '119s'],
    [150, '2m30s'],
    [600, '10m'],
    [3 * 3600 + 600, '3h10m'],
    [30 * 3600, '30h'],
    [3 * 86_400 + 3600, '3d1h'],
    [100 * 86_400, '100d'],
    [3 * 365 * 86_400, '3y'],
  ])('%i seconds is %s', (s, text) => {
    expect(age(ago(s), now)).toBe(text);
  });
  it('handles missing and future times', () => {
    expect(age(undefined, now)).toBe('<unknown>');
    expect(age(new Date(now + 60_000).toISOString(), now)).toBe('<invalid>');
  });
});

describe('completion', () => {
  const program = () => {
    const p = new Command('tool').option('-n, --namespace <ns>').option('--verbose');
    p.command('get').argument('<type>').option('-o, --output <format>');
    p.command('delete').option('--ignore-not-found');
    const group = p.command('group');
    group.command('sub').option("--it's <x>");
    p.command('secret-thing', { hidden: true });
    return p;
  };

  it('walks every command with its ancestors’ flags and which flags take values', () => {
    const cmds = describeCommands(program());
    expect(cmds.map((c) => c.path)).toEqual(['', 'get', 'delete', 'group', 'group sub']);
    const get = cmds.find((c) => c.path === 'get')!;
    expect(get.flags).toEqual(['-n', '--namespace', '--verbose', '-o', '--output', '-h', '--help']);
    expect(get.valueFlags).toEqual(['-n', '--namespace', '-o', '--output']);
    expect(cmds[0]!.subcommands).toEqual(['get', 'delete', 'group']);
    expect(cmds.find((c) => c.path === 'group')!.subcommands).toEqual(['sub']);
  });

  it('writes case tables, resource types for get and delete, quoting safely', () => {
    const script = bashCompletion(program());
    expect(script).toContain(`'group sub') printf '%s\\n'`);
    expect(script).toContain(`'get') printf '%s\\n' 'is imagestream imagestreams istag`);
    expect(script).toContain(`'delete') printf '%s\\n' 'is imagestream imagestreams istag`);
    expect(script).toContain(`'\\''`);
    expect(script).toContain('complete -o default -F _tool tool');
    expect(zshCompletion(program())).toMatch(/bashcompinit[\s\S]*complete -o default -F _tool tool/);
  });
});
