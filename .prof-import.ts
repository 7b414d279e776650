import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDbLocal } from './functions/local/dynamodb-local';
import { pushDistinctTags, startRegistry } from './test/support/registries';

const token = 'prof-admin-token-0123456789';
const ddb = await startDynamoDbLocal({});
const reg = await startRegistry('anonymous');
const names = Array.from({ length: 200 }, (_, i) => `t${String(i).padStart(3, '0')}`);
await pushDistinctTags(reg, 'bench/app', 200, (i) => names[i]!);
await pushDistinctTags(reg, 'bench/warmup', 200, (i) => `w${i}`);
const dataDir = mkdtempSync(join(tmpdir(), 'h16-prof-'));
const port = 18000 + Math.floor(Math.random() * 1000);
const node = join(process.cwd(), 'node_modules/.bin/node');
const args = process.env.PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF_DIR}`] : [];
const child = spawn(node, [...args, '--import', 'tsx', 'functions/local/main.ts'], {
  env: {
    ...process.env,
    PORT: String(port),
    DATA_DIR: dataDir,
    ADMIN_TOKEN: token,
    TABLE_NAME: 'prof',
    DYNAMODB_ENDPOINT: ddb.endpoint,
    LOG_LEVEL: 'warn',
    SCHEDULER: 'off',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const url = `http://127.0.0.1:${port}`;
for (let i = 0; i < 300; i++) {
  if (
    await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  await new Promise((r) => setTimeout(r, 100));
}
const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
await fetch(`${url}/apis/project.openshift.io/v1/projectrequests`, {
  method: 'POST',
  headers: h,
  body: JSON.stringify({ metadata: { name: 'bench' } }),
});
const isi = async (stream: string, tags: string[], repo: string) => {
  const res = await fetch(`${url}/apis/image.openshift.io/v1/namespaces/bench/imagestreamimports`, {
    method: 'POST',
    headers: h,
    body: JSON.stringify({
      kind: 'ImageStreamImport',
      metadata: { name: stream },
      spec: {
        import: true,
        images: tags.map((t) => ({
          from: { kind: 'DockerImage', name: `${reg.host}/${repo}:${t}` },
          to: { name: t },
          importPolicy: { insecure: true },
        })),
      },
    }),
  });
  if (res.status !== 201) throw new Error(String(res.status));
  await res.arrayBuffer();
};
await isi(
  'warmup',
  names.map((_, i) => `w${i}`),
  'bench/warmup',
);
for (let r = 0; r < Number(process.env.ROUNDS ?? 1); r++) {
  const t0 = performance.now();
  await isi(`many${r}`, names, 'bench/app');
  console.log('import ms', (performance.now() - t0).toFixed(0));
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await reg.stop();
await ddb.stop();
