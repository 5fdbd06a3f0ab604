// Builds the dashboard into dist/, served by the gateway at /dashboard/. Asset URLs are relative
// (`base: './'`) so the app works under any mount point; the API is found at ../api/ from there.
import { defineConfig } from 'vite'
import preact from '@preact/preset-vite'

export default defineConfig({
  base: './',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
})
