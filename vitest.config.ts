import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'
import { resolve } from 'node:path'

const alias = {
  '@shared': resolve(import.meta.dirname, 'src/shared'),
  '@renderer': resolve(import.meta.dirname, 'src/renderer/src'),
  '@core': resolve(import.meta.dirname, 'src/core')
}

export default defineConfig({
  test: {
    // Model-heavy tests share 2 cores; more parallel files only thrash.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        plugins: [vue()],
        resolve: { alias },
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 }
      },
      {
        resolve: { alias },
        test: { name: 'e2e', include: ['tests/e2e/**/*.e2e.test.ts', 'tests/e2e-electron/**/*.e2e.test.ts'], testTimeout: 300_000, hookTimeout: 300_000, fileParallelism: false }
      }
    ]
  }
})
