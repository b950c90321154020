// ESLint flat config: the electron-vite template's presets (TypeScript, Vue, Prettier) plus the
// layering of docs/architecture.md as errors (rule `unveil/layering`, scripts/eslint-layering.mjs).
import { builtinModules } from 'node:module'
import { defineConfig } from 'eslint/config'
import tseslint from '@electron-toolkit/eslint-config-ts'
import eslintConfigPrettier from '@electron-toolkit/eslint-config-prettier'
import eslintPluginVue from 'eslint-plugin-vue'
import vueParser from 'vue-eslint-parser'
import unveil from './scripts/eslint-layering.mjs'

const NODE_BUILTINS = ['node:*', ...builtinModules]

/** One layer: the files it holds and what they may import. */
const layer = (files, options) => ({ files, plugins: { unveil }, rules: { 'unveil/layering': ['error', options] } })

export default defineConfig(
  {
    ignores: ['**/node_modules', '**/out', '**/dist', '.cache/**', 'test-results/**', 'resources/**', 'training/**', 'tmp/**', '.gl/**', '.whl/**']
  },
  tseslint.configs.recommended,
  eslintPluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: {
      parser: vueParser,
      parserOptions: {
        ecmaFeatures: { jsx: true },
        extraFileExtensions: ['.vue'],
        parser: tseslint.parser
      }
    }
  },
  {
    files: ['**/*.{ts,mts,tsx,vue}'],
    rules: {
      'vue/require-default-prop': 'off',
      'vue/multi-word-component-names': 'off',
      'vue/block-lang': ['error', { script: { lang: 'ts' } }]
    }
  },
  {
    // The preset turns return types off for '*.js'/'*.mjs' at the root only; JS files anywhere
    // cannot declare them.
    files: ['**/*.{js,mjs,cjs}'],
    rules: { '@typescript-eslint/explicit-function-return-type': 'off' }
  },
  {
    // Tests: inferred return types on local helpers and empty stubs in fakes are the norm.
    files: ['tests/**'],
    rules: {
      '@typescript-eslint/explicit-function-return-type': 'off',
      '@typescript-eslint/no-empty-function': 'off'
    }
  },
  {
    // Control characters in a character class are the point where names are made safe and
    // text formats are told from binary ones (template sniffing, case folder names).
    rules: { 'no-control-regex': 'off' }
  },
  eslintConfigPrettier,
  {
    // Layout is Prettier's (`npm run format`); `npm run lint` checks code only, so it does not
    // report the many lines written before Prettier was configured.
    rules: { 'prettier/prettier': 'off' }
  },

  // ── Layering (docs/architecture.md) ──────────────────────────────────────────────────────────
  layer(['src/core/**'], {
    allow: ['src/core', 'src/shared'],
    modules: ['electron'],
    because: 'The core is Node-only and knows no front end (src/main, src/preload, src/renderer, src/cli).'
  }),
  layer(['src/shared/**'], {
    allow: ['src/shared'],
    modules: ['electron'],
    because: 'src/shared holds plain types, the IPC contract and validation: it depends on no layer.'
  }),
  layer(['src/renderer/**'], {
    allow: ['src/renderer', 'src/shared'],
    modules: ['electron', ...NODE_BUILTINS],
    because: 'The renderer is sandboxed: it talks to the core only through window.unveil (src/shared/ipc-contract.ts).'
  }),
  layer(['src/cli/**'], {
    allow: ['src/cli', 'src/shared', 'src/core/workbench'],
    modules: ['electron'],
    because: 'The CLI drives the core only through the Workbench (src/core/workbench).'
  }),
  layer(['src/preload/**'], {
    allow: ['src/preload', 'src/shared'],
    because: 'The preload only forwards the IPC contract.'
  }),
  layer(['src/main/**'], {
    allow: ['src/main', 'src/shared', 'src/core/workbench'],
    because: 'The main process hosts the Workbench behind IPC: it reaches the core only through it, and never imports the renderer, preload or CLI.'
  })
)
