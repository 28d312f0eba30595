import { defineConfig } from 'vitest/config';

// One run for the whole workspace: unit tests beside the code (*.test.ts), integration tests on
// real Postgres/Redis (*.int.test.ts), end-to-end tests against running services (test/**).
// The global setup starts one PostgreSQL and one Redis for the run; each file gets its own database
// and queue prefix (see infra/stack/src/testing.ts).
export default defineConfig({
  resolve: {
    // graphql ships both .mjs and .js entry points; force one realm (see ARCHITECTURE.md, "traps").
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'services/*/src/**/*.test.ts',
      'infra/*/src/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '.data/**', '.tools/**'],
    globalSetup: ['./infra/stack/src/vitest-global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
