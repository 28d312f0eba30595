// Lint guards the architecture (STYLE.md principle 14): no floating promises, no process.env
// outside config modules, no deep imports into another package's src.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '.data/**', '.tools/**', '**/dist/**', '**/*.mjs', '**/*.js', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@tenantgate/*/src/*', '@tenantgate/*/src'],
              message: 'Import the package entry point, not its internals.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through the zod config module only.' },
      ],
    },
  },
  {
    // Config modules, test setup, tooling entry points and tests may read the environment.
    files: [
      '**/config.ts',
      '**/env.ts',
      '**/*.test.ts',
      '**/vitest-global-setup.ts',
      'infra/stack/src/cli.ts',
      'test/**',
      'bench/**',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
