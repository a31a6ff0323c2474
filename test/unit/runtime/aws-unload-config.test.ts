/** SPECTRA_REDSHIFT_S3_ROLE_ARN turns the Data API warehouse's UNLOAD exports (`copyOut`) on, or fails at start-up. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { buildRedshiftDataWarehouse } from '../../../src/runtime/aws.js';

const ROLE = 'arn:aws:iam::123456789012:role/spectra-redshift-s3';
const config = (env: Record<string, string>) =>
  loadConfig({
    SPECTRA_WAREHOUSE: 'redshift-data',
    SPECTRA_AWS_REGION: 'eu-west-1',
    SPECTRA_REDSHIFT_CLUSTER_ID: 'analytics',
    ...env,
  });

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('UNLOAD settings of the Data API warehouse', () => {
  it('a role and a bucket give the adapter copyOut; without the role it has none', async () => {
    const on = buildRedshiftDataWarehouse(
      config({ SPECTRA_REDSHIFT_S3_ROLE_ARN: ROLE, SPECTRA_S3_BUCKET_NAME: 'spectra-results' }),
    );
    const off = buildRedshiftDataWarehouse(config({ SPECTRA_S3_BUCKET_NAME: 'spectra-results' }));
    expect(typeof on.copyOut).toBe('function');
    expect(off.copyOut).toBeUndefined();
    await on.close();
    await off.close();
  });

  it('refuses a role without a bucket, and anything but IAM role ARNs', () => {
    expect(
      configError(() => buildRedshiftDataWarehouse(config({ SPECTRA_REDSHIFT_S3_ROLE_ARN: ROLE }))),
    ).toMatch(/needs SPECTRA_S3_BUCKET_NAME/);
    for (const role of ["arn:aws:iam::123456789012:role/x'", 'arn:aws:iam::1:role/x', 'my-role']) {
      expect(
        configError(() =>
          buildRedshiftDataWarehouse(
            config({ SPECTRA_REDSHIFT_S3_ROLE_ARN: role, SPECTRA_S3_BUCKET_NAME: 'spectra-results' }),
          ),
        ),
      ).toMatch(/must be an IAM role ARN/);
    }
  });

  it('MAXFILESIZE stays within what Redshift accepts (5 to 6200 MB)', () => {
    expect(config({}).redshiftUnloadMaxFileSizeMb).toBe(6200);
    for (const mb of ['4', '6201', '5.5']) {
      expect(() => config({ SPECTRA_REDSHIFT_UNLOAD_MAX_FILE_SIZE_MB: mb })).toThrow(ConfigError);
    }
  });
});
