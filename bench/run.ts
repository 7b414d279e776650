/**
 * `npm run bench`: the service's performance budgets (README, "Tests and benchmarks"), each against a baseline
 * measured in the same run on the same machine.
 * Row 1: resolve a tag (GET imagestreamtag through the local API) vs a raw GetItem on the same DynamoDB Local.
 * Row 2: re-check an unchanged tag: registry requests (from the registry's own log) and table writes.
 * Row 3: import 200 tags (distinct images) from a loopback registry vs a `skopeo inspect` loop over the same tags.
 * Row 4: one scheduled cycle over 10,000 unchanged tags: registry requests, writes, wall time and peak memory,
 *        at 1 and 4 concurrent jobs (bench/scheduled-cycle.ts, its own process) vs a bare HEAD loop.
 * Row 5: each Lambda bundle's size and module init time (fresh processes).
 * Row 6: GET imagestreamtag throughput with 32 concurrent clients vs raw GetItem throughput at the same
 *        concurrency (and each one's p99 latency).
 * Row 7: GET imagestream answered as a meta.k8s.io Table (kubectl get) vs the same GET as JSON.
 * Row 8: `skopeo copy` of a 50 MB image through the service vs straight from upstream, and the service's peak RSS
 *        (bench/pull-through.ts).
 * Row 9: a watch client's delay from a tag write to its event (bench/watch-latency.ts).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local';
import { DirectReads } from '../functions/store/direct-reads';
import { createDocumentClient } from '../functions/store/dynamodb-client';
import { keys } from '../functions/store/keys';
import { buildLambdaBundle, lambdaEntries, probeEnvironment } from '../infra/bundle-entries';
import { startLatencyProxy } from '../test/support/latency-proxy';
import { pushDistinctTags, pushImage, type Registry, startRegistry } from '../test/support/registries';
import { pullThroughRow } from './pull-through';
import { watchLatencyRow } from './watch-latency';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1000);
/** Rows to run (`BENCH_ROWS=1,4`); row 1 always runs, it sets up the service the others use. */
const rows = new Set(
  (process.env.BENCH_ROW1_ONLY ? '1' : (process.env.BENCH_ROWS ?? '1,2,3,4,5,6,7,8,9'))
    .split(',')
    .map(Number),
);
const WARMUP = 50;
const VIEWER_TOKEN = 'bench-viewer-token-0123456789';

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

/**
 * Row 7: what server-side printing costs. GET imagestream answered as a meta.k8s.io Table (kubectl get's Accept)
 * against the same GET as JSON, interleaved; the ratio of the medians.
 */
async function tableRow(agent: Agent, url: URL, bearer: string): Promise<void> {
  const get = (accept: string) => () =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { agent, headers: { authorization: `Bearer ${bearer}`, accept } }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET imagestream ${res.statusCode}`));
        res.on('data', () => undefined);
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
  const { raw: json, api: table } = await interleaved(
    get('application/json'),
    get('application/json;as=Table;v=v1;g=meta.k8s.io,application/json'),
    SAMPLES,
  );
  const f = (x: number) => x.toFixed(2).padStart(7);
  console.log(
    `\nrow 7: GET imagestream as a Table (kubectl get) vs as JSON, ${SAMPLES} interleaved samples each`,
  );
  console.log('                                          median     p90     p99   (ms)');
  console.log(
    `  GET imagestream as JSON                ${f(median(json))} ${f(pct(json, 0.9))} ${f(pct(json, 0.99))}`,
  );
  console.log(
    `  GET imagestream as a Table             ${f(median(table))} ${f(pct(table, 0.9))} ${f(pct(table, 0.99))}`,
  );
  console.log(`  ratio (median)                         ${(median(table) / median(json)).toFixed(2)}x`);
}

/** Runs the service as its own process, exactly as `npm start` does, against the given DynamoDB endpoint. */
async function startServiceProcess(
  endpoint: string,
  dataDir: string,
  token: string,
): Promise<{ url: string; pid: number; stop: () => void }> {
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
      // A project user for row 1: their reads pass the access check that cluster administrators skip.
      LOCAL_TOKENS: JSON.stringify({ [VIEWER_TOKEN]: { user: 'bench-viewer', groups: [] } }),
      // Row 4 runs its cycle explicitly; the service's own timer would add cycles of its own.
      SCHEDULER: 'off',
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
      return { url, pid: child.pid!, stop: () => child.kill('SIGTERM') };
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
    // Streams live in projects: one per namespace the rows use, and a view binding for row 1's project user.
    for (const ns of ['bench', 'cycle']) {
      const p = await fetch(`${service.url}/apis/project.openshift.io/v1/projectrequests`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({ metadata: { name: ns } }),
      });
      if (p.status !== 201) throw new Error(`project setup failed: ${p.status}`);
    }
    const rb = await fetch(`${service.url}/apis/rbac.authorization.k8s.io/v1/namespaces/bench/rolebindings`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({
        metadata: { name: 'viewer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ kind: 'User', name: 'bench-viewer' }],
      }),
    });
    if (rb.status !== 201) throw new Error(`binding setup failed: ${rb.status}`);
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
    const apiCall = (bearer: string) => () =>
      new Promise<void>((resolve, reject) => {
        const req = request(istagUrl, { agent, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`GET istag ${res.statusCode}`));
          res.on('data', () => undefined);
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end();
      });
    const f = (x: number) => x.toFixed(2).padStart(7);
    console.log(
      `\nrow 1: resolve a tag (service in its own process, as npm start runs it), ${SAMPLES} interleaved samples each after ${WARMUP} warm-up calls`,
    );
    console.log('                                          median     p90     p99   (ms)');
    // Interleaved, so drift in machine load hits both series alike. The cluster administrator needs no access
    // read; a project user's access read (project and bindings, one Query) runs alongside the tag read.
    for (const [who, bearer] of [
      ['cluster admin', token],
      ['project viewer', VIEWER_TOKEN],
    ] as const) {
      const { raw, api } = await interleaved(rawCall, apiCall(bearer), SAMPLES);
      const ratio = median(api) / median(raw);
      console.log(`  [${who}]`);
      console.log(
        `  raw GetItem on DynamoDB Local          ${f(median(raw))} ${f(pct(raw, 0.9))} ${f(pct(raw, 0.99))}`,
      );
      console.log(
        `  GET imagestreamtag via local API       ${f(median(api))} ${f(pct(api, 0.9))} ${f(pct(api, 0.99))}`,
      );
      console.log(
        `  ratio (median)                         ${ratio.toFixed(2)}x   budget <= 1.5x   ${ratio <= 1.5 ? 'within budget' : 'OVER BUDGET'}`,
      );
    }
    // The service reads heads and tag records without the SDK's middleware stack (functions/store/direct-reads.ts).
    // For the record, the same GetItem sent that way, against the SDK's: the floor the service's own read starts from.
    const direct = new DirectReads(db);
    const { raw: sdk, api: lean } = await interleaved(
      rawCall,
      () => direct.getItem('bench', rawKey),
      SAMPLES,
    );
    direct.destroy();
    console.log(
      `  [for the record] GetItem as the service sends it: ${f(median(lean))} ms median vs ${f(median(sdk)).trim()} ms through the SDK (${(median(lean) / median(sdk)).toFixed(2)}x)`,
    );
    if (rows.has(6)) await throughputRow(rawCall, istagUrl, VIEWER_TOKEN);
    if (rows.has(7)) await tableRow(agent, new URL(`${base}/imagestreams/s`), token);
    if (rows.has(9)) await watchLatencyRow(service.url, new URL(base).pathname, token);
    db.destroy();
    if (rows.has(2) || rows.has(3)) await importRows(service.url, h);
    if (rows.has(4)) await scheduledCycleRow(service.url, h, ddb.endpoint);
    if (rows.has(5)) await bundleRow();
    if (rows.has(8)) await pullThroughRow(service, token);
  } finally {
    service.stop();
    await ddb.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const CONCURRENT_CLIENTS = 32;
const THROUGHPUT_REQUESTS = Number(process.env.BENCH_THROUGHPUT_REQUESTS ?? 4000);

/**
 * Row 6: GET imagestreamtag (a project viewer, so every call passes the access check) with 32 clients at once, each
 * on its own keep-alive connection, against raw GetItems from 32 concurrent callers over the SDK's connection pool.
 * Each series sends the same number of requests; they alternate in rounds so load drift hits both.
 */
async function throughputRow(rawCall: () => Promise<unknown>, istagUrl: URL, bearer: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENT_CLIENTS });
  const apiCall = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(istagUrl, { agent, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET istag ${res.statusCode}`));
        res.on('data', () => undefined);
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
  /** `n` calls by CONCURRENT_CLIENTS callers; returns the wall time and every call's latency. */
  const run = async (call: () => Promise<unknown>, n: number) => {
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENT_CLIENTS }, async () => {
        while (next < n) {
          next++;
          const t = performance.now();
          await call();
          latencies.push(performance.now() - t);
        }
      }),
    );
    return { ms: performance.now() - t0, latencies };
  };
  await run(rawCall, 500);
  await run(apiCall, 500);
  const rounds = 4;
  const raw = { ms: 0, latencies: [] as number[] };
  const api = { ms: 0, latencies: [] as number[] };
  for (let r = 0; r < rounds; r++)
    for (const [series, call] of [
      [raw, rawCall],
      [api, apiCall],
    ] as const) {
      const out = await run(call, THROUGHPUT_REQUESTS / rounds);
      series.ms += out.ms;
      series.latencies.push(...out.latencies);
    }
  agent.destroy();
  const rps = (s: typeof raw) => (s.latencies.length / s.ms) * 1000;
  const ratio = rps(api) / rps(raw);
  console.log(
    `\nrow 6: throughput with ${CONCURRENT_CLIENTS} concurrent clients, ${THROUGHPUT_REQUESTS} requests each (project viewer)`,
  );
  console.log('                                          req/s     p50     p99   (ms)');
  const f = (x: number) => x.toFixed(2).padStart(7);
  console.log(
    `  raw GetItem on DynamoDB Local        ${rps(raw).toFixed(0).padStart(7)} ${f(median(raw.latencies))} ${f(pct(raw.latencies, 0.99))}`,
  );
  console.log(
    `  GET imagestreamtag via local API     ${rps(api).toFixed(0).padStart(7)} ${f(median(api.latencies))} ${f(pct(api.latencies, 0.99))}`,
  );
  console.log(`  ratio (API throughput / raw)         ${ratio.toFixed(2)}x`);
}

/** Row 5: builds each Lambda entry as CDK does and times a cold module load (best of 5 fresh processes). */
async function bundleRow(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'imagestreams-bundles-'));
  try {
    console.log('\nrow 5: Lambda bundles (budget <= 1 MB minified, module init <= 150 ms)');
    for (const [name, entry] of Object.entries(lambdaEntries)) {
      const out = join(dir, `${name}.mjs`);
      await buildLambdaBundle(entry, out);
      const probe = join(dir, `${name}-probe.mjs`);
      writeFileSync(
        probe,
        `const t = performance.now(); await import(${JSON.stringify(out)}); console.log(performance.now() - t);`,
      );
      const node = join(process.cwd(), 'node_modules/.bin/node');
      const times = Array.from({ length: 5 }, () =>
        Number(
          execFileSync(node, [probe], {
            env: { PATH: process.env.PATH, ...probeEnvironment },
            encoding: 'utf8',
          }).trim(),
        ),
      );
      const size = statSync(out).size / 1024;
      const best = Math.min(...times);
      console.log(
        `  ${name.padEnd(18)} ${size.toFixed(0).padStart(5)} KiB   init best ${best.toFixed(0)} ms (median ${median(times).toFixed(0)} ms)   ${size <= 1024 && best <= 150 ? 'within budget' : 'OVER BUDGET'}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const IMPORT_TAGS = Number(process.env.BENCH_IMPORT_TAGS ?? 200);
const SHARED_TAGS = 20;

/** Rows 2 and 3: imports through the local API against Debian's docker-registry on loopback. */
async function importRows(url: string, h: Record<string, string>): Promise<void> {
  const reg: Registry = await startRegistry('anonymous');
  try {
    const names = Array.from({ length: IMPORT_TAGS }, (_, i) => `t${String(i).padStart(3, '0')}`);
    await pushDistinctTags(reg, 'bench/app', IMPORT_TAGS, (i) => names[i]!);
    // Tags that share an image with one of the 200 (re-pushed manifests, same digest).
    const shared = Array.from({ length: SHARED_TAGS }, (_, i) => `alias${i}`);
    for (const [i, tag] of shared.entries()) await pushImage(reg, 'bench/app', tag, { label: names[i]! });
    const isiUrl = `${url}/apis/image.openshift.io/v1/namespaces/bench/imagestreamimports`;
    const isi = async (stream: string, tags: string[], repo = 'bench/app', host = reg.host) => {
      const res = await fetch(isiUrl, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({
          kind: 'ImageStreamImport',
          metadata: { name: stream },
          spec: {
            import: true,
            images: tags.map((t) => ({
              from: { kind: 'DockerImage', name: `${host}/${repo}:${t}` },
              to: { name: t },
              importPolicy: { insecure: true },
            })),
          },
        }),
      });
      const body = (await res.json()) as {
        status: {
          images: Array<{ status: { status: string } }>;
          import?: { metadata: { resourceVersion: string } };
        };
      };
      const failed = body.status.images.filter((i) => i.status.status !== 'Success').length;
      if (res.status !== 201 || failed) throw new Error(`import failed: ${res.status}, ${failed} failures`);
      return body.status.import?.metadata.resourceVersion;
    };
    const count = (mark: number) => reg.requests().slice(mark);

    // The service is long-running: warm its import path once (other images, other stream), as row 1 warms reads.
    await pushDistinctTags(reg, 'bench/warmup', IMPORT_TAGS, (i) => `w${i}`);
    await isi(
      'warmup',
      names.map((_, i) => `w${i}`),
      'bench/warmup',
    );

    // The warm-up's aftermath (the change processor logging its 200 tags for watches) must not run into either
    // measurement: a list returns once the watch log has caught up with the table (docs/watch.md).
    const settled = await fetch(`${url}/apis/image.openshift.io/v1/namespaces/bench/imagestreams`, {
      headers: h,
    });
    if (!settled.ok) throw new Error(`list after the warm-up import: ${settled.status}`);
    await settled.arrayBuffer();

    // Row 3 baseline: what a script does today, one `skopeo inspect` per tag.
    const run = promisify(execFile);
    /** The loop's wall time (ms) over the tags of `host/repo`. */
    const skopeoLoop = async (host: string, repo: string) => {
      const started = performance.now();
      for (const t of names)
        await run('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/${repo}:${t}`]);
      return performance.now() - started;
    };
    let mark = reg.requests().length;
    const skopeoMs = await skopeoLoop(reg.host, 'bench/app');
    const skopeoRequests = count(mark).length;

    mark = reg.requests().length;
    let t0 = performance.now();
    await isi('many', names);
    const importMs = performance.now() - t0;
    const importRequests = count(mark);

    mark = reg.requests().length;
    await isi('many', shared);
    const sharedRequests = count(mark);

    // Row 2: re-check one unchanged tag (what the scheduler does every interval).
    const rvBefore = await isi('many', [names[0]!]);
    mark = reg.requests().length;
    const rvAfter = await isi('many', [names[0]!]);
    const recheck = count(mark);

    const reqRatio = importRequests.length / skopeoRequests;
    const timeRatio = importMs / skopeoMs;
    console.log(`\nrow 2: re-check an unchanged tag (POST imagestreamimports of an imported tag)`);
    console.log(
      `  registry requests ${recheck.length} (${recheck.map((r) => `${r.method} ${r.uri}`).join(', ')}); table writes ${rvBefore === rvAfter ? 0 : 'some'} (resourceVersion ${rvBefore} -> ${rvAfter})   budget: exactly 1 HEAD, 0 writes   ${recheck.length === 1 && recheck[0]!.method === 'HEAD' && rvBefore === rvAfter ? 'within budget' : 'OVER BUDGET'}`,
    );
    console.log(`\nrow 3: import ${IMPORT_TAGS} tags (distinct images) from docker-registry on loopback`);
    console.log('                                        wall (ms)   registry requests');
    console.log(
      `  skopeo inspect loop (baseline)       ${skopeoMs.toFixed(0).padStart(9)}   ${String(skopeoRequests).padStart(8)}`,
    );
    console.log(
      `  one imagestreamimport                ${importMs.toFixed(0).padStart(9)}   ${String(importRequests.length).padStart(8)}`,
    );
    console.log(
      `  ratios                               ${timeRatio.toFixed(3).padStart(9)}x  ${reqRatio.toFixed(3).padStart(8)}x   budget <= 0.2x time, <= 0.6x requests   ${timeRatio <= 0.2 && reqRatio <= 0.6 ? 'within budget' : 'OVER BUDGET'}`,
    );
    const kinds = (rs: typeof recheck) =>
      Object.entries(
        rs.reduce<Record<string, number>>((m, r) => {
          const k = `${r.method} ${r.uri.includes('/blobs/') ? 'blob' : 'manifest'}`;
          m[k] = (m[k] ?? 0) + 1;
          return m;
        }, {}),
      )
        .map(([k, v]) => `${v} ${k}`)
        .join(', ');
    console.log(`  requests by kind: ${kinds(importRequests)}`);
    console.log(
      `  ${SHARED_TAGS} more tags sharing already-imported images: ${sharedRequests.length} requests (${kinds(sharedRequests)}), ${(sharedRequests.length / SHARED_TAGS).toFixed(1)} per tag`,
    );

    // For the record (no budget): the same comparison with the registry as far away as row 4's (a proxy adding
    // the round trip), new images again. On loopback both sides share this machine's cores with the registry and
    // DynamoDB Local, so the import is bound by their CPU; a registry elsewhere is bound by round trips instead.
    const far = await startLatencyProxy(reg.url, CYCLE_RTT_MS);
    try {
      await pushDistinctTags(reg, 'bench/far', IMPORT_TAGS, {
        name: (i) => names[i]!,
        label: (i) => `far-${i}`,
      });
      const farSkopeoMs = await skopeoLoop(far.host, 'bench/far');
      t0 = performance.now();
      await isi('far', names, 'bench/far', far.host);
      const farImportMs = performance.now() - t0;
      console.log(
        `  for the record, the registry ${CYCLE_RTT_MS} ms away (row 4's proxy): skopeo loop ${farSkopeoMs.toFixed(0)} ms, import ${farImportMs.toFixed(0)} ms, ${(farImportMs / farSkopeoMs).toFixed(3)}x`,
      );
    } finally {
      await far.stop();
    }
  } finally {
    await reg.stop();
  }
}

const CYCLE_TAGS = Number(process.env.BENCH_CYCLE_TAGS ?? 10_000);
const TAGS_PER_STREAM = 500;
/** Registries are remote in real life: row 4 reaches the loopback registry through proxies that add this RTT. */
const CYCLE_RTT_MS = Number(process.env.BENCH_CYCLE_RTT_MS ?? 20);
const CYCLE_HOSTS = 4;

/**
 * Row 4: a scheduled cycle over CYCLE_TAGS unchanged tags: streams of 500 tracking tags with distinct sources,
 * spread over four registry hosts with a network-like round trip. Baseline in the same run: the same HEADs sent
 * directly by a bare loop with the client's per-host concurrency.
 */
async function scheduledCycleRow(url: string, h: Record<string, string>, endpoint: string): Promise<void> {
  const reg: Registry = await startRegistry('anonymous');
  const proxies = await Promise.all(
    Array.from({ length: CYCLE_HOSTS }, () => startLatencyProxy(reg.url, CYCLE_RTT_MS)),
  );
  try {
    const names = Array.from({ length: CYCLE_TAGS }, (_, i) => `c${String(i).padStart(5, '0')}`);
    // 8 images, each under many tags: every tag is its own HEAD, the registry stores little.
    await pushDistinctTags(reg, 'bench/cycle', CYCLE_TAGS, {
      name: (i) => names[i]!,
      label: (i) => `img${i % 8}`,
    });
    const isiUrl = `${url}/apis/image.openshift.io/v1/namespaces/cycle/imagestreamimports`;
    const streams = Math.ceil(CYCLE_TAGS / TAGS_PER_STREAM);
    const hostOf = (stream: number) => proxies[stream % CYCLE_HOSTS]!.host;
    for (let s = 0; s < streams; s++) {
      const tags = names.slice(s * TAGS_PER_STREAM, (s + 1) * TAGS_PER_STREAM);
      const res = await fetch(isiUrl, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({
          kind: 'ImageStreamImport',
          metadata: { name: `s${s}` },
          spec: {
            import: true,
            images: tags.map((t) => ({
              from: { kind: 'DockerImage', name: `${hostOf(s)}/bench/cycle:${t}` },
              to: { name: t },
              importPolicy: { insecure: true, scheduled: true },
            })),
          },
        }),
      });
      if (res.status !== 201) throw new Error(`cycle setup import failed: ${res.status}`);
    }

    // Baseline: the same HEADs from a bare loop, 8 in flight per host (the client's default), all hosts at once.
    const perHost = Number(process.env.REGISTRY_MAX_CONCURRENCY ?? 8);
    let mark = reg.requests().length;
    let t0 = performance.now();
    await Promise.all(
      proxies.map(async (p, hi) => {
        const mine = names.filter((_, i) => Math.floor(i / TAGS_PER_STREAM) % CYCLE_HOSTS === hi);
        let next = 0;
        await Promise.all(
          Array.from({ length: perHost }, async () => {
            while (next < mine.length) {
              const res = await fetch(`http://${p.host}/v2/bench/cycle/manifests/${mine[next++]}`, {
                method: 'HEAD',
                headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
              });
              await res.arrayBuffer();
            }
          }),
        );
      }),
    );
    const baselineMs = performance.now() - t0;
    const baselineRequests = reg.requests().length - mark;

    const run = promisify(execFile);
    const cycle = async (concurrency: number) => {
      mark = reg.requests().length;
      t0 = performance.now();
      const { stdout } = await run(
        join(process.cwd(), 'node_modules/.bin/tsx'),
        ['bench/scheduled-cycle.ts'],
        {
          env: {
            ...process.env,
            TABLE_NAME: 'bench',
            DYNAMODB_ENDPOINT: endpoint,
            IMPORT_INTERVAL_SECONDS: '900',
            SCHEDULER_TICK_SECONDS: '900',
            SCHEDULED_IMPORTS_PER_MINUTE: '100000',
            SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE: '100000',
            CYCLE_CONCURRENCY: String(concurrency),
            LOG_LEVEL: 'warn',
            // A project user for row 1: their reads pass the access check that cluster administrators skip.
            LOCAL_TOKENS: JSON.stringify({ [VIEWER_TOKEN]: { user: 'bench-viewer', groups: [] } }),
          },
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        wallMs: number;
        writes: Record<string, number>;
        maxRssMb: number;
        rssBeforeMb: number;
      };
      return { ...out, requests: reg.requests().slice(mark) };
    };
    const results = [] as Array<[number, Awaited<ReturnType<typeof cycle>>]>;
    for (const n of [1, 4]) results.push([n, await cycle(n)]);
    console.log(
      `\nrow 4: one scheduled cycle over ${CYCLE_TAGS} unchanged tags (${streams} streams of ${TAGS_PER_STREAM}, ${CYCLE_HOSTS} registry hosts, ${CYCLE_RTT_MS} ms round trip)`,
    );
    console.log(
      '  job concurrency   wall (ms)   registry requests (HEAD)   stream writes   budget writes   RSS start/peak (MB)',
    );
    for (const [n, r] of results) {
      const heads = r.requests.filter((q) => q.method === 'HEAD').length;
      const bookkeeping = (r.writes['budget counters'] ?? 0) + (r.writes['back-off'] ?? 0);
      console.log(
        `  ${String(n).padStart(15)}   ${r.wallMs.toFixed(0).padStart(9)}   ${`${r.requests.length} (${heads})`.padStart(24)}   ${String(r.writes.streams ?? 0).padStart(13)}   ${String(bookkeeping).padStart(13)}   ${`${r.rssBeforeMb.toFixed(0)} / ${r.maxRssMb.toFixed(0)}`.padStart(19)}`,
      );
    }
    console.log(
      `  baseline: bare HEAD loop, ${perHost} in flight per host   ${baselineMs.toFixed(0).padStart(9)}   ${String(baselineRequests).padStart(24)}`,
    );
    const [one, four] = [results[0]![1], results[1]![1]];
    const ok = results.every(
      ([, r]) =>
        !r.writes.streams &&
        r.maxRssMb < 256 &&
        r.requests.length === CYCLE_TAGS &&
        r.requests.every((q) => q.method === 'HEAD'),
    );
    console.log(
      `  speed-up 1 -> 4 jobs ${(one.wallMs / four.wallMs).toFixed(2)}x; cycle at 4 jobs vs baseline ${(four.wallMs / baselineMs).toFixed(2)}x; budget: 0 writes, < 256 MB, 1 HEAD per tag   ${ok ? 'within budget' : 'OVER BUDGET'}`,
    );
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
    await reg.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
