import { defineConfig } from 'vitest/config';

// The reliability ("chaos") suite, `npm run test:chaos` (README "Reliability (chaos) suite"): a
// soak per backend with runner kills and server restarts, a Kafka broker restart, and fuzzing.
// One file at a time: each soak keeps both cores busy with 8 runner processes.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
