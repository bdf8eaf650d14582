/**
 * The web page: src/web/app is vite's root, the build goes to dist/web,
 * which src/web/static.ts serves from the API's own HTTP server.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

export default defineConfig({
  root: here,
  base: '/',
  publicDir: path.join(here, 'public'),
  build: {
    outDir: path.join(repo, 'dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    assetsInlineLimit: 0,
    // One small page: keep the output to a script and a stylesheet.
    modulePreload: { polyfill: false },
  },
  server: {
    // `npx vite -c src/web/app/vite.config.mts` for a dev page against `stylegraph serve` on :4000.
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:4000', ws: true },
      '/images': 'http://127.0.0.1:4000',
    },
  },
});
