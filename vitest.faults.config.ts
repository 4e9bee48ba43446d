import { defineConfig } from 'vitest/config';
import { klueSourceAliases } from './vitest.config.js';

// The fault suite: real `klue start` / `klue worker` processes (built dist/) against private
// Redis servers that it kills and restarts. Files run one at a time: faults need the CPU.
export default defineConfig({
  resolve: klueSourceAliases,
  test: {
    include: ['test/faults/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', '**/.klue/**'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 90_000,
    pool: 'forks',
    reporters: ['default'],
    // Each case prints its figures in one `[faults] ...` line.
    silent: false,
  },
});
