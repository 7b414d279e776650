import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Cli } from '../support/cli';
import { Api, ISTAG } from '../support/local-stack';
import { pushImage, type Registry, startRegistry } from '../support/registries';
import { killServiceProcess, type ServiceProcess, startServiceProcess } from '../support/service-process';

/**
 * The README's quick start, run as written: the `sh quickstart` block goes to bash unchanged, with `npx isctl`
 * answered by the bundle `npm ci` builds, against the service started the way `npm start` starts it, with a
 * `DATA_DIR` (its admin token) and `PORT` other than the defaults, and `IMAGE` pointing at a loopback docker-registry.
 */

let work: string;
let reg: Registry;
let svc: ServiceProcess;
let cli: Cli;
const digests: Record<string, string> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'isctl-quickstart-'));
  // Not the default .data: the block must work with any DATA_DIR and PORT.
  mkdirSync(join(work, 'state'));
  reg = await startRegistry('anonymous');
  digests['3.19'] = await pushImage(reg, 'library/alpine', '3.19', { label: 'alpine-3.19' });
  digests['3.20'] = await pushImage(reg, 'library/alpine', '3.20', { label: 'alpine-3.20' });
  svc = await startServiceProcess({
    DATA_DIR: join(work, 'state'),
    TABLE_NAME: `qs${Math.random().toString(36).slice(2, 8)}`,
    DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
    // The loopback registry speaks plain HTTP; a real IMAGE needs nothing of the sort.
    INSECURE_REGISTRIES: reg.host,
    SCHEDULER: 'off',
    LOG_LEVEL: 'warn',
  });
  cli = new Cli();
}, 120_000);

afterAll(async () => {
  if (svc) await killServiceProcess(svc.child);
  await reg?.stop();
  cli?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

function quickstartBlock(): string {
  const readme = readFileSync('README.md', 'utf8');
  const block = /```sh quickstart\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```sh quickstart block');
  return block;
}

describe('README quick start', () => {
  it('runs as written and leaves the tags where it says', { timeout: 120_000 }, async () => {
    const script = [
      'set -euo pipefail',
      // `npx isctl …` as a checkout runs it: the bundled bin.
      'npx() { if [ "$1" = isctl ]; then shift; node "$ISCTL_BIN" "$@"; else echo "unexpected: npx $*" >&2; return 1; fi; }',
      quickstartBlock(),
    ].join('\n');
    const port = new URL(svc.url).port;
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', script],
        {
          cwd: work,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: cli.dir,
            XDG_CONFIG_HOME: join(cli.dir, 'config'),
            PORT: port,
            DATA_DIR: join(work, 'state'),
            IMAGE: `${reg.host}/library/alpine`,
            ISCTL_BIN: cli.bin,
          },
          timeout: 100_000,
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(result.code, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('Logged into');
    expect(result.stdout).toContain('Now using project "demo"');

    const token = readFileSync(join(work, 'state', 'admin-token'), 'utf8').trim();
    const api = new Api(svc.url, token);
    const top = async (tag: string) =>
      (await api.get(ISTAG('demo', `alpine:${tag}`))).body.image?.metadata?.name;
    expect(await top('3.19')).toBe(digests['3.19']);
    expect(await top('3.20')).toBe(digests['3.20']);
    // promoted to 3.20, then rolled back: prod and live (its alias) are on 3.19's image again
    expect(await top('prod')).toBe(digests['3.19']);
    expect(await top('live')).toBe(digests['3.19']);
    const history = await api.get(
      `/apis/imagestreams.io/v1/namespaces/demo/imagestreamtaghistories/${encodeURIComponent('alpine:prod')}`,
    );
    expect(history.body.items.map((e: { image: string }) => e.image)).toEqual([
      digests['3.19'],
      digests['3.20'],
      digests['3.19'],
    ]);
    // what the last three commands showed: both digests, and prod's timeline
    expect(result.stdout).toContain(`${reg.host}/library/alpine@${digests['3.19']}`);
    expect(result.stdout).toContain(digests['3.20']!.slice(0, 19));
  });
});
