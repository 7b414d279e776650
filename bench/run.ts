/**
 * `npm run bench`: DESIGN §9 figures, each against a baseline measured in the same run on the same machine.
 * Row 1: resolve a tag (GET imagestreamtag through the local API) vs a raw GetItem on the same DynamoDB Local.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { readLocalConfig } from '../functions/local/local-config';
import { startLocalService } from '../functions/local/service';
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

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'imagestreams-bench-'));
  const token = 'bench-admin-token-0123456789';
  const service = await startLocalService(
    readLocalConfig({ PORT: '0', DATA_DIR: dataDir, ADMIN_TOKEN: token, TABLE_NAME: 'bench' }),
    {
      log: () => undefined,
    },
  );
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

    const db = createDocumentClient({ endpoint: service.dynamodbEndpoint });
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
      `\nDESIGN §9 row 1: resolve a tag, ${SAMPLES} interleaved samples each after ${WARMUP} warm-up calls`,
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
    await service.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
