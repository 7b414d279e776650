import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLambdaBundle, lambdaEntries, probeEnvironment } from '../../infra/bundle-entries';

/**
 * README, "Tests and benchmarks": each Lambda bundle ≤ 1 MB minified, built exactly as CDK builds it. (Module init time is a timing,
 * so `npm run bench` measures it rather than a test.)
 */
const dir = mkdtempSync(join(tmpdir(), 'imagestreams-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(Object.entries(lambdaEntries))('%s bundle', (name, entry) => {
  it('is at most 1 MB minified and loads outside Lambda', async () => {
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
    // It loads as at a cold start, with the settings the stack gives it: a module that throws at init fails every
    // invocation of its function (the response-streaming handlers must not reach for Lambda's runtime at load).
    const probe = join(dir, `${name}-probe.mjs`);
    writeFileSync(probe, `await import(${JSON.stringify(out)});`);
    const loaded = () =>
      execFileSync(join(process.cwd(), 'node_modules/.bin/node'), [probe], {
        env: { PATH: process.env.PATH, ...probeEnvironment },
        encoding: 'utf8',
        stdio: 'pipe',
      });
    expect(loaded).not.toThrow();
  });
});
