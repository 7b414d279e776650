import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../support/browser';

/**
 * The console's budget: at most 50 KiB of gzipped JavaScript and 10 KiB of gzipped CSS for the whole console,
 * built exactly as `npm run build` builds it; and nothing the Content-Security-Policy would have to allow
 * (inline script or style, eval).
 */
const JS_BUDGET = 50 * 1024;
const CSS_BUDGET = 10 * 1024;

const out = mkdtempSync(join(tmpdir(), 'imagestreams-console-build-'));
let files: string[] = [];
const gz = (f: string) => gzipSync(readFileSync(join(out, f)), { level: 9 }).length;

beforeAll(() => {
  buildConsole(out);
  files = readdirSync(join(out, 'assets')).map((f) => `assets/${f}`);
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('console bundle', () => {
  it(`ships at most ${JS_BUDGET / 1024} KiB of gzipped JavaScript and ${CSS_BUDGET / 1024} KiB of CSS`, () => {
    const js = files.filter((f) => f.endsWith('.js')).reduce((n, f) => n + gz(f), 0);
    const css = files.filter((f) => f.endsWith('.css')).reduce((n, f) => n + gz(f), 0);
    console.log(
      `[bundle] console: ${(js / 1024).toFixed(1)} KiB gzipped JS, ${(css / 1024).toFixed(1)} KiB gzipped CSS`,
    );
    expect(js).toBeGreaterThan(0);
    expect(js).toBeLessThanOrEqual(JS_BUDGET);
    expect(css).toBeLessThanOrEqual(CSS_BUDGET);
  });

  it('has no inline script or style and no eval, so the CSP can forbid them', () => {
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      const code = readFileSync(join(out, f), 'utf8');
      expect(code, f).not.toMatch(/\beval\(|new Function\(/);
    }
  });
});
