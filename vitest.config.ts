import { defineConfig } from 'vitest/config';

// Tests import src/ directly (vitest transpiles it). Worker threads started by the library load
// the built dist/ files, exactly as users get them, so `npm test` builds before it runs vitest.
// Test-only worker fixtures start from test/support/ts-worker.mjs, which registers tsx first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
