// Bundles the isctl CLI (cli/isctl.ts) into dist/isctl.mjs, the package's `bin`. Runs on `npm ci` / `npm install`
// (the `prepare` script) and before `npm pack`, so `npx isctl` works from a checkout and a global install needs
// nothing but Node. Plain JavaScript on purpose: it runs before anything is compiled.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

// `--outfile <path>` builds elsewhere (the CLI tests build their own copy, so parallel test files never race).
const at = process.argv.indexOf('--outfile');
const outfile = at > 0 ? process.argv[at + 1] : 'dist/isctl.mjs';

await build({
  entryPoints: ['cli/isctl.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  banner: {
    // commander and yaml are CommonJS; an ESM bundle needs a require for them.
    js: "#!/usr/bin/env node\nimport { createRequire as __isctlRequire } from 'node:module';\nconst require = __isctlRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// The bin must be executable when linked from a checkout or a global install.
chmodSync(outfile, 0o755);
