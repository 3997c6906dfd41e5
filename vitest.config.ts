import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native worker misbehaves in worker threads; forks isolate it.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2-core machines: real training and a real Temporal server per file do not parallelise well.
    fileParallelism: false,
  },
});
