// dist/firebase-messaging-sw.js: one classic-script file (every browser runs classic service
// workers). Firebase Auth's webworker build is picked by an alias rather than a resolve
// condition: a condition also switches other @firebase packages to second copies, and Auth then
// registers itself with an app registry that getAuth() does not look in.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const authWorker = fileURLToPath(
  new URL('./node_modules/@firebase/auth/dist/index.webworker.js', import.meta.url),
);

export default defineConfig({
  resolve: { alias: [{ find: /^@firebase\/auth$/, replacement: authWorker }] },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    copyPublicDir: false,
    lib: {
      entry: 'src/sw.js',
      formats: ['iife'],
      name: 'ecmpushServiceWorker',
      fileName: () => 'firebase-messaging-sw.js',
    },
  },
});
