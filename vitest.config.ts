import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // The embedded PostgreSQL, then DynamoDB Local (started in the background; see dynamodb-setup.ts).
    globalSetup: ['test/helpers/global-setup.ts', 'test/helpers/dynamodb-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
