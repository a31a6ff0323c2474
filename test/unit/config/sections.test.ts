/**
 * The config sections: every row belongs to exactly one section, each section's derivations run in
 * loadConfig, and the readers the Lambda handlers use parse with the same rows.
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readSetting, SETTINGS, settingsTable } from '../../../src/config/index.js';
import { readLambdaSettings } from '../../../src/config/lambda.js';
import { jwtOptions } from '../../../src/config/sections/auth.js';
import { querySlots, resultMemoryCapacity, sharedRateLimits } from '../../../src/config/sections/limits.js';
import { sqlDialects } from '../../../src/config/sections/sql.js';
import { resultRoot, s3Bucket } from '../../../src/config/sections/storage.js';
import { redshiftDataTarget } from '../../../src/config/sections/warehouse.js';

describe('sections', () => {
  it('are the documented ones, in order, and hold every setting once', () => {
    const rows = settingsTable();
    expect([...new Set(rows.map((r) => r.section))]).toEqual([
      'server',
      'warehouse',
      'state',
      'storage',
      'auth',
      'sql',
      'jobs',
      'bulk',
      'limits',
      'observability',
    ]);
    expect(rows.map((r) => r.env).sort()).toEqual(
      Object.values(SETTINGS)
        .map((s) => s.env)
        .sort(),
    );
  });

  it('an async job default timeout above its maximum is lowered to it', () => {
    const c = loadConfig({
      SPECTRA_JOB_DEFAULT_TIMEOUT_SECONDS: '900',
      SPECTRA_JOB_MAX_TIMEOUT_SECONDS: '600',
    });
    expect(c).toMatchObject({ jobDefaultTimeoutSeconds: 600, jobMaxTimeoutSeconds: 600 });
    expect(loadConfig({ SPECTRA_DEFAULT_TIMEOUT_SECONDS: '400' }).defaultTimeoutSeconds).toBe(300);
  });

  it('derivations: result folder, query slots, shared rate limits, JWT options, S3 bucket', () => {
    const c = loadConfig({ SPECTRA_HOME: '/srv/spectra' });
    expect(resultRoot(c)).toBe('/srv/spectra/results');
    expect(querySlots(c)).toBe(c.warehousePoolSize);
    expect(sharedRateLimits(c)).toBe(false);
    expect(sharedRateLimits(loadConfig({ SPECTRA_STATE: 'dynamodb' }))).toBe(true);
    expect(jwtOptions(c)).toBeUndefined();
    expect(jwtOptions(loadConfig({ SPECTRA_JWT_SECRET: 's', SPECTRA_JWT_ISSUER: 'a,b' }))).toMatchObject({
      secret: 's',
      issuer: ['a', 'b'],
      claims: { tenantId: 'tenant_id' },
    });
    expect(() => s3Bucket(c)).toThrow(ConfigError);
    expect(redshiftDataTarget(loadConfig({ SPECTRA_REDSHIFT_CLUSTER_ID: ' c ' }))).toEqual({
      target: { clusterIdentifier: 'c' },
      secretArnTemplate: '',
      unloadRoleArn: '',
    });
  });

  it('derivations: the SQL guard dialects from the warehouse, the result memory from the heap', () => {
    expect(sqlDialects(loadConfig({}))).toEqual({ target: 'postgres', dialect: 'postgres' });
    expect(sqlDialects(loadConfig({ SPECTRA_SQL_DIALECT: 'redshift' }))).toEqual({
      target: 'postgres',
      dialect: 'redshift',
    });
    expect(sqlDialects({ warehouse: 'redshift-data', sqlDialect: '' })).toEqual({
      target: 'redshift',
      dialect: 'redshift',
    });
    expect(resultMemoryCapacity(loadConfig({ SPECTRA_RESULT_MEMORY_BYTES: '1000' }))).toBe(1000);
    expect(resultMemoryCapacity(loadConfig({}))).toBe(Math.floor(v8.getHeapStatistics().heap_size_limit / 4));
  });

  it('readSetting parses one row like loadConfig', () => {
    expect(readSetting('corsOrigins', { SPECTRA_CORS_ORIGINS: 'https://a.example/, http://b:3000' })).toEqual(
      ['https://a.example', 'http://b:3000'],
    );
    expect(readSetting('corsOrigins', {})).toEqual([]);
    expect(() => readSetting('corsOrigins', { SPECTRA_CORS_ORIGINS: 'nope' })).toThrow(
      /SPECTRA_CORS_ORIGINS/,
    );
  });

  it('the Lambda-only variables: usage plans only with 1, the function timeout as given', () => {
    expect(readLambdaSettings({})).toEqual({
      secretArn: '',
      usagePlans: false,
      functionTimeoutSeconds: undefined,
    });
    expect(
      readLambdaSettings({ SPECTRA_USAGE_PLANS: '1', SPECTRA_LAMBDA_TIMEOUT_SECONDS: '29' }),
    ).toMatchObject({
      usagePlans: true,
      functionTimeoutSeconds: '29',
    });
    expect(readLambdaSettings({ SPECTRA_USAGE_PLANS: '0' }).usagePlans).toBe(false);
  });
});
