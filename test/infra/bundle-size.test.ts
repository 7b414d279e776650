import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { lambdaEntries } from '../../infra/bundle-entries';
import { bundlingDefaults } from '../../infra/constructs/app-function';

/**
 * DESIGN §9: each Lambda bundle ≤ 1 MB minified, built exactly as CDK builds it. (Module init time is a timing,
 * so `npm run bench` measures it rather than a test.)
 */
const dir = mkdtempSync(join(tmpdir(), 'imagestreams-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(Object.entries(lambdaEntries))('%s bundle', (name, entry) => {
  it('is at most 1 MB minified', async () => {
    const out = join(dir, `${name}.mjs`);
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
});
