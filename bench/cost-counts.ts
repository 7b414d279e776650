/**
 * `npm run bench:cost`: the counts docs/cost.md prices, measured on the local stack (the same code as the Lambda
 * functions, DynamoDB Local, Debian's docker-registry on loopback behind proxies that add a network round trip).
 *
 * - A scheduled cycle over BENCH_COST_TAGS unchanged tags (streams of BENCH_COST_TAGS_PER_STREAM): DynamoDB
 *   requests and the read/write units DynamoDB reports for them (every request is sent with
 *   ReturnConsumedCapacity=TOTAL by a counting proxy in front of DynamoDB Local), registry requests, jobs (each one
 *   SQS message in AWS), and the jobs' summed run time (one job at a time, so wall time = the sum of job durations,
 *   a Lambda duration estimate).
 * - The same cycle after 1% of the tags moved to a new image: the extra writes, and the events published.
 * - GET imagestreamtag as a project viewer (the 1 M API reads of docs/cost.md): DynamoDB requests and units per
 *   read, with the bindings cache off (every read checks access afresh, the worst case), and its latency.
 *
 * Table-stream reads (DescribeStream, GetRecords, …) are not counted: in AWS the change processor's event source
 * mapping reads the stream at no request charge.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local';
import { startLatencyProxy } from '../test/support/latency-proxy';
import { pushDistinctTags, type Registry, startRegistry } from '../test/support/registries';

const TAGS = Number(process.env.BENCH_COST_TAGS ?? 2000);
const TAGS_PER_STREAM = Number(process.env.BENCH_COST_TAGS_PER_STREAM ?? 10);
const RTT_MS = Number(process.env.BENCH_COST_RTT_MS ?? 50);
const API_READS = Number(process.env.BENCH_COST_API_READS ?? 300);
const HOSTS = 4;
const ADMIN = 'cost-admin-token-0123456789';
const VIEWER = 'cost-viewer-token-0123456789';

interface OpCount {
  requests: number;
  readUnits: number;
  writeUnits: number;
}
type Counts = Record<string, OpCount>;

/** The counter of `op` in `counts`, created at zero. */
function opCount(counts: Counts, op: string): OpCount {
  counts[op] ??= { requests: 0, readUnits: 0, writeUnits: 0 };
  return counts[op];
}

const CAPACITY_OPS = new Set([
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'TransactGetItems',
]);
const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/**
 * A proxy in front of DynamoDB Local that asks for and adds up consumed capacity (DynamoDB Local accepts any
 * signature, so the rewritten body is taken as sent).
 */
async function countingProxy(target: string): Promise<{ url: string; take: () => Counts; stop: () => void }> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let counts: Counts = {};
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const service = String(req.headers['x-amz-target'] ?? '').split('.')[0] ?? '';
      let body = Buffer.concat(chunks);
      const counted = service.startsWith('DynamoDB_') && CAPACITY_OPS.has(op);
      if (counted) {
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        input.ReturnConsumedCapacity = 'TOTAL';
        body = Buffer.from(JSON.stringify(input));
      }
      const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            const reply = Buffer.concat(parts);
            if (counted && (up.statusCode ?? 500) < 300) {
              const parsed = JSON.parse(reply.toString('utf8')) as { ConsumedCapacity?: unknown };
              const used = [parsed.ConsumedCapacity ?? []]
                .flat()
                .reduce((n: number, c) => n + ((c as { CapacityUnits?: number }).CapacityUnits ?? 0), 0);
              const c = opCount(counts, op);
              c.requests++;
              if (WRITE_OPS.has(op)) c.writeUnits += used;
              else c.readUnits += used;
            }
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(reply);
          });
        },
      );
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    take: () => {
      const c = counts;
      counts = {};
      return c;
    },
    stop: () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });

const total = (c: Counts) =>
  Object.values(c).reduce(
    (t, x) => ({
      requests: t.requests + x.requests,
      readUnits: t.readUnits + x.readUnits,
      writeUnits: t.writeUnits + x.writeUnits,
    }),
    { requests: 0, readUnits: 0, writeUnits: 0 },
  );

const eventLines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'imagestreams-cost-'));
  const ddb = await startDynamoDbLocal({});
  const proxy = await countingProxy(ddb.endpoint);
  const reg: Registry = await startRegistry('anonymous');
  const hosts = await Promise.all(Array.from({ length: HOSTS }, () => startLatencyProxy(reg.url, RTT_MS)));
  const port = await freePort();
  const env = {
    ...process.env,
    TABLE_NAME: 'cost',
    DYNAMODB_ENDPOINT: proxy.url,
    IMPORT_INTERVAL_SECONDS: '900',
    SCHEDULED_IMPORTS_PER_MINUTE: '1000000',
    SCHEDULED_IMPORTS_PER_REGISTRY_PER_MINUTE: '1000000',
    // Every read checks access afresh: the worst case for a Lambda container that just started.
    ACCESS_CACHE_SECONDS: '0',
  };
  const service = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), ['functions/local/main.ts'], {
    env: {
      ...env,
      PORT: String(port),
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'warn',
      LOCAL_TOKENS: JSON.stringify({ [VIEWER]: { user: 'cost-viewer', groups: [] } }),
      SCHEDULER: 'off',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const h = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  try {
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      up = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    if (!up) throw new Error('the service did not start');

    // Setup: the tags, their project, a viewer, the streams (scheduled imports), outside the counts.
    const names = Array.from({ length: TAGS }, (_, i) => `t${String(i).padStart(5, '0')}`);
    await pushDistinctTags(reg, 'bench/cost', TAGS, { name: (i) => names[i]!, label: (i) => `img${i % 8}` });
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: h, body: JSON.stringify(body) });
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    };
    await post('/apis/project.openshift.io/v1/projectrequests', {
      kind: 'ProjectRequest',
      metadata: { name: 'cost' },
    });
    await post('/apis/rbac.authorization.k8s.io/v1/namespaces/cost/rolebindings', {
      metadata: { name: 'viewer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'cost-viewer' }],
    });
    const streams = Math.ceil(TAGS / TAGS_PER_STREAM);
    for (let s = 0; s < streams; s++)
      await post('/apis/image.openshift.io/v1/namespaces/cost/imagestreamimports', {
        kind: 'ImageStreamImport',
        metadata: { name: `s${s}` },
        spec: {
          import: true,
          images: names.slice(s * TAGS_PER_STREAM, (s + 1) * TAGS_PER_STREAM).map((t) => ({
            from: { kind: 'DockerImage', name: `${hosts[s % HOSTS]!.host}/bench/cost:${t}` },
            to: { name: t },
            importPolicy: { insecure: true, scheduled: true },
          })),
        },
      });
    // Let the change processor publish the setup's events before anything is counted.
    const eventsFile = join(dataDir, 'events.ndjson');
    const settle = async (expected: number) => {
      for (let i = 0; i < 600 && eventLines(eventsFile) < expected; i++)
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1500));
      return eventLines(eventsFile);
    };
    const afterSetup = await settle(TAGS);
    proxy.take();

    // One cycle, one job at a time: wall time is the sum of the jobs' run times.
    const cycle = async () => {
      const mark = reg.mark();
      const { stdout } = await promisify(execFile)(
        join(process.cwd(), 'node_modules/.bin/tsx'),
        ['bench/scheduled-cycle.ts'],
        {
          env: { ...env, SCHEDULER_TICK_SECONDS: '900', CYCLE_CONCURRENCY: '1', LOG_LEVEL: 'warn' },
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { wallMs: number };
      return { wallMs: out.wallMs, registryRequests: reg.since(mark).length, dynamodb: proxy.take() };
    };
    const steady = await cycle();

    // 1% of the tags move to a new image: the next cycle imports them and the change processor publishes.
    const moved = names.filter((_, i) => i % 100 === 0);
    await pushDistinctTags(reg, 'bench/cost', moved.length, { name: (i) => moved[i]!, label: () => 'moved' });
    proxy.take();
    const beforeMoved = eventLines(eventsFile);
    const changed = await cycle();
    const afterMoved = await settle(beforeMoved + moved.length);
    const changedAll = { ...changed, dynamodb: mergeCounts(changed.dynamodb, proxy.take()) };

    // API reads as a project viewer.
    const viewer = { authorization: `Bearer ${VIEWER}` };
    const get = (i: number) =>
      fetch(
        `${url}/apis/image.openshift.io/v1/namespaces/cost/imagestreamtags/s${i % streams}:${names[(i % streams) * TAGS_PER_STREAM]}`,
        { headers: viewer },
      ).then(async (r) => {
        if (r.status !== 200) throw new Error(`GET istag: ${r.status}`);
        await r.arrayBuffer();
      });
    for (let i = 0; i < 20; i++) await get(i);
    proxy.take();
    const latencies: number[] = [];
    for (let i = 0; i < API_READS; i++) {
      const t = performance.now();
      await get(i);
      latencies.push(performance.now() - t);
    }
    const reads = proxy.take();
    latencies.sort((a, b) => a - b);

    const scanJobs = 16;
    const importJobs = streams;
    const s = total(steady.dynamodb);
    const c = total(changedAll.dynamodb);
    const r = total(reads);
    const report = {
      tags: TAGS,
      tagsPerStream: TAGS_PER_STREAM,
      registryRttMs: RTT_MS,
      setupEvents: afterSetup,
      steadyCycle: {
        jobs: { scan: scanJobs, import: importJobs },
        jobRunTimeMs: Math.round(steady.wallMs),
        registryRequests: steady.registryRequests,
        dynamodb: steady.dynamodb,
        dynamodbTotal: s,
      },
      cycleWithOnePercentMoved: {
        movedTags: moved.length,
        eventsPublished: afterMoved - beforeMoved,
        jobRunTimeMs: Math.round(changedAll.wallMs),
        registryRequests: changedAll.registryRequests,
        dynamodb: changedAll.dynamodb,
        dynamodbTotal: c,
      },
      apiRead: {
        requests: API_READS,
        dynamodbPerRead: {
          requests: r.requests / API_READS,
          readUnits: r.readUnits / API_READS,
          byOperation: Object.fromEntries(
            Object.entries(reads).map(([op, x]) => [op, x.requests / API_READS]),
          ),
        },
        latencyMs: {
          median: latencies[Math.floor(latencies.length / 2)],
          p99: latencies[Math.floor(latencies.length * 0.99)],
        },
      },
    };
    const per = (n: number) => (n / TAGS).toFixed(4);
    console.log(
      `\nCost counts (docs/cost.md): ${TAGS} scheduled tags in streams of ${TAGS_PER_STREAM}, registry RTT ${RTT_MS} ms`,
    );
    console.log('                                  per cycle       per tag');
    console.log(
      `  DynamoDB requests (steady)   ${String(s.requests).padStart(12)}   ${per(s.requests).padStart(11)}`,
    );
    console.log(
      `  DynamoDB read units          ${s.readUnits.toFixed(1).padStart(12)}   ${per(s.readUnits).padStart(11)}`,
    );
    console.log(
      `  DynamoDB write units         ${s.writeUnits.toFixed(1).padStart(12)}   ${per(s.writeUnits).padStart(11)}`,
    );
    console.log(
      `  registry requests            ${String(steady.registryRequests).padStart(12)}   ${per(steady.registryRequests).padStart(11)}`,
    );
    console.log(
      `  jobs (SQS messages)          ${String(scanJobs + importJobs).padStart(12)}   (${scanJobs} scans + ${importJobs} imports)`,
    );
    console.log(
      `  job run time (ms, summed)    ${steady.wallMs.toFixed(0).padStart(12)}   ${per(steady.wallMs).padStart(11)}`,
    );
    console.log(
      `  1% moved: +${(c.writeUnits - s.writeUnits).toFixed(1)} write units, ${afterMoved - beforeMoved} events, ${changedAll.wallMs.toFixed(0)} ms job time`,
    );
    console.log(
      `  API read (GET istag, viewer): ${report.apiRead.dynamodbPerRead.requests.toFixed(2)} DynamoDB requests, ${report.apiRead.dynamodbPerRead.readUnits.toFixed(2)} read units, median ${report.apiRead.latencyMs.median!.toFixed(1)} ms`,
    );
    console.log(JSON.stringify(report));
  } finally {
    service.kill('SIGTERM');
    await Promise.all(hosts.map((p) => p.stop()));
    proxy.stop();
    await reg.stop();
    await ddb.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function mergeCounts(a: Counts, b: Counts): Counts {
  const out: Counts = structuredClone(a);
  for (const [op, x] of Object.entries(b)) {
    const c = opCount(out, op);
    c.requests += x.requests;
    c.readUnits += x.readUnits;
    c.writeUnits += x.writeUnits;
  }
  return out;
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
