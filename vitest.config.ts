import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests run the real npm; two cores, so keep parallelism modest.
    maxWorkers: 2,
    // Checks run in-process never ask the public OSV API (see CLOSED_OSV_URL in test/integration/helpers.ts).
    env: { SAFE_INSTALL_OSV_URL: 'http://127.0.0.1:9' },
  },
});
