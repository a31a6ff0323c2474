/**
 * The serverless shape end to end, in-process: the authorizer, API and worker handlers fed the
 * events AWS would send them — REST API proxy events carrying the authorizer's context, and DynamoDB
 * Streams batches made of the REAL stream records DynamoDB Local wrote for our tables (DescribeTable
 * → LatestStreamArn, DescribeStream, GetShardIterator, GetRecords), in the Lambda event shape — with
 * all three AWS stand-ins: DynamoDB Local (state), s3rver (results, presigned downloads) and the
 * Redshift Data API fake on the run's PostgreSQL (warehouse). The Lambda configuration refuses the
 * embedded PostgreSQL, so nothing here can fall back to it. An async job submitted with
 * `output_format: "parquet"` gets its Parquet file from the worker, which the API then presigns.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { buildCore, type Core, issueAdminKey } from '../../src/runtime/core.js';
import { ensureDemoTenants } from '../../src/runtime/demo.js';
import { createApiHandler } from '../../src/runtime/lambda/api.js';
import { createAuthorizerHandler } from '../../src/runtime/lambda/authorizer.js';
import { loadLambdaConfig } from '../../src/runtime/lambda/environment.js';
import {
  createWorkerHandler,
  createWorkerJobs,
  type DynamoDBBatchResponse,
  type DynamoDBStreamEvent,
  type DynamoDBStreamRecord,
  runnableJob,
} from '../../src/runtime/lambda/worker.js';
import { createTables, stateTableNames } from '../../src/state/dynamodb/index.js';
import type { SweepReport } from '../../src/worker/sweep.js';
import type { RedshiftDataFake } from '../fakes/redshift-data-fake.js';
import { apiGatewayEvents } from '../helpers/api-gateway-events.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../helpers/dynamodb-fixture.js';
import { pgFacts } from '../helpers/pg-fixture.js';
import { FAKE_CLUSTER, startRedshiftDataFake } from '../helpers/redshift-data.js';
import { S3RVER_CREDENTIALS, s3Endpoint, testS3Client, uniqueBucket } from '../helpers/s3-fixture.js';
import { waitFor } from '../helpers/time.js';
import { recordingTelemetry } from './lambda-telemetry.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const API_ID = 'a1b2c3d4e5';
const STAGE = 'v1api';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:spectra/app-AbCdEf`;
/** Worker function timeout (15 min), as infra/lib/functions.ts sets it. */
const WORKER_TIMEOUT_MS = 900_000;

let home: string;
let fake: RedshiftDataFake;
let core: Core;
let keys: Record<string, string>;
let jobsStream: StreamTap;
let bulkStream: StreamTap;
let streams: DynamoDBStreamsClient;
let bucket: string;
const apiTelemetry = recordingTelemetry('spectra-api');
const authTelemetry = recordingTelemetry('spectra-authorizer');
const workerTelemetry = recordingTelemetry('spectra-worker');

/** Reads a table's stream from where the last read stopped, across its shards. */
class StreamTap {
  /** Last sequence number read per shard: each read asks for an iterator after it. */
  private readonly lastRead = new Map<string, string>();

  constructor(
    private readonly client: DynamoDBStreamsClient,
    readonly streamArn: string,
  ) {}

  /** Every record written since the previous call, in the shape Lambda delivers them. */
  async read(): Promise<DynamoDBStreamRecord[]> {
    const out: DynamoDBStreamRecord[] = [];
    const { StreamDescription } = await this.client.send(
      new DescribeStreamCommand({ StreamArn: this.streamArn }),
    );
    for (const shard of StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId!;
      const after = this.lastRead.get(shardId);
      let iterator = (
        await this.client.send(
          new GetShardIteratorCommand({
            StreamArn: this.streamArn,
            ShardId: shardId,
            ...(after
              ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
              : { ShardIteratorType: 'TRIM_HORIZON' }),
          }),
        )
      ).ShardIterator;
      while (iterator) {
        const page = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator }));
        const records = page.Records ?? [];
        if (records.length === 0) break;
        out.push(...records.map((r) => lambdaRecord(r, this.streamArn)));
        this.lastRead.set(shardId, records.at(-1)!.dynamodb!.SequenceNumber!);
        iterator = page.NextShardIterator;
      }
    }
    return out;
  }
}

/** A GetRecords record → the record of a Lambda DynamoDB Streams event (JSON, as Lambda sends it). */
function lambdaRecord(r: StreamRecord, streamArn: string): DynamoDBStreamRecord {
  const d = r.dynamodb!;
  return JSON.parse(
    JSON.stringify({
      eventID: r.eventID,
      eventName: r.eventName,
      eventVersion: r.eventVersion,
      eventSource: r.eventSource,
      awsRegion: r.awsRegion,
      eventSourceARN: streamArn,
      dynamodb: {
        ApproximateCreationDateTime: d.ApproximateCreationDateTime
          ? Math.floor(d.ApproximateCreationDateTime.getTime() / 1000)
          : undefined,
        Keys: d.Keys,
        NewImage: d.NewImage,
        OldImage: d.OldImage,
        SequenceNumber: d.SequenceNumber,
        SizeBytes: d.SizeBytes,
        StreamViewType: d.StreamViewType,
      },
      ...(r.userIdentity
        ? { userIdentity: { type: r.userIdentity.Type, principalId: r.userIdentity.PrincipalId } }
        : {}),
    }),
  );
}

/** A Lambda context with `budgetMs` of the function's time left at creation. */
function lambdaContext(budgetMs = WORKER_TIMEOUT_MS) {
  const end = Date.now() + budgetMs;
  return {
    functionName: 'spectra-worker',
    functionVersion: '$LATEST',
    awsRequestId: crypto.randomUUID(),
    memoryLimitInMB: '1024',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
  } as never;
}

beforeAll(async () => {
  const f = pgFacts();
  home = await mkdtemp(path.join(os.tmpdir(), 'spectra-serverless-'));
  fake = await startRedshiftDataFake();
  const dynamo = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix('serverless'));
  const admin = new DynamoDBClient(dynamo);
  await createTables(admin, tables);
  const streamOf = async (table: string) =>
    (await admin.send(new DescribeTableCommand({ TableName: table }))).Table!.LatestStreamArn!;
  const [jobsArn, bulkArn] = [await streamOf(tables.jobs), await streamOf(tables.bulkJobs)];
  admin.destroy();
  const s3 = testS3Client();
  bucket = await uniqueBucket(s3, 'serverless');
  s3.destroy();

  // What the SDK reads in a Lambda: endpoints of the stand-ins and credentials (s3rver insists on its own).
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_S3: s3Endpoint(),
    AWS_ENDPOINT_URL_REDSHIFT_DATA: fake.url,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: REGION,
  });
  // The variables infra/lib/functions.ts gives the functions (tables, bucket, warehouse, secret).
  const env = {
    SPECTRA_HOME: home,
    SPECTRA_LOG_LEVEL: 'silent',
    SPECTRA_WAREHOUSE: 'redshift-data',
    SPECTRA_STATE: 'dynamodb',
    SPECTRA_STORAGE: 's3',
    SPECTRA_AWS_REGION: REGION,
    SPECTRA_REDSHIFT_CLUSTER_ID: FAKE_CLUSTER,
    SPECTRA_REDSHIFT_DATABASE: f.warehouseDb,
    SPECTRA_S3_BUCKET_NAME: bucket,
    SPECTRA_DYNAMODB_TENANTS_TABLE_NAME: tables.tenants,
    SPECTRA_DYNAMODB_API_KEYS_TABLE_NAME: tables.apiKeys,
    SPECTRA_DYNAMODB_TABLE_NAME: tables.jobs,
    SPECTRA_DYNAMODB_BULK_TABLE_NAME: tables.bulkJobs,
    SPECTRA_DYNAMODB_IDEMPOTENCY_TABLE_NAME: tables.idempotency,
    SPECTRA_DYNAMODB_AUDIT_TABLE_NAME: tables.audit,
    SPECTRA_DYNAMODB_RATE_LIMITS_TABLE_NAME: tables.rateLimits,
    SPECTRA_DYNAMODB_SESSIONS_TABLE_NAME: tables.sessions,
    SPECTRA_SECRET_ARN: SECRET_ARN,
    SPECTRA_JOB_MAX_TIMEOUT_SECONDS: '840',
    // One RUNNING job at a time for initech: its second job must wait for the sweep.
    SPECTRA_TENANT_MAX_RUNNING_JOBS_OVERRIDES: 'initech=1',
    SPECTRA_JOB_LEASE_SECONDS: '2',
  };
  const config = await loadLambdaConfig({
    env,
    fetchSecret: async () => JSON.stringify({ SPECTRA_API_KEY_PEPPER: 'serverless-e2e-pepper-0123456789' }),
  });
  core = await buildCore(config, createLogger('silent'));
  expect(core.embedded).toBeNull();
  // Tenants as `spectra tenant create` would put them in DynamoDB (database users of the fake's PostgreSQL).
  const creds = await ensureDemoTenants(core.state, {
    home,
    pepper: core.pepper,
    tenants: f.tenants,
    adminKey: () => issueAdminKey(core.state, core.pepper),
  });
  keys = Object.fromEntries(creds.tenants.map((t) => [t.tenant_id, t.api_key]));

  streams = new DynamoDBStreamsClient({
    endpoint: dynamo.endpoint,
    region: REGION,
    credentials: dynamo.credentials,
  });
  jobsStream = new StreamTap(streams, jobsArn);
  bulkStream = new StreamTap(streams, bulkArn);
  await jobsStream.read(); // skip what set-up wrote
  await bulkStream.read();
});

afterAll(async () => {
  streams?.destroy();
  await core?.close();
  await fake?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

const authorizer = createAuthorizerHandler({
  authenticate: async () => core.authenticate,
  telemetry: authTelemetry.telemetry,
});
const api = createApiHandler({ core: async () => core, telemetry: apiTelemetry.telemetry });
const worker = createWorkerHandler({
  jobs: async () => createWorkerJobs(core),
  telemetry: workerTelemetry.telemetry,
});

const { authorizerEvent, proxyEvent, contextOf } = apiGatewayEvents({
  region: REGION,
  account: ACCOUNT,
  apiId: API_ID,
  stage: STAGE,
});

/** Authorizer, then API: what a client with `tenant`'s key gets for one request. */
async function call(tenant: string, method: string, pathname: string, body?: unknown) {
  const authorization = `Bearer ${keys[tenant]}`;
  const allow = await authorizer(authorizerEvent(method, pathname.split('?')[0]!, authorization));
  expect(allow.policyDocument.Statement[0]!.Effect).toBe('Allow');
  const res = await api(
    proxyEvent(method, pathname, {
      headers: { Authorization: authorization },
      authorizer: contextOf(allow),
      ...(body !== undefined ? { body } : {}),
    }),
  );
  return { status: res.statusCode, body: JSON.parse(res.body) };
}

/** The jobs table's new stream records, as one Lambda batch. */
async function streamBatch(): Promise<DynamoDBStreamEvent> {
  return { Records: await jobsStream.read() };
}

/** The stream records (of a batch) that make `jobId` runnable. */
const runnableRecords = (batch: DynamoDBStreamEvent, jobId: string) =>
  batch.Records.filter((r) => {
    const job = runnableJob(r);
    return !('skip' in job) && job.jobId === jobId;
  });

describe('the serverless shape, end to end on DynamoDB Local, s3rver and the Data API fake', () => {
  it('a synchronous query runs through the Data API as the tenant’s database user', async () => {
    const before = fake.statementsRun().length;
    const res = await call('acme', 'POST', '/v1/queries', {
      sql: 'SELECT current_user AS who, COUNT(DISTINCT tenant_id) AS tenants FROM sales',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data).toEqual([{ who: 'tenant_acme', tenants: 1 }]);
    const ran = fake.statementsRun().slice(before);
    expect(ran.map((s) => s.dbUser)).toContain('tenant_acme');
    // Sync jobs are recorded COMPLETED: their stream records start no worker.
    const batch = await streamBatch();
    expect(batch.Records.filter((r) => !('skip' in runnableJob(r)))).toEqual([]);
  });

  it('an async query travels QUEUED → stream record → worker → COMPLETED → results → a presigned S3 download', async () => {
    const submitted = await call('acme', 'POST', '/v1/queries', {
      sql: 'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 25) SELECT g AS n, CAST(g * 10 AS varchar) AS label FROM s ORDER BY g',
      async: true,
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const jobId = submitted.body.job_id as string;
    expect((await call('acme', 'GET', `/v1/jobs/${jobId}`)).body.status).toBe('QUEUED');

    const batch = await streamBatch();
    const triggers = runnableRecords(batch, jobId);
    expect(triggers).toHaveLength(1);
    expect(triggers[0]).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      dynamodb: { NewImage: { status: { S: 'QUEUED' }, tenant_id: { S: 'acme' } } },
    });
    expect(triggers[0]!.dynamodb!.SequenceNumber).toMatch(/^\d+$/);

    // The whole batch, as Lambda would deliver it (the worker itself skips what does not run a job).
    const out = (await worker(batch, lambdaContext())) as DynamoDBBatchResponse;
    expect(out).toEqual({ batchItemFailures: [] });
    expect(workerTelemetry.metrics).toContainEqual({ name: 'JobsCompleted', tenant: 'acme', value: 1 });

    const job = await call('acme', 'GET', `/v1/jobs/${jobId}`);
    expect(job.body).toMatchObject({ status: 'COMPLETED', row_count: 25 });
    const page = await call('acme', 'GET', `/v1/jobs/${jobId}/results?limit=5`);
    expect(page.status).toBe(200);
    expect(page.body.data).toEqual([1, 2, 3, 4, 5].map((n) => ({ n, label: String(n * 10) })));

    const download = await call('acme', 'GET', `/v1/jobs/${jobId}/results?format=csv`);
    expect(download.status, JSON.stringify(download.body)).toBe(200);
    const url = new URL(download.body.download_url);
    expect(url.origin).toBe(s3Endpoint());
    expect(url.pathname.startsWith(`/${bucket}/results/acme/${jobId}/`)).toBe(true);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const file = await fetch(url);
    expect(file.status).toBe(200);
    const lines = (await file.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('n,label');
    expect(lines.slice(1)).toEqual(Array.from({ length: 25 }, (_, i) => `${i + 1},${(i + 1) * 10}`));

    // The stream delivers at least once: the same record again finds the job finished and does nothing.
    const before = fake.statementsRun().length;
    const again = (await worker({ Records: triggers }, lambdaContext())) as DynamoDBBatchResponse;
    expect(again).toEqual({ batchItemFailures: [] });
    expect(fake.statementsRun().length).toBe(before);

    // Another tenant gets 404 for the job, its results and its download.
    for (const p of [`/v1/jobs/${jobId}`, `/v1/jobs/${jobId}/results`]) {
      const other = await call('globex', 'GET', p);
      expect(other.status, p).toBe(404);
      expect(other.body.error.code).toBe('NOT_FOUND');
    }
  });

  it('an async query with output_format parquet: the worker writes the Parquet file to the bucket at completion, the API presigns it', async () => {
    const submitted = await call('acme', 'POST', '/v1/queries', {
      sql: 'SELECT sale_id, region FROM sales ORDER BY sale_id LIMIT 4',
      async: true,
      output_format: 'parquet',
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const jobId = submitted.body.job_id as string;
    const batch = await streamBatch();
    expect(runnableRecords(batch, jobId)).toHaveLength(1);
    expect((await worker(batch, lambdaContext())) as DynamoDBBatchResponse).toEqual({
      batchItemFailures: [],
    });
    expect((await call('acme', 'GET', `/v1/jobs/${jobId}`)).body).toMatchObject({
      status: 'COMPLETED',
      row_count: 4,
    });
    // Written by the worker, before any download was asked for.
    expect(await core.results.stat(`acme/${jobId}/export.parquet`)).not.toBeNull();

    const download = await call('acme', 'GET', submitted.body.results_url as string);
    expect(download.status, JSON.stringify(download.body)).toBe(200);
    expect(download.body).toMatchObject({ format: 'parquet', compression: 'none', row_count: 4 });
    const url = new URL(download.body.download_url);
    expect(url.origin).toBe(s3Endpoint());
    expect(url.pathname).toBe(`/${bucket}/results/acme/${jobId}/export.parquet`);
    const file = await fetch(url);
    expect(file.status).toBe(200);
    const table = arrow.tableFromIPC(
      parquet.readParquet(new Uint8Array(await file.arrayBuffer())).intoIPCStream(),
    );
    expect(table.numRows).toBe(4);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['sale_id', 'region']);
  });

  it('a request with a bad token is denied by the authorizer (API Gateway answers 401), and never reaches the API', async () => {
    const before = apiTelemetry.metrics.length;
    for (const auth of [`Bearer ${keys.acme!.slice(0, -2)}xx`, 'Bearer not-a-key', undefined]) {
      await expect(authorizer(authorizerEvent('GET', '/v1/jobs', auth))).rejects.toThrow('Unauthorized');
    }
    expect(authTelemetry.metrics.filter((m) => m.name === 'AuthorizerDenied').length).toBeGreaterThanOrEqual(
      3,
    );
    expect(apiTelemetry.metrics.length).toBe(before);
  });

  it('a job left QUEUED by the tenant’s cap, and one whose invocation died, are run by the scheduled sweep', async () => {
    // initech may run one job at a time; a first job is taken by an invocation that then dies.
    const first = await call('initech', 'POST', '/v1/queries', { sql: 'SELECT 1 AS first', async: true });
    const second = await call('initech', 'POST', '/v1/queries', { sql: 'SELECT 2 AS second', async: true });
    const [a, b] = [first.body.job_id as string, second.body.job_id as string];
    const dead = await core.state.jobQueue.claim(
      'initech',
      a,
      { owner: 'lambda:dead-invocation', ms: 500 },
      1,
    );
    expect(dead?.status).toBe('RUNNING');

    // b's stream record arrives: the claim is lost to the cap, and b stays QUEUED (not a failure).
    const batch = await streamBatch();
    expect(runnableRecords(batch, b)).toHaveLength(1);
    expect(await worker(batch, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect((await call('initech', 'GET', `/v1/jobs/${b}`)).body.status).toBe('QUEUED');
    expect((await call('initech', 'GET', `/v1/jobs/${a}`)).body.status).toBe('RUNNING');

    // The EventBridge sweep after a's lease ran out: a back to the queue, then both run, one at a time.
    await new Promise((r) => setTimeout(r, 700));
    const report = (await worker({ sweep: ['leases', 'queue'] }, lambdaContext(60_000))) as SweepReport;
    expect(report.requeued).toBe(1);
    expect(report.ran.map((r) => [r.jobId, r.end]).sort()).toEqual(
      [
        [a, 'COMPLETED'],
        [b, 'COMPLETED'],
      ].sort(),
    );
    expect((await call('initech', 'GET', `/v1/jobs/${a}/results`)).body.data).toEqual([{ first: 1 }]);
    expect((await call('initech', 'GET', `/v1/jobs/${b}/results`)).body.data).toEqual([{ second: 2 }]);

    // The re-queue wrote a MODIFY RUNNING → QUEUED record (on AWS it starts an invocation too): a no-op now.
    const after = await streamBatch();
    const requeueRecord = runnableRecords(after, a);
    expect(requeueRecord.map((r) => [r.eventName, r.dynamodb?.OldImage?.status?.S])).toEqual([
      ['MODIFY', 'RUNNING'],
    ]);
    expect(await worker({ Records: requeueRecord }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect((await call('initech', 'GET', `/v1/jobs/${a}`)).body.status).toBe('COMPLETED');
  });

  it('a run the invocation cannot finish is stopped before the timeout and re-queued, never left RUNNING, and fails on its last attempt', async () => {
    const shortLived = createWorkerHandler({
      jobs: async () => createWorkerJobs(core, { stopMarginMs: 2000 }),
      telemetry: workerTelemetry.telemetry,
    });
    const submitted = await call('globex', 'POST', '/v1/queries', {
      sql: 'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 4000) SELECT COUNT(*) AS n FROM s a CROSS JOIN s b CROSS JOIN s c WHERE c.g <= 25',
      async: true,
    });
    const jobId = submitted.body.job_id as string;
    const batch = await streamBatch();
    expect(runnableRecords(batch, jobId)).toHaveLength(1);

    // 4.5 s left in the invocation: the run gets 2.5 s, then it lets go of the job before Lambda would kill it.
    // The statement needs far longer than that, so QUEUED (not COMPLETED) proves the deadline stopped it.
    expect(await shortLived(batch, lambdaContext(4500))).toEqual({ batchItemFailures: [] });
    const job = await call('globex', 'GET', `/v1/jobs/${jobId}`);
    expect(job.body.status).toBe('QUEUED');
    expect(workerTelemetry.metrics).toContainEqual({ name: 'JobsRequeued', tenant: 'globex', value: 1 });

    // Its RUNNING → QUEUED record is what starts the next invocation on AWS.
    const next = await streamBatch();
    expect(runnableRecords(next, jobId).map((r) => r.dynamodb?.OldImage?.status?.S)).toEqual(['RUNNING']);

    // Too little time left to start: nothing is claimed (the sweep or a later record runs it).
    expect(await shortLived({ Records: runnableRecords(next, jobId) }, lambdaContext(3000))).toEqual({
      batchItemFailures: [],
    });
    expect((await call('globex', 'GET', `/v1/jobs/${jobId}`)).body.status).toBe('QUEUED');

    // A job too long for any invocation does not loop: attempt 2 is re-queued, attempt 3 (the last) fails.
    let trigger = runnableRecords(next, jobId);
    for (const attempt of [2, 3]) {
      expect(await shortLived({ Records: trigger }, lambdaContext(4500))).toEqual({ batchItemFailures: [] });
      trigger = runnableRecords(await streamBatch(), jobId);
      expect(trigger, `attempt ${attempt}`).toHaveLength(attempt === 2 ? 1 : 0);
    }
    const failed = await call('globex', 'GET', `/v1/jobs/${jobId}`);
    expect(failed.body).toMatchObject({
      status: 'FAILED',
      error: { code: 'QUERY_TIMEOUT', details: { reason: 'worker_time_limit' } },
    });
    expect(workerTelemetry.metrics).toContainEqual({ name: 'JobsFailed', tenant: 'globex', value: 1 });
  });

  it('a bulk export is queued when created (UploadComplete) → bulk-jobs stream record → worker → JobComplete → presigned S3 download', async () => {
    expect(core.state.bulk).toBeDefined();
    const sql = 'SELECT region, COUNT(*) AS n FROM sales GROUP BY region ORDER BY region';
    const created = await call('acme', 'POST', '/v1/bulk/jobs', { operation: 'query', query: sql });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const jobId = created.body.job_id as string;
    expect(jobId.startsWith('bulk-')).toBe(true);
    // An export has nothing to upload: its INSERT is already runnable.
    const batch = { Records: await bulkStream.read() };
    const triggers = runnableRecords(batch, jobId);
    expect(
      triggers.map((r) => [r.eventName, r.dynamodb?.OldImage?.state?.S, r.dynamodb?.NewImage?.state?.S]),
    ).toEqual([['INSERT', undefined, 'UploadComplete']]);
    // The original's clients still PATCH UploadComplete: a no-op that answers the job.
    const patched = await call('acme', 'PATCH', `/v1/bulk/jobs/${jobId}`, { state: 'UploadComplete' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(await worker(batch, lambdaContext())).toEqual({ batchItemFailures: [] });

    const done = await call('acme', 'GET', `/v1/bulk/jobs/${jobId}`);
    expect(done.body, JSON.stringify(done.body)).toMatchObject({ state: 'JobComplete' });
    const expected = (await call('acme', 'POST', '/v1/queries', { sql })).body.data as {
      region: string;
      n: number;
    }[];
    expect(expected.length).toBeGreaterThan(0);
    expect(done.body.number_records_processed).toBe(expected.length);
    const results = await call('acme', 'GET', `/v1/bulk/jobs/${jobId}/results`);
    expect(results.status, JSON.stringify(results.body)).toBe(200);
    const url = new URL(results.body.download_url);
    expect(url.origin).toBe(s3Endpoint());
    expect(url.pathname.startsWith(`/${bucket}/bulk/acme/${jobId}/`)).toBe(true);
    const file = await fetch(url);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe(`region,n\n${expected.map((r) => `${r.region},${r.n}`).join('\n')}\n`);
    expect((await call('globex', 'GET', `/v1/bulk/jobs/${jobId}`)).status).toBe(404);
  });

  it('the retention sweep deletes result files past their TTL from the bucket and forgets them', async () => {
    const submitted = await call('globex', 'POST', '/v1/queries', { sql: 'SELECT 7 AS seven', async: true });
    const jobId = submitted.body.job_id as string;
    expect(await worker(await streamBatch(), lambdaContext())).toEqual({ batchItemFailures: [] });
    const job = (await core.state.jobs.get('globex', jobId))!;
    expect(job.status).toBe('COMPLETED');
    expect((await core.results.list(`globex/${jobId}/`)).length).toBe(1);
    // The result's TTL runs out.
    await core.state.jobs.transition('globex', jobId, ['COMPLETED'], {
      result: { ...job.result!, expiresAt: new Date(Date.now() - 1000).toISOString() },
    });

    const report = (await worker({ sweep: ['retention'] }, lambdaContext(60_000))) as SweepReport;
    expect(report.retention?.results).toBeGreaterThanOrEqual(1);
    expect(report.ran).toEqual([]);
    expect(await core.results.list(`globex/${jobId}/`)).toEqual([]);
    expect((await core.state.jobs.get('globex', jobId))?.result).toBeNull();
  });

  it('a suspended tenant’s valid key gets a Deny policy (API Gateway answers 403)', async () => {
    await core.tenants.setStatus('initech', 'suspended');
    try {
      const event = authorizerEvent('GET', '/v1/jobs', `Bearer ${keys.initech}`);
      // The authorizer's key cache holds a decision for at most 1 s (unit: api-key.test.ts, on a manual clock).
      const result = await waitFor(async () => {
        const r = await authorizer(event);
        return r.policyDocument.Statement[0]!.Effect === 'Deny' && r;
      });
      expect(result.policyDocument.Statement).toEqual([
        {
          Action: 'execute-api:Invoke',
          Effect: 'Deny',
          Resource: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${API_ID}/${STAGE}/*/*`,
        },
      ]);
      expect(result.context).toBeUndefined();
    } finally {
      await core.tenants.setStatus('initech', 'active');
    }
  });
});
