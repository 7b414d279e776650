import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The console's production build: static files under dist/console (served at /console/ by `npm start`, from S3
 * behind CloudFront in AWS). Relative asset URLs, so the same build works under any path prefix; no inline
 * script or style, so the Content-Security-Policy can forbid both.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
