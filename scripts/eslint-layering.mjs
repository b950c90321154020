// ESLint rule `unveil/layering`: which folders of src/ a file may import (docs/architecture.md).
//
// Every import-like specifier (import, export … from, import(), require(), import('x').T types) is
// resolved to a repository path first, so a relative specifier (`../../core/imaging/x`), an alias
// (`@core/…`, `@shared/…`, `@renderer/…`) and a baseUrl path (`src/core/…`) are judged alike:
// - `allow`: the folders (repository-relative) that path imports may reach; anything else in
//   the repository is an error. Package imports are not paths and are left to `modules`.
// - `modules`: package specifiers that are errors ('electron', 'node:*', 'fs', 'fs/promises' is
//   caught by 'fs'); a trailing '*' matches any suffix.
// - `because`: the reason, appended to each message.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** tsconfig / electron-vite aliases: prefix → repository folder. */
const ALIASES = [
  ['@core/', 'src/core/'],
  ['@shared/', 'src/shared/'],
  ['@renderer/', 'src/renderer/src/']
]

const toPosix = (p) => p.split(sep).join('/')
const inside = (path, folder) => path === folder || path.startsWith(`${folder}/`)

/** Repository-relative path a specifier points at, or null for a package import. */
export function resolveSpecifier(specifier, fromFile, root) {
  if (specifier.startsWith('.') || isAbsolute(specifier)) return toPosix(relative(root, resolve(dirname(fromFile), specifier)))
  for (const [prefix, folder] of ALIASES) if (specifier.startsWith(prefix)) return folder + specifier.slice(prefix.length)
  // tsconfig baseUrl is the repository root, so TypeScript resolves 'src/core/…' too.
  if (specifier === 'src' || specifier.startsWith('src/')) return specifier
  return null
}

function moduleMatches(specifier, pattern) {
  if (pattern.endsWith('*')) return specifier.startsWith(pattern.slice(0, -1))
  return specifier === pattern || specifier.startsWith(`${pattern}/`)
}

/** @type {import('eslint').Rule.RuleModule} */
export const layeringRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the folder layering of docs/architecture.md' },
    schema: [
      {
        type: 'object',
        properties: {
          allow: { type: 'array', items: { type: 'string' } },
          modules: { type: 'array', items: { type: 'string' } },
          because: { type: 'string' }
        },
        additionalProperties: false
      }
    ],
    messages: {
      path: "'{{specifier}}' reaches {{target}}: {{layer}} may import only {{allowed}}.{{because}}",
      module: "'{{specifier}}' is not allowed in {{layer}}.{{because}}"
    }
  },
  create(context) {
    const options = context.options[0] ?? {}
    const allow = options.allow ?? null
    const modules = options.modules ?? []
    const because = options.because ? ` ${options.because}` : ''
    const root = context.cwd
    const file = toPosix(relative(root, context.filename))
    const layer = allow?.find((folder) => inside(file, folder)) ?? dirname(file)

    function check(node, specifier) {
      if (typeof specifier !== 'string') return
      const target = resolveSpecifier(specifier, context.filename, root)
      if (target === null) {
        if (modules.some((m) => moduleMatches(specifier, m))) context.report({ node, messageId: 'module', data: { specifier, layer, because } })
        return
      }
      if (allow && !target.startsWith('..') && !allow.some((folder) => inside(target, folder))) {
        context.report({ node, messageId: 'path', data: { specifier, target, layer, allowed: allow.join(', '), because } })
      }
    }
    const fromSource = (node) => node.source && check(node.source, node.source.value)

    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
      CallExpression(node) {
        const [arg] = node.arguments
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && arg?.type === 'Literal') check(arg, arg.value)
      },
      TSImportType(node) {
        const arg = node.argument
        const literal = arg?.type === 'TSLiteralType' ? arg.literal : arg
        if (literal?.type === 'Literal') check(literal, literal.value)
      },
      TSExternalModuleReference: (node) => node.expression.type === 'Literal' && check(node.expression, node.expression.value)
    }
  }
}

// ESLint's cache (npm run lint) is keyed on the plugins' name@version: this file's hash as the
// version makes an edit here re-lint every file.
const version = createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest('hex')
  .slice(0, 12)

export default { meta: { name: 'unveil-layering', version }, rules: { layering: layeringRule } }
