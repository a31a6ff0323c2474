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
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
