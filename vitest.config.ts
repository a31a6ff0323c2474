import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // The embedded PostgreSQL, DynamoDB Local (started in the background; see dynamodb-setup.ts), s3rver.
    globalSetup: [
      'test/helpers/global-setup.ts',
      'test/helpers/dynamodb-setup.ts',
      'test/helpers/s3-setup.ts',
    ],
    // Bounds against hangs, sized for a loaded 2-core machine (tests wait for events, never for speed):
    // a test's own waits (test/helpers/time.ts) give up at 60 s, DynamoDB Local's start at 90 s.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
