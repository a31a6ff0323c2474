/** Adapter selection from configuration: SPECTRA_WAREHOUSE=redshift-data (with its UNLOAD/COPY settings) and SPECTRA_STATE=dynamodb. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { buildDynamoStateStore } from '../../../src/runtime/aws/dynamodb.js';
import { buildRedshiftDataWarehouse } from '../../../src/runtime/aws/redshift-data.js';
import { DynamoStateStore } from '../../../src/state/dynamodb/index.js';
import { RedshiftDataWarehouse } from '../../../src/warehouse/redshift-data/index.js';

const config = (env: Record<string, string>) =>
  loadConfig({ SPECTRA_WAREHOUSE: 'redshift-data', SPECTRA_AWS_REGION: 'eu-west-1', ...env });

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('SPECTRA_WAREHOUSE=redshift-data', () => {
  it('a provisioned cluster with DbUser credentials, or per-tenant secrets from the prefix the CDK stack uses', async () => {
    const envs: Record<string, string>[] = [
      { SPECTRA_REDSHIFT_CLUSTER_ID: 'analytics' },
      { SPECTRA_REDSHIFT_WORKGROUP_NAME: 'wg', SPECTRA_REDSHIFT_TENANT_SECRET_PREFIX: 'spectra/redshift/' },
      {
        SPECTRA_REDSHIFT_CLUSTER_ID: 'c',
        SPECTRA_REDSHIFT_SECRET_ARN: 'arn:aws:secretsmanager:x:1:secret:t/{tenant}',
      },
    ];
    for (const env of envs) {
      const w = buildRedshiftDataWarehouse(config(env));
      expect(w).toBeInstanceOf(RedshiftDataWarehouse);
      await w.close();
    }
  });

  it.each([
    [{}, /SPECTRA_REDSHIFT_CLUSTER_ID or SPECTRA_REDSHIFT_WORKGROUP_NAME/],
    [{ SPECTRA_REDSHIFT_CLUSTER_ID: 'c', SPECTRA_REDSHIFT_WORKGROUP_NAME: 'w' }, /exclusive/],
    [{ SPECTRA_REDSHIFT_WORKGROUP_NAME: 'w' }, /Serverless takes the database user from the IAM identity/],
    [
      {
        SPECTRA_REDSHIFT_CLUSTER_ID: 'c',
        SPECTRA_REDSHIFT_SECRET_ARN: 'arn:aws:secretsmanager:x:1:secret:shared',
      },
      /one shared secret would run every tenant as the same database user/,
    ],
  ])('%j → ConfigError %s', (env, message) => {
    expect(configError(() => buildRedshiftDataWarehouse(config(env)))).toMatch(message);
  });

  it('rejects a keep-alive beyond the Data API maximum of 24 h', () => {
    expect(() => config({ SPECTRA_REDSHIFT_SESSION_KEEP_ALIVE_SECONDS: '90000' })).toThrow(
      /SPECTRA_REDSHIFT_SESSION_KEEP_ALIVE_SECONDS/,
    );
  });
});

describe('SPECTRA_STATE=dynamodb', () => {
  it('builds the DynamoDB StateStore with every part of the port, on the configured table names', async () => {
    const store = buildDynamoStateStore(
      loadConfig({ SPECTRA_STATE: 'dynamodb', SPECTRA_AWS_REGION: 'eu-west-1' }),
    );
    for (const part of [
      'tenants',
      'apiKeys',
      'jobs',
      'jobQueue',
      'jobRetention',
      'idempotency',
      'audit',
      'rateLimits',
      'stats',
    ] as const)
      expect(store[part], part).toBeDefined();
    expect(store).toBeInstanceOf(DynamoStateStore);
    await store.close();
  });
});

// SPECTRA_REDSHIFT_S3_ROLE_ARN turns the Data API warehouse's UNLOAD/COPY paths on, or fails at start-up.
const ROLE = 'arn:aws:iam::123456789012:role/spectra-redshift-s3';
const unloadConfig = (env: Record<string, string>) =>
  config({ SPECTRA_REDSHIFT_CLUSTER_ID: 'analytics', ...env });

describe('UNLOAD settings of the Data API warehouse', () => {
  it('a role and a bucket give the adapter copyOut; without the role it has none', async () => {
    const on = buildRedshiftDataWarehouse(
      unloadConfig({ SPECTRA_REDSHIFT_S3_ROLE_ARN: ROLE, SPECTRA_S3_BUCKET_NAME: 'spectra-results' }),
    );
    const off = buildRedshiftDataWarehouse(unloadConfig({ SPECTRA_S3_BUCKET_NAME: 'spectra-results' }));
    expect(typeof on.copyOut).toBe('function');
    expect(off.copyOut).toBeUndefined();
    await on.close();
    await off.close();
  });

  it('refuses a role without a bucket, and anything but IAM role ARNs', () => {
    expect(
      configError(() => buildRedshiftDataWarehouse(unloadConfig({ SPECTRA_REDSHIFT_S3_ROLE_ARN: ROLE }))),
    ).toMatch(/needs SPECTRA_S3_BUCKET_NAME/);
    for (const role of ["arn:aws:iam::123456789012:role/x'", 'arn:aws:iam::1:role/x', 'my-role']) {
      expect(
        configError(() =>
          buildRedshiftDataWarehouse(
            unloadConfig({ SPECTRA_REDSHIFT_S3_ROLE_ARN: role, SPECTRA_S3_BUCKET_NAME: 'spectra-results' }),
          ),
        ),
      ).toMatch(/must be an IAM role ARN/);
    }
  });

  it('MAXFILESIZE stays within what Redshift accepts (5 to 6200 MB)', () => {
    expect(unloadConfig({}).redshiftUnloadMaxFileSizeMb).toBe(6200);
    for (const mb of ['4', '6201', '5.5']) {
      expect(() => unloadConfig({ SPECTRA_REDSHIFT_UNLOAD_MAX_FILE_SIZE_MB: mb })).toThrow(ConfigError);
    }
  });
});
