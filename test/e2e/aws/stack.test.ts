/**
 * What test/e2e/aws/* run on: the service built by `startSpectra` under SPECTRA_TEST_STACK=aws uses
 * the Redshift Data API warehouse, the DynamoDB StateStore and the S3 ResultStore — and its job
 * records, keys and result files really live in DynamoDB Local and s3rver.
 */
import '../../helpers/aws-stack-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../../../src/state/dynamodb/index.js';
import { S3ResultStore } from '../../../src/storage/s3/index.js';
import { RedshiftDataWarehouse } from '../../../src/warehouse/redshift-data/index.js';
import { json, startSpectra, type TestSpectra } from '../../helpers/spectra.js';

let spectra: TestSpectra;

beforeAll(async () => {
  spectra = await startSpectra();
});
afterAll(async () => {
  await spectra?.close();
});

describe('SPECTRA_TEST_STACK=aws', () => {
  it('builds the service on the three AWS adapters', () => {
    expect(spectra.core.config).toMatchObject({
      warehouse: 'redshift-data',
      state: 'dynamodb',
      storage: 's3',
    });
    expect(spectra.core.warehouse).toBeInstanceOf(RedshiftDataWarehouse);
    expect(spectra.core.state).toBeInstanceOf(DynamoStateStore);
    expect(spectra.core.results).toBeInstanceOf(S3ResultStore);
    // CSV exports go through Redshift's UNLOAD to the bucket, not through result pages.
    expect(spectra.core.warehouse.copyOut).toBeTypeOf('function');
  });

  it('answers a query through the Data API, as the tenant, and records the job in DynamoDB', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT current_user AS who, count(*) AS n FROM sales' });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data[0].who).toBe('tenant_acme');
    const job = await spectra.core.state.jobs.get('acme', body.job_id);
    expect(job).toMatchObject({ status: 'COMPLETED', tenantId: 'acme', rowCount: 1 });
  });
});
