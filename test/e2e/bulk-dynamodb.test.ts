/**
 * The Bulk API on the DynamoDB StateStore (DynamoDB Local, fresh tables) end to end, through HTTP:
 * an export and an import run by the in-process worker to JobComplete with their files
 * downloadable, listing with filters, tenant isolation (another tenant's job is 404), the stream
 * image that wakes the worker Lambda, and one RUNNING cap across query and bulk jobs.
 * Warehouse: the embedded PostgreSQL; results: the filesystem.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '../../infra/lib/table-design.js';
import { runnableJob } from '../../src/runtime/lambda/worker.js';
import { startJobWorker } from '../../src/runtime/worker.js';
import { createTables, type StateTableNames, stateTableNames } from '../../src/state/dynamodb/index.js';
import { bulkClient } from '../helpers/bulk.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../helpers/dynamodb-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { createTenantTable, type TenantTable } from '../helpers/tenant-tables.js';

let spectra: TestSpectra;
let bulk: ReturnType<typeof bulkClient>;
let tables: StateTableNames;
let raw: DynamoDBClient;
let people: TenantTable;

beforeAll(async () => {
  const clientConfig = dynamoClientConfig(await dynamoEndpoint());
  tables = stateTableNames(uniqueTablePrefix('e2e-bulk'));
  raw = new DynamoDBClient(clientConfig);
  await createTables(raw, tables);
  // The SDK's standard endpoint override, as `spectra serve` against DynamoDB Local would use it.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = clientConfig.endpoint;
  process.env.AWS_ACCESS_KEY_ID = clientConfig.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = clientConfig.credentials.secretAccessKey;
  // Each table's setting, as the CDK stack passes them (infra/lib/table-design.ts).
  const designs: Record<string, { env: string }> = TABLES;
  const tableEnv = Object.fromEntries(Object.entries(tables).map(([t, name]) => [designs[t]!.env, name]));
  spectra = await startSpectra({
    SPECTRA_STATE: 'dynamodb',
    SPECTRA_AWS_REGION: clientConfig.region,
    ...tableEnv,
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
    SPECTRA_JOB_LEASE_SECONDS: '5',
  });
  await startJobWorker(spectra.core);
  bulk = bulkClient(spectra);
  people = await createTenantTable('ddb', 'id integer NOT NULL, name text, score numeric(6,2)', 'id');
});
afterAll(async () => {
  await spectra?.close();
  raw?.destroy();
  await people?.drop();
});

const item = async (jobId: string) =>
  (await raw.send(new GetItemCommand({ TableName: tables.bulkJobs, Key: { job_id: { S: jobId } } }))).Item;

describe('the Bulk API with SPECTRA_STATE=dynamodb', () => {
  it('exports a query to JobComplete and serves the file; another tenant gets 404', async () => {
    const sql = 'SELECT region, count(*) AS n FROM sales GROUP BY region ORDER BY region';
    const job = await bulk.create('acme', { operation: 'query', query: sql });
    expect(job).toMatchObject({ state: 'UploadComplete', operation: 'query' });
    const started = await bulk.patch('acme', job.job_id, 'UploadComplete');
    expect(started.status, await started.clone().text()).toBe(200);
    const done = await bulk.waitFor('acme', job.job_id, ['JobComplete', 'Failed', 'Aborted']);
    expect(done, JSON.stringify(done)).toMatchObject({ state: 'JobComplete' });

    const expected = (await json(await spectra.query('acme', { sql }))).data as {
      region: string;
      n: number;
    }[];
    expect(expected.length).toBeGreaterThan(0);
    const { bytes, results } = await bulk.download('acme', job.job_id);
    expect(bytes.toString('utf8')).toBe(
      `region,n\n${expected.map((r) => `${r.region},${r.n}`).join('\n')}\n`,
    );
    expect(results).toMatchObject({ row_count: expected.length });
    expect(done.number_records_processed).toBe(expected.length);

    // The item the stream carries: top-level state, tenant and job id, as WORKER_TRIGGERS reads them.
    expect(await item(job.job_id)).toMatchObject({
      state: { S: 'JobComplete' },
      tenant_id: { S: 'acme' },
      job_id: { S: job.job_id },
    });

    for (const path of ['', '/results']) {
      const res = await spectra.request(`/v1/bulk/jobs/${job.job_id}${path}`, { tenant: 'globex' });
      expect(res.status, path).toBe(404);
    }
    const aborted = await spectra.request(`/v1/bulk/jobs/${job.job_id}`, {
      tenant: 'globex',
      method: 'PATCH',
      body: { state: 'Aborted' },
    });
    expect(aborted.status).toBe(404);
    const mine = await json(await spectra.request('/v1/bulk/jobs?limit=100', { tenant: 'acme' }));
    expect(mine.jobs.map((j: { job_id: string }) => j.job_id)).toContain(job.job_id);
    const theirs = await json(await spectra.request('/v1/bulk/jobs?limit=100', { tenant: 'globex' }));
    expect(theirs.jobs.map((j: { job_id: string }) => j.job_id)).not.toContain(job.job_id);
  });

  it('imports a CSV file with one bad record: the rest loads, the failure is reported', async () => {
    const csv = 'id,name,score\n1,Ada,1.5\n2,Bob,not-a-number\n3,Cy,3\n';
    const done = await bulk.run('acme', { operation: 'insert', object: people.name }, csv);
    expect(done, JSON.stringify(done)).toMatchObject({
      state: 'JobComplete',
      number_records_processed: 3,
      number_records_failed: 1,
    });
    expect(await bulk.results('acme', done.job_id)).toMatchObject({
      number_records_loaded: 2,
      failed_results_url: expect.stringMatching(/failed-1\.csv/),
    });
    const failed = await bulk.failedResults('acme', done.job_id);
    expect(failed.split('\n')[0]).toMatch(/^id,name,score,.*error/);
    expect(failed).toContain('2,Bob,not-a-number');
    expect(await people.admin(`SELECT tenant_id, id, name FROM public.${people.name} ORDER BY id`)).toEqual([
      { tenant_id: 'acme', id: 1, name: 'Ada' },
      { tenant_id: 'acme', id: 3, name: 'Cy' },
    ]);
    expect(
      (await spectra.request(`/v1/bulk/jobs/${done.job_id}/failed-results`, { tenant: 'globex' })).status,
    ).toBe(404);

    const inserts = await json(
      await spectra.request('/v1/bulk/jobs?operation=insert&state=JobComplete&limit=100', { tenant: 'acme' }),
    );
    const listed = inserts.jobs as { job_id: string; operation: string; state: string }[];
    expect(listed.map((j) => j.job_id)).toContain(done.job_id);
    expect(listed.every((j) => j.operation === 'insert' && j.state === 'JobComplete')).toBe(true);
  });

  it('wakes the worker Lambda from the stream image of the move to UploadComplete only', async () => {
    // An import waits Open for its file (an export is queued when created).
    const created = await bulk.create('acme', { operation: 'insert', object: people.name });
    await bulk.upload('acme', created.job_id, 'id,name\n1,a\n');
    const stores = spectra.core.state.bulk!;
    // Held back an hour, so the in-process worker leaves it UploadComplete while we look.
    await stores.jobs.transition('acme', created.job_id, ['Open'], {
      notBefore: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const open = await item(created.job_id);
    expect(runnableJob({ eventName: 'INSERT', dynamodb: { NewImage: open as never } })).toEqual({
      skip: 'not-runnable',
    });
    expect((await bulk.patch('acme', created.job_id, 'UploadComplete')).status).toBe(200);
    const queued = await item(created.job_id);
    expect(queued).toMatchObject({
      state: { S: 'UploadComplete' },
      tenant_state: { S: 'acme#UploadComplete' },
    });
    expect(
      runnableJob({ eventName: 'MODIFY', dynamodb: { NewImage: queued as never, OldImage: open as never } }),
    ).toEqual({ tenantId: 'acme', jobId: created.job_id });
    // A later write that leaves it UploadComplete does not run it again.
    expect(
      runnableJob({
        eventName: 'MODIFY',
        dynamodb: { NewImage: queued as never, OldImage: queued as never },
      }),
    ).toEqual({ skip: 'not-runnable' });
    expect((await bulk.patch('acme', created.job_id, 'Aborted')).status).toBe(200);
  });
});
