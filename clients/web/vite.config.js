// The page (index.html → dist/). Relative base: the same build is served under any path
// (locally /app/, in production wherever the site lives). The service worker is a second,
// single-file build (vite.sw.config.js) because it must keep its name and scope.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
});
