import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLambdaBundle, lambdaEntries } from '../../infra/bundle-entries';

/**
 * README, "Tests and benchmarks": each Lambda bundle ≤ 1 MB minified, built exactly as CDK builds it. (Module init time is a timing,
 * so `npm run bench` measures it rather than a test.)
 */
const dir = mkdtempSync(join(tmpdir(), 'imagestreams-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(Object.entries(lambdaEntries))('%s bundle', (name, entry) => {
  it('is at most 1 MB minified', async () => {
    const out = join(dir, `${name}.mjs`);
    await buildLambdaBundle(entry, out);
    const size = statSync(out).size;
    console.log(`[bundle] ${name}: ${(size / 1024).toFixed(0)} KiB`);
    expect(size).toBeLessThanOrEqual(1024 * 1024);
    // The SDK's default credential chain is swapped for the environment provider (infra/constructs/app-function.ts
    // lambdaAliases): none of its other sources is in the bundle.
    const code = readFileSync(out, 'utf8');
    for (const source of ['fromSSO', 'fromIni', 'fromProcess', 'fromTokenFile', 'AWS_CONTAINER_CREDENTIALS'])
      expect(code, source).not.toContain(source);
    // `semver`, which only the X-Ray SDK's v2 patcher calls, is swapped for the one function it needs.
    expect(code, 'semver').not.toContain('SEMVER_SPEC_VERSION');
  });
});
