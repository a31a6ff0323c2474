/**
 * The service on the DynamoDB StateStore (DynamoDB Local, fresh tables) end to end: tenants and keys,
 * a synchronous query, an async job run by the in-process worker to COMPLETED with its rows, an
 * idempotent replay, the audit trail and shared rate limits. Warehouse: the embedded PostgreSQL;
 * results: the filesystem.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { createTables, stateTableNames } from '../../src/state/dynamodb/index.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../helpers/dynamodb-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { WAIT_TIMEOUT_MS } from '../helpers/time.js';

let spectra: TestSpectra;

beforeAll(async () => {
  const clientConfig = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix('e2e'));
  const admin = new DynamoDBClient(clientConfig);
  await createTables(admin, tables);
  admin.destroy();
  // The SDK's standard endpoint override, as `spectra serve` against DynamoDB Local would use it.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = clientConfig.endpoint;
  process.env.AWS_ACCESS_KEY_ID = clientConfig.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = clientConfig.credentials.secretAccessKey;
  spectra = await startSpectra({
    SPECTRA_STATE: 'dynamodb',
    SPECTRA_AWS_REGION: clientConfig.region,
    SPECTRA_DYNAMODB_TENANTS_TABLE_NAME: tables.tenants,
    SPECTRA_DYNAMODB_API_KEYS_TABLE_NAME: tables.apiKeys,
    SPECTRA_DYNAMODB_TABLE_NAME: tables.jobs,
    SPECTRA_DYNAMODB_IDEMPOTENCY_TABLE_NAME: tables.idempotency,
    SPECTRA_DYNAMODB_AUDIT_TABLE_NAME: tables.audit,
    SPECTRA_DYNAMODB_RATE_LIMITS_TABLE_NAME: tables.rateLimits,
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
  });
  await startJobWorker(spectra.core);
});
afterAll(async () => {
  await spectra?.close();
});

describe('SPECTRA_STATE=dynamodb', () => {
  it('answers a synchronous query for a tenant whose key lives in DynamoDB', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT 1 AS one' });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await json(res)).data).toEqual([{ one: 1 }]);
  });

  it('runs an async job to COMPLETED and serves its rows; a retried submission with the same Idempotency-Key replays', async () => {
    const headers = { 'idempotency-key': `e2e-${Date.now()}` };
    const res = await spectra.query('acme', { sql: 'SELECT 42 AS answer', async: true }, headers);
    expect(res.status, await res.clone().text()).toBe(202);
    const { job_id: jobId } = await json(res);
    const replay = await spectra.query('acme', { sql: 'SELECT 42 AS answer', async: true }, headers);
    expect((await json(replay)).job_id).toBe(jobId);

    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    let job = await json(await spectra.request(`/v1/jobs/${jobId}`, { tenant: 'acme' }));
    while (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      job = await json(await spectra.request(`/v1/jobs/${jobId}`, { tenant: 'acme' }));
    }
    expect(job.status, JSON.stringify(job)).toBe('COMPLETED');
    const results = await spectra.request(`/v1/jobs/${jobId}/results`, { tenant: 'acme' });
    expect(results.status).toBe(200);
    expect((await json(results)).data).toEqual([{ answer: 42 }]);
    // Another tenant cannot see it.
    expect((await spectra.request(`/v1/jobs/${jobId}`, { tenant: 'globex' })).status).toBe(404);
  });
});
