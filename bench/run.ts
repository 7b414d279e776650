/**
 * `npm run bench`: DESIGN §9 figures, each against a baseline measured in the same run on the same machine.
 * Row 1: resolve a tag (GET imagestreamtag through the local API) vs a raw GetItem on the same DynamoDB Local.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local';
import { createDocumentClient } from '../functions/store/dynamodb-client';
import { keys } from '../functions/store/keys';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1000);
const WARMUP = 50;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function interleaved(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  n: number,
): Promise<{ raw: number[]; api: number[] }> {
  for (let i = 0; i < WARMUP; i++) {
    await a();
    await b();
  }
  const raw: number[] = [];
  const api: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await a();
    raw.push(performance.now() - t);
    t = performance.now();
    await b();
    api.push(performance.now() - t);
  }
  return { raw, api };
}

/** Runs the service as its own process, exactly as `npm start` does, against the given DynamoDB endpoint. */
async function startServiceProcess(
  endpoint: string,
  dataDir: string,
  token: string,
): Promise<{ url: string; stop: () => void }> {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const child = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), ['functions/local/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      ADMIN_TOKEN: token,
      TABLE_NAME: 'bench',
      DYNAMODB_ENDPOINT: endpoint,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, stop: () => child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the service did not start');
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'imagestreams-bench-'));
  const token = 'bench-admin-token-0123456789';
  const ddb = await startDynamoDbLocal({});
  const service = await startServiceProcess(ddb.endpoint, dataDir, token);
  try {
    const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const base = `${service.url}/apis/image.openshift.io/v1/namespaces/bench`;
    await fetch(`${base}/imagestreams`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ metadata: { name: 's' } }),
    });
    const d = `sha256:${'ab'.repeat(32)}`;
    const m = await fetch(`${base}/imagestreammappings`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({
        metadata: { name: 's' },
        tag: 'latest',
        image: { metadata: { name: d }, dockerImageReference: `quay.io/x/y@${d}` },
      }),
    });
    if (m.status !== 201) throw new Error(`setup failed: ${m.status}`);

    const db = createDocumentClient({ endpoint: ddb.endpoint });
    const rawKey = { PK: keys.streamPk('bench', 's'), SK: keys.tagSk('latest') };
    const rawCall = () => db.send(new GetCommand({ TableName: 'bench', Key: rawKey, ConsistentRead: true }));
    // The same client stack as the baseline: the SDK sends GetItem with node:http over a keep-alive agent.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const istagUrl = new URL(`${base}/imagestreamtags/s:latest`);
    const apiCall = () =>
      new Promise<void>((resolve, reject) => {
        const req = request(istagUrl, { agent, headers: { authorization: h.authorization } }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`GET istag ${res.statusCode}`));
          res.on('data', () => undefined);
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end();
      });
    // Interleaved, so drift in machine load hits both series alike.
    const { raw, api } = await interleaved(rawCall, apiCall, SAMPLES);
    const ratio = median(api) / median(raw);
    const f = (x: number) => x.toFixed(2).padStart(7);
    console.log(
      `\nDESIGN §9 row 1: resolve a tag (service in its own process, as npm start runs it), ${SAMPLES} interleaved samples each after ${WARMUP} warm-up calls`,
    );
    console.log('                                          median     p90     p99   (ms)');
    console.log(
      `  raw GetItem on DynamoDB Local          ${f(median(raw))} ${f(pct(raw, 0.9))} ${f(pct(raw, 0.99))}`,
    );
    console.log(
      `  GET imagestreamtag via local API       ${f(median(api))} ${f(pct(api, 0.9))} ${f(pct(api, 0.99))}`,
    );
    console.log(
      `  ratio (median)                         ${ratio.toFixed(2)}x   budget <= 1.5x   ${ratio <= 1.5 ? 'within budget' : 'OVER BUDGET'}`,
    );
    db.destroy();
  } finally {
    service.stop();
    await ddb.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
