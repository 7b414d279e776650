import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAllServiceProcesses, startServiceProcess, stopServiceProcess } from '../support/service-process';

/**
 * Local mode (README, "Configuration") through the real entry point (`npm start` runs functions/local/main.ts): each copy manages its own
 * DynamoDB Local, keeps data in its DATA_DIR across restarts, and two copies run side by side.
 */
const dirs: string[] = [];
afterAll(() => {
  killAllServiceProcesses();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function start(dataDir: string, env: Record<string, string> = {}) {
  return startServiceProcess({ DATA_DIR: dataDir, ADMIN_TOKEN: '', DYNAMODB_ENDPOINT: '', ...env });
}

const stopChild = stopServiceProcess;

describe('npm start', () => {
  it('runs two copies side by side and keeps each copy data across restarts', {
    timeout: 120_000,
  }, async () => {
    const a = mkdtempSync(join(tmpdir(), 'is-local-a-'));
    const b = mkdtempSync(join(tmpdir(), 'is-local-b-'));
    dirs.push(a, b);
    const [one, two] = await Promise.all([start(a), start(b)]);
    const tokenA = readFileSync(join(a, 'admin-token'), 'utf8').trim();
    const tokenB = readFileSync(join(b, 'admin-token'), 'utf8').trim();
    expect(tokenA).not.toBe(tokenB);
    // Each copy made its own key for registry secrets: 32 bytes only its owner may read.
    const keyA = readFileSync(join(a, 'secret-key'));
    expect(keyA).toHaveLength(32);
    expect(statSync(join(a, 'secret-key')).mode & 0o777).toBe(0o600);
    expect(keyA.equals(readFileSync(join(b, 'secret-key')))).toBe(false);
    expect(one.output()).toContain(tokenA);
    const path = '/apis/image.openshift.io/v1/namespaces/demo/imagestreams';
    const auth = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
    expect((await fetch(one.url + path)).status).toBe(401);
    expect((await fetch(one.url + path, { headers: auth(tokenB) })).status).toBe(401);
    const project = await fetch(`${one.url}/apis/project.openshift.io/v1/projectrequests`, {
      method: 'POST',
      headers: auth(tokenA),
      body: JSON.stringify({ metadata: { name: 'demo' } }),
    });
    expect(project.status).toBe(201);
    const created = await fetch(one.url + path, {
      method: 'POST',
      headers: auth(tokenA),
      body: JSON.stringify({ metadata: { name: 'kept' } }),
    });
    expect(created.status).toBe(201);
    const inTwo: any = await (await fetch(`${two.url}${path}`, { headers: auth(tokenB) })).json();
    expect(inTwo.items).toEqual([]);

    expect(await stopChild(one.child)).toBe(0);
    await stopChild(two.child);
    const again = await start(a);
    const list: any = await (await fetch(again.url + path, { headers: auth(tokenA) })).json();
    expect(list.items.map((s: any) => s.metadata.name)).toEqual(['kept']);
    expect(again.output()).not.toContain(tokenA); // an existing token is not printed again
    // The key is kept: the secrets sealed before the restart stay readable.
    expect(readFileSync(join(a, 'secret-key')).equals(keyA)).toBe(true);
    await stopChild(again.child);
  });

  it('accepts further identities from $LOCAL_TOKENS and fails fast on bad configuration', {
    timeout: 60_000,
  }, async () => {
    const d = mkdtempSync(join(tmpdir(), 'is-local-c-'));
    dirs.push(d);
    const svc = await start(d, {
      LOCAL_TOKENS: JSON.stringify({ 'dev-token-123': { user: 'dev', groups: ['team'] } }),
    });
    const dev = { authorization: 'Bearer dev-token-123', 'content-type': 'application/json' };
    const project = await fetch(`${svc.url}/apis/project.openshift.io/v1/projectrequests`, {
      method: 'POST',
      headers: dev,
      body: JSON.stringify({ metadata: { name: 'dev-project' } }),
    });
    expect(project.status).toBe(201);
    const res = await fetch(`${svc.url}/apis/image.openshift.io/v1/namespaces/dev-project/imagestreams`, {
      headers: dev,
    });
    expect(res.status).toBe(200);
    const elsewhere = await fetch(`${svc.url}/apis/image.openshift.io/v1/namespaces/demo/imagestreams`, {
      headers: dev,
    });
    expect(elsewhere.status).toBe(403);
    await stopChild(svc.child);
    const bad = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), ['functions/local/main.ts'], {
      env: { ...process.env, PORT: 'not-a-port', DATA_DIR: d },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    bad.stderr?.on('data', (b) => (err += b));
    const code = await new Promise((r) => bad.once('exit', r));
    expect(code).toBe(1);
    expect(err).toContain('PORT');
  });

  it('refuses to start with a secrets key file of the wrong size, or one other users may read', {
    timeout: 60_000,
  }, async () => {
    const d = mkdtempSync(join(tmpdir(), 'is-local-key-'));
    dirs.push(d);
    /**
     * Runs `npm start`'s entry point, which must exit 1 before it starts anything; returns stderr. One that starts
     * after all is stopped (its whole process group) after 15 s, and fails the test.
     */
    const refused = async (env: Record<string, string>) => {
      const child = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), ['functions/local/main.ts'], {
        env: { ...process.env, PORT: '0', DATA_DIR: d, ADMIN_TOKEN: '', DYNAMODB_ENDPOINT: '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let err = '';
      child.stderr?.on('data', (b) => (err += b));
      const exited = new Promise((r) => child.once('exit', r));
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      expect(code, err).toBe(1);
      return err;
    };
    const key = join(d, 'secret-key');
    writeFileSync(key, Buffer.alloc(31, 1), { mode: 0o600 });
    expect(await refused({})).toContain(
      `$DATA_DIR/secret-key (${key}): the key file must hold exactly 32 bytes, it holds 31`,
    );
    writeFileSync(key, Buffer.alloc(32, 1));
    chmodSync(key, 0o644);
    expect(await refused({})).toContain(
      `$DATA_DIR/secret-key (${key}): other users may read or write the key file (mode 0644); run chmod 600 on it`,
    );
    const elsewhere = join(d, 'elsewhere.key');
    writeFileSync(elsewhere, 'short', { mode: 0o600 });
    expect(await refused({ SECRETS_KEY_FILE: elsewhere })).toContain(
      `SECRETS_KEY_FILE (${elsewhere}): the key file must hold exactly 32 bytes, it holds 5`,
    );
    // Nothing was started or rewritten: the files are as they were.
    expect(readFileSync(key).equals(Buffer.alloc(32, 1))).toBe(true);
    expect(statSync(key).mode & 0o777).toBe(0o644);
  });
});
