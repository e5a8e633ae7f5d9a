import { defineConfig } from 'vitest/config';

// Two tiers (issue 17). `unit`: test/unit, in-process only (no package manager started, no connection off this
// machine), for quick loops: `npm run test:unit`. `e2e`: the tests that run the real npm/pnpm/yarn and the CLI
// against the loopback registry: `npm run test:e2e`, which CI can split with `-- --shard=1/3` (2/3, 3/3).
// `npm test` runs both.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests run the real npm; two cores, so keep parallelism modest.
    maxWorkers: 2,
    // Checks run in-process never ask the public OSV API (see CLOSED_OSV_URL in test/integration/helpers.ts).
    env: { SAFE_INSTALL_OSV_URL: 'http://127.0.0.1:9' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/unit/**/*.test.tsx'],
          // Fails a unit test that starts a package manager or connects off this machine (test/unit/isolation.ts).
          setupFiles: ['test/unit/isolation.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/{integration,security,registry}/**/*.test.ts', 'test/{integration,security,registry}/**/*.test.tsx'],
        },
      },
    ],
  },
});
