// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

const PURE = 'core is pure: take time, randomness and I/O as inputs or ports.'
const RIM =
  'adapters stay at the rim: import the port from @wattline/core and have compose/ (or the cli command) pass the adapter in'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'packages/dashboard/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: [
      'packages/core/src/**/*.test.ts',
      'packages/core/src/**/*.contract.ts',
      'packages/core/src/testing.ts',
    ],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: PURE },
        { object: 'Math', property: 'random', message: PURE },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: PURE },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'setTimeout',
          'setInterval',
          'setImmediate',
          'fetch',
          'process',
          'performance',
          'crypto',
          'require',
        ].map((name) => ({ name, message: PURE })),
      ],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', 'wattline', 'wattline/*'], message: PURE }] },
      ],
    },
  },
  {
    files: ['packages/wattline/src/adapters/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.test-support.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/http/**', '**/sim/**', '**/cli/**'],
              message: 'adapters never import http, sim or cli',
            },
          ],
        },
      ],
    },
  },
  {
    // An adapter's own tests may start a simulated server (sim/) to run its port's contract suite.
    files: ['packages/wattline/src/adapters/**/*.{test,test-support}.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/http/**', '**/cli/**'], message: 'adapters never import http or cli' },
          ],
        },
      ],
    },
  },
  {
    // Adapters stay at the rim (docs/architecture.md, "The rim"): only the composition roots
    // (compose/), the CLI's commands (cli/), the package's public entry (index.ts), other adapters,
    // and tests pick a concrete adapter. Everything else depends on a port (@wattline/core) and is
    // handed the adapter. Type-only imports too: a port's types come from @wattline/core.
    files: ['packages/wattline/src/**/*.ts'],
    ignores: [
      'packages/wattline/src/adapters/**',
      'packages/wattline/src/compose/**',
      'packages/wattline/src/cli/**',
      'packages/wattline/src/index.ts',
      '**/*.test.ts',
      '**/*.test-support.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/adapters/**'], message: RIM }] },
      ],
      'no-restricted-syntax': [
        'error',
        // esquery's regex cannot hold a slash: `.` stands for it (`./adapters/`, `../adapters/`)
        { selector: 'ImportExpression[source.value=/\\.\\.?.adapters./]', message: RIM },
      ],
    },
  },
  {
    files: ['packages/wattline/src/**/*.ts'],
    ignores: ['packages/wattline/src/cli/main.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'exit', message: 'only cli/main.ts exits the process' },
      ],
    },
  },
  {
    files: ['packages/dashboard/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Typed rules: a promise nobody awaits or catches is a crash or a lost error waiting to happen.
    files: ['packages/*/src/**/*.{ts,tsx}', 'bench/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
    },
  },
)
