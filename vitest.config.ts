import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e suites spawn real servers; two cores, so keep the fan-out modest.
    maxWorkers: 2,
    pool: 'forks',
  },
});
