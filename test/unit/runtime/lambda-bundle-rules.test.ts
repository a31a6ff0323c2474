/**
 * The rules `npm run build:lambda` holds each bundle to (scripts/build-lambda.ts BUNDLE_RULES), on
 * made-up bundles: what the authorizer and the worker must not contain, the authorizer's size cap,
 * and the zip cap of every package.
 */
import { describe, expect, it } from 'vitest';
import { type BuiltBundle, bundleRuleViolations, MAX_ZIP_BYTES } from '../../../scripts/build-lambda.js';

function bundle(over: Partial<BuiltBundle> & Pick<BuiltBundle, 'name'>): BuiltBundle {
  return {
    dir: '/tmp/x',
    file: '/tmp/x/index.mjs',
    bundleBytes: 500_000,
    packageBytes: 500_000,
    zipBytes: 200_000,
    inputs: ['src/auth/index.ts'],
    files: ['index.mjs'],
    topInputs: [],
    ...over,
  };
}

describe('bundle rules', () => {
  it('a small authorizer of auth code keeps them', () => {
    expect(bundleRuleViolations(bundle({ name: 'authorizer' }))).toEqual([]);
  });

  it('the authorizer may not carry the SQL planner, the WASM parser or the S3 client', () => {
    const inputs = [
      'src/sql/plan.ts',
      'node_modules/pgsql-deparser/index.js',
      'node_modules/libpg-query/wasm/index.js',
      'node_modules/@aws-sdk/client-s3/dist-es/index.js',
    ];
    expect(bundleRuleViolations(bundle({ name: 'authorizer', inputs }))).toHaveLength(4);
    expect(bundleRuleViolations(bundle({ name: 'worker', inputs }))).toEqual([]);
  });

  it('the worker may not carry the HTTP core: planner, query/job/bulk/tenant services, authenticators', () => {
    const inputs = [
      'src/runtime/core.ts',
      'src/sql/planner.ts',
      'src/services/query-service.ts',
      'src/services/job-service.ts',
      'src/services/bulk-lifecycle.ts',
      'src/services/tenant-service.ts',
      'src/auth/index.ts',
    ];
    expect(bundleRuleViolations(bundle({ name: 'worker', inputs }))).toHaveLength(inputs.length);
    // Its Data API adapter scans SQL with the parser, so the parser itself may stay.
    const parser = ['src/sql/parser.ts', 'node_modules/libpg-query/wasm/index.js'];
    expect(bundleRuleViolations(bundle({ name: 'worker', inputs: parser }))).toEqual([]);
  });

  it('the authorizer bundle stays at most 1.2 MB; the others are held to the zip cap only', () => {
    const big = { bundleBytes: 1_300_000 };
    expect(bundleRuleViolations(bundle({ name: 'authorizer', ...big }))).toEqual([
      expect.stringMatching(/^bundle of 1270 KiB, over 1172 KiB/),
    ]);
    expect(bundleRuleViolations(bundle({ name: 'api', ...big }))).toEqual([]);
    expect(
      bundleRuleViolations(
        bundle({ name: 'worker', inputs: ['src/worker/index.ts'], zipBytes: MAX_ZIP_BYTES + 1 }),
      ),
    ).toHaveLength(1);
  });
});
