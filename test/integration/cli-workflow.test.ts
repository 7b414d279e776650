import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cli } from '../support/cli';
import { type Api, ISTAG, startStack } from '../support/local-stack';
import { pushImage, type Registry, startRegistry } from '../support/registries';

/**
 * What a new user does on day one, through the isctl bundle as a subprocess against the local stack and a
 * loopback registry: log in, create a project, import, tag, alias, promote, roll back, look around, share with a
 * colleague, clean up. Each step is checked through the API as well as in what the CLI printed.
 */

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Api;
let reg: Registry;
let cli: Cli;
let colleague: Cli;
const d: Record<string, string> = {};

beforeAll(async () => {
  stack = await startStack({
    LOCAL_TOKENS: JSON.stringify({
      'dana-token-0123456789': { user: 'dana', groups: ['devs'] },
      'eli-token-0123456789': { user: 'eli', groups: ['devs'] },
    }),
  });
  api = stack.api;
  reg = await startRegistry('anonymous');
  d.v1 = await pushImage(reg, 'team/web', 'v1', { label: 'web-v1' });
  d.v2 = await pushImage(reg, 'team/web', 'v2', { label: 'web-v2' });
  cli = new Cli();
  colleague = new Cli();
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  await stack?.stop();
  cli?.cleanup();
  colleague?.cleanup();
});

const top = async (tag: string, ns = 'web-team') =>
  (await api.get(ISTAG(ns, `web:${tag}`))).body.image?.metadata?.name as string | undefined;

describe('a new user’s first day with isctl', () => {
  it('logs in, creates a project, imports, tags, aliases, promotes, rolls back, inspects and cleans up', {
    timeout: 120_000,
  }, async () => {
    // not logged in yet: a clear error, exit 1
    const early = await cli.run(['get', 'is']);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('isctl login');

    const login = await cli.ok(['login', '--server', api.url, '--token', 'dana-token-0123456789']);
    expect(login).toContain(`Logged into "${api.url}" as "dana"`);
    expect(login).toContain('isctl new-project');
    expect(await cli.ok(['whoami'])).toBe('dana\n');

    expect(await cli.ok(['new-project', 'web-team'])).toContain('Now using project "web-team"');
    expect(await cli.ok(['projects'])).toMatch(/\*\s+web-team/);

    // import one tag from the registry (the stream does not exist yet: --confirm)
    const src = `${reg.host}/team/web`;
    const noConfirm = await cli.run(['import-image', 'web:v1', '--from', `${src}:v1`, '--insecure']);
    expect(noConfirm.code).not.toBe(0);
    await cli.ok(['import-image', 'web:v1', '--from', `${src}:v1`, '--insecure', '--confirm']);
    expect(await top('v1')).toBe(d.v1);

    // prod is a snapshot of v1's image; live follows prod
    await cli.ok(['tag', 'web:v1', 'web:prod']);
    await cli.ok(['tag', '--alias', 'web:prod', 'web:live']);
    expect(await top('prod')).toBe(d.v1);
    expect(await top('live')).toBe(d.v1);

    // a new version arrives and is promoted: prod moves, live follows
    await cli.ok(['import-image', 'web:v2', '--from', `${src}:v2`, '--insecure']);
    await cli.ok(['tag', 'web:v2', 'web:prod']);
    expect(await top('prod')).toBe(d.v2);
    expect(await top('live')).toBe(d.v2);

    // v2 misbehaves: roll prod back without re-pushing anything
    await cli.ok(['rollback', 'web:prod']);
    expect(await top('prod')).toBe(d.v1);
    expect(await top('live')).toBe(d.v1);

    // look around: the tags, the stream, prod's whole timeline with who moved it
    const tags = await cli.ok(['get', 'istag']);
    for (const t of ['web:v1', 'web:v2', 'web:prod', 'web:live']) expect(tags).toContain(t);
    expect(tags).toContain(`${src}@${d.v1}`);
    const described = await cli.ok(['describe', 'is', 'web']);
    expect(described).toContain('web-team');
    expect(described).toContain(d.v2);
    const history = await cli.ok(['history', 'web:prod']);
    expect(history).toContain('dana');
    expect(history.indexOf(d.v1!.slice(0, 19))).toBeGreaterThanOrEqual(0);
    expect(history).toContain(d.v2!.slice(0, 19));
    const json = JSON.parse(await cli.ok(['get', 'istag', 'web:prod', '-o', 'json']));
    expect(json).toMatchObject({ kind: 'ImageStreamTag', image: { metadata: { name: d.v1 } } });

    // share with a colleague: eli cannot see the project until dana grants view
    await colleague.ok(['login', '--server', api.url, '--token', 'eli-token-0123456789']);
    const denied = await colleague.run(['get', 'is', '-n', 'web-team']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('Error from server (Forbidden)');
    await cli.ok(['policy', 'add-role-to-user', 'view', 'eli']);
    expect(await colleague.ok(['get', 'is', '-n', 'web-team'])).toContain('web');
    const cannotTag = await colleague.run(['tag', 'web:v2', 'web:prod', '-n', 'web-team']);
    expect(cannotTag.code).toBe(1);
    expect(await top('prod')).toBe(d.v1);

    // clean up: a tag, then the stream
    await cli.ok(['tag', '-d', 'web:live']);
    expect((await api.get(ISTAG('web-team', 'web:live'))).status).toBe(404);
    await cli.ok(['delete', 'is', 'web']);
    const gone = await cli.run(['get', 'is', 'web']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(
      'Error from server (NotFound): imagestreams.image.openshift.io "web" not found',
    );

    // usage errors exit 2 and say what is wrong
    const usage = await cli.run(['tag', 'web:v1']);
    expect(usage.code).toBe(2);
    const unknown = await cli.run(['frobnicate']);
    expect(unknown.code).toBe(2);
  });
});
