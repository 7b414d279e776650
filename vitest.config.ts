import { defineConfig } from 'vitest/config';

/**
 * Three kinds of tests: unit (pure, no I/O), integration (HTTP against the local stack on DynamoDB Local, one
 * emulator for the whole run) and infra (CDK template assertions, bundling off).
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/dynamodb-global-setup.ts'],
          // A guard against hangs, not a speed check (that is `npm run bench`): both workers share one emulator,
          // and next to the scale test a 200-writer test on 2 cores has taken over 60 s.
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      // Synthesizing the stacks (in beforeAll) takes seconds, more on a busy machine.
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
