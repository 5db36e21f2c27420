// Test configuration: tests sit beside the code; slow accuracy/recovery tests (*.slow.test.ts) run only with KAIROS_SLOW=1.
import { defineConfig } from 'vitest/config';

const slow = process.env.KAIROS_SLOW === '1';

export default defineConfig({
  test: {
    include: slow ? ['src/**/*.slow.test.ts'] : ['src/**/*.test.ts'],
    exclude: slow ? [] : ['src/**/*.slow.test.ts', 'node_modules/**', 'dist/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // Test files of a worker share its module cache: each file no longer loads DuckDB, ECharts and the scorers again
    // (import time 56 s -> 14 s, the suite 290 s -> 262 s on this machine). Tests hold no module-level state of their
    // own; every store, server and registry a test uses is made by that test.
    isolate: false,
  },
});
