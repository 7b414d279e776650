import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { bundlingDefaults } from '../../infra/constructs/app-function';

/** DESIGN §9: each Lambda bundle ≤ 1 MB minified and module init ≤ 150 ms, built exactly as CDK builds it. */
const dir = mkdtempSync(join(tmpdir(), 'imagestreams-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entries = {
  api: 'functions/handlers/api.ts',
  'change-processor': 'functions/handlers/change-processor.ts',
  'import-worker': 'functions/handlers/import-worker.ts',
};

describe.each(Object.entries(entries))('%s bundle', (name, entry) => {
  const out = join(dir, `${name}.mjs`);

  it('is at most 1 MB minified', async () => {
    await build({
      entryPoints: [entry],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: bundlingDefaults.target,
      mainFields: bundlingDefaults.mainFields,
      minify: bundlingDefaults.minify,
      keepNames: bundlingDefaults.keepNames,
      banner: { js: bundlingDefaults.banner },
      logLevel: 'silent',
    });
    const size = statSync(out).size;
    console.log(`[bundle] ${name}: ${(size / 1024).toFixed(0)} KiB`);
    expect(size).toBeLessThanOrEqual(1024 * 1024);
  });

  it('initializes in at most 150 ms (best of 3 fresh processes)', () => {
    const probe = join(dir, `${name}-probe.mjs`);
    writeFileSync(
      probe,
      `const t = performance.now(); await import(${JSON.stringify(out)}); console.log(performance.now() - t);`,
    );
    const node = join(process.cwd(), 'node_modules/.bin/node');
    const times = [0, 1, 2].map(() =>
      Number(
        execFileSync(node, [probe], {
          env: {
            PATH: process.env.PATH,
            TABLE_NAME: 'probe',
            AWS_REGION: 'us-east-1',
            IMPORT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/probe',
          },
          encoding: 'utf8',
        }).trim(),
      ),
    );
    const best = Math.min(...times);
    console.log(`[bundle] ${name} init: ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
    expect(best).toBeLessThanOrEqual(150);
  });
});
