import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Service modules under test import 'klue'; point them at the sources under test. */
export const klueSourceAliases = {
  alias: [
    { find: /^klue\/async$/, replacement: fileURLToPath(new URL('./src/tasks/index.ts', import.meta.url)) },
    { find: /^klue\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
    { find: /^klue\/server$/, replacement: fileURLToPath(new URL('./src/server.ts', import.meta.url)) },
    { find: /^klue$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  ],
};

export default defineConfig({
  resolve: klueSourceAliases,
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/faults/**', 'node_modules/**', 'dist/**'],
    globalSetup: ['test/global-setup.ts'],
    // A passing test prints nothing: services loaded in the test's process log nowhere. Tests
    // that read logs set their own level (a spawned klue process gets LOG_LEVEL=info).
    env: { LOG_LEVEL: 'silent' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
