import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/** The embedded PostgreSQL, DynamoDB Local (started in the background; see dynamodb-setup.ts), s3rver: started once for the projects that list them. */
const SERVICES = [
  'test/helpers/global-setup.ts',
  'test/helpers/dynamodb-setup.ts',
  'test/helpers/s3-setup.ts',
];

export default defineConfig({
  test: {
    // Bounds against hangs, sized for a loaded 2-core machine (tests wait for events, never for speed):
    // a test's own waits (test/helpers/time.ts) give up at 60 s, DynamoDB Local's start at 90 s.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    pool: 'forks',
    // Vitest runs cores − 1 files at once: one on CI's 2 cores. The files mostly wait (on spawned
    // processes, PostgreSQL, DynamoDB Local, lease and timeout events), and every test is written
    // to hold on an oversubscribed machine, so two at a time there: 446 s of wall time against
    // 704 s on this 2-core VM, 697 s with two CPU hogs beside them (docs/architecture.md, Tests).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default'],
    // `npm run test:unit` (no server, no database, no Java), `test:integration`, `test:e2e`; `npm test` runs all.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'test/integration/**/*.test.ts',
            'test/infra/**/*.test.ts',
            'test/conformance/**/*.test.ts',
          ],
          globalSetup: SERVICES,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/browser/**/*.test.ts'],
          globalSetup: SERVICES,
        },
      },
    ],
  },
});
