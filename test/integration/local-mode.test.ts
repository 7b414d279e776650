import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAllServiceProcesses, startServiceProcess, stopServiceProcess } from '../support/service-process';

/**
 * DESIGN §7 through the real entry point (`npm start` runs functions/local/main.ts): each copy manages its own
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
});
