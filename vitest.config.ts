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
  },
});
