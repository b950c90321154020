import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'
import type { Plugin } from 'vite'

const root = import.meta.dirname
const alias = {
  '@shared': resolve(root, 'src/shared'),
  '@renderer': resolve(root, 'src/renderer/src')
}

// The CSP meta tag pins connect-src to 'self'; the dev server's HMR socket needs ws: too.
// Only `electron-vite dev` gets this: built files keep the strict policy.
const devCspPlugin: Plugin = {
  name: 'unveil:dev-csp',
  apply: 'serve',
  transformIndexHtml: (html) => html.replace("connect-src 'self'", "connect-src 'self' ws://localhost:* ws://127.0.0.1:*")
}

export default defineConfig({
  main: {
    resolve: { alias },
    build: {
      // Dependencies (better-sqlite3, onnxruntime-node, sharp, model packages) stay in
      // node_modules: native modules cannot be bundled and model files are found beside them.
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve(root, 'src/main/index.ts'),
          // InferenceEngine looks for inference-worker.js beside the bundled main module.
          'inference-worker': resolve(root, 'src/core/engine/inference-worker.ts')
        }
      }
    }
  },
  preload: {
    resolve: { alias },
    build: {
      rollupOptions: {
        input: { index: resolve(root, 'src/preload/index.ts') },
        // Sandboxed preloads are loaded as classic scripts: CommonJS, one file.
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    }
  },
  renderer: {
    root: resolve(root, 'src/renderer'),
    resolve: { alias },
    plugins: [vue(), devCspPlugin],
    build: {
      rollupOptions: { input: { index: resolve(root, 'src/renderer/index.html') } }
    }
  }
})
