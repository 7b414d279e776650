import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cli } from '../support/cli';
import { ADMIN_TOKEN, type Api, startStack } from '../support/local-stack';

/** login, whoami, new-project, project, projects and where isctl takes its settings from. */

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
let cli: Cli;

beforeAll(async () => {
  stack = await startStack({
    LOCAL_TOKENS: JSON.stringify({ 'fay-token-0123456789': { user: 'fay', groups: ['qa'] } }),
  });
  api = stack.api;
  cli = new Cli();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  cli?.cleanup();
});

describe('isctl session commands', () => {
  it('logs in, remembers server and token in a private config file, and refuses a bad token', async () => {
    const bad = await cli.run(['login', '--server', api.url, '--token', 'wrong-token']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Error from server (Unauthorized)');
    expect(bad.stderr).toContain('isctl login');
    const missing = await cli.run(['login', '--server', api.url]);
    expect(missing.code).toBe(2);
    const hostOnly = api.url.replace(/^http:\/\//, '');
    const noScheme = await cli.run(['login', '--server', hostOnly, '--token', 'fay-token-0123456789']);
    expect(noScheme.code).toBe(2);
    expect(noScheme.stderr).toContain(`the server URL "${hostOnly}" has no scheme: write http://${hostOnly}`);

    const out = await cli.ok(['login', '--server', `${api.url}/`, '--token', 'fay-token-0123456789']);
    expect(out).toContain(`Logged into "${api.url}" as "fay"`);
    expect(out).toContain("You don't have any projects");
    const config = JSON.parse(readFileSync(cli.configPath, 'utf8'));
    expect(config).toEqual({ server: api.url, token: 'fay-token-0123456789' });
    expect(statSync(cli.configPath).mode & 0o777).toBe(0o600);
    expect(await cli.ok(['whoami', '--groups'])).toBe('fay\nqa\nsystem:authenticated\n');
  });

  it('creates projects, switches between them, and lists them with the current one marked', async () => {
    const noProject = await cli.run(['project']);
    expect(noProject.code).toBe(1);
    expect(noProject.stderr).toContain('no project selected');

    expect(await cli.ok(['new-project', 'qa-one', '--display-name', 'QA one'])).toBe(
      `Now using project "qa-one" on server "${api.url}".\n`,
    );
    await cli.ok(['new-project', 'qa-two']);
    expect(await cli.ok(['project', '-q'])).toBe('qa-two\n');
    expect(await cli.ok(['project', 'qa-one'])).toContain('Now using project "qa-one"');
    const list = (await cli.ok(['projects'])).split('\n');
    expect(list[0]).toMatch(/^\s+NAME\s+DISPLAY NAME\s+STATUS\s+CREATED$/);
    expect(list[1]).toMatch(/^\*\s+qa-one\s+QA one\s+Active\s+\d+ seconds? ago$/);
    expect(list[2]).toMatch(/^\s+qa-two\s+Active/);
    expect((await cli.ok(['projects', '-o', 'name'])).trim().split('\n')).toEqual([
      'project.project.openshift.io/qa-one',
      'project.project.openshift.io/qa-two',
    ]);
    const json = JSON.parse(await cli.ok(['projects', '-o', 'json']));
    expect(json.kind).toBe('ProjectList');

    // switching to a project one cannot see fails and keeps the current one
    await api.newProject('admins-only');
    const denied = await cli.run(['project', 'admins-only']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('Error from server (Forbidden)');
    expect(await cli.ok(['project', '-q'])).toBe('qa-one\n');
    const taken = await cli.run(['new-project', 'qa-one']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain(
      'Error from server (AlreadyExists): project.project.openshift.io "qa-one" already exists',
    );
  });

  it('takes flags over the environment over the config file', async () => {
    // $ISCTL_TOKEN (the admin) beats the stored token; --token beats both
    expect(await cli.ok(['whoami'], { ISCTL_TOKEN: ADMIN_TOKEN })).toBe('admin\n');
    expect(await cli.ok(['whoami', '--token', 'fay-token-0123456789'], { ISCTL_TOKEN: ADMIN_TOKEN })).toBe(
      'fay\n',
    );
    // -n beats $ISCTL_PROJECT, which beats the current project
    expect(await cli.ok(['project', '-q'], { ISCTL_PROJECT: 'qa-two' })).toBe('qa-two\n');
    expect(await cli.ok(['project', '-q', '-n', 'qa-one'], { ISCTL_PROJECT: 'qa-two' })).toBe('qa-one\n');
    // another config file altogether
    const other = `${cli.dir}/other.json`;
    const none = await cli.run(['whoami', '--config', other]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no server configured');
    // a server that is not there: what went wrong and what to check
    const down = await cli.run(['whoami', '--server', 'http://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('unable to connect to the server at http://127.0.0.1:1');
  });

  it('logs out by forgetting the token only', async () => {
    expect(await cli.ok(['logout'])).toContain(`Logged out of "${api.url}"`);
    const config = JSON.parse(readFileSync(cli.configPath, 'utf8'));
    expect(config.token).toBeUndefined();
    expect(config.server).toBe(api.url);
    const after = await cli.run(['whoami']);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('Error from server (Unauthorized)');
  });
});
