// One lint config for the repository (typescript-eslint, flat config); formatting is prettier's
// (.prettierrc), so no stylistic rules here. `npm run lint` runs both, `npm run format` fixes format.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const NODE_GLOBALS = [
  'process',
  'console',
  'Buffer',
  'URL',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'queueMicrotask',
  'structuredClone',
  'AbortController',
  'AbortSignal',
  'performance',
  'fetch',
  '__dirname',
  '__filename',
  'require',
  'module',
]

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'oclif.manifest.json', 'test/fixtures/format1-store/']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Node's globals, for the JavaScript files (TypeScript knows them from @types/node).
    languageOptions: {globals: Object.fromEntries(NODE_GLOBALS.map((name) => [name, 'readonly']))},
    rules: {
      // Functions of about 60 lines at most (issue 12 point 4), counted as prettier lays them out.
      'max-lines-per-function': ['error', {max: 60, skipBlankLines: true, skipComments: true}],
      // `_name` marks a parameter that is there for its position only.
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
      // A `let` read by a callback before its one assignment (a server's handler, say) cannot be const.
      'prefer-const': ['error', {ignoreReadBeforeAssign: true}],
    },
  },
  {
    // The terminal code strips and measures its own escape codes (ESC [ ... m).
    files: ['src/cli/**'],
    rules: {'no-control-regex': 'off'},
  },
  {
    // Tests describe a whole scenario in one it() callback, read JSON documents as `any` and match
    // escape codes; the bench's cases read as one story each.
    files: ['test/**', 'bench/**'],
    rules: {'max-lines-per-function': 'off', '@typescript-eslint/no-explicit-any': 'off', 'no-control-regex': 'off'},
  },
  {
    // The entry points are CommonJS (bin/package.json): an ES module entry costs start-up.
    files: ['bin/**'],
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
)
