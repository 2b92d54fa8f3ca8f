// The dashboard's build: Preact, bundled by Vite into web/dist, which the hub
// serves at /. No CDN and no runtime fetches beyond the hub's own API.
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The hub's Content-Security-Policy allows no inline script; keep Vite from emitting one.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
