/**
 * The esbuild bundles of `npm run build:lambda`, built into a temp folder outside the project (so
 * nothing can resolve from the project's node_modules) and invoked in a fresh `node` process the
 * way Lambda would: the API bundle parses and plans SQL with the WASM parser copied beside it and
 * serves the Swagger UI assets; the authorizer bundle allows a real key and denies a bad one; the
 * worker bundle runs a queued job with the real runner (once, for a record delivered twice), writes
 * a Parquet bulk export with the WASM writer copied beside it, and skips a TTL deletion.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltBundle, buildLambdas, MAX_ZIP_BYTES } from '../../scripts/build-lambda.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { buildCore, type Core, issueAdminKey } from '../../src/runtime/core.js';
import { ensureDemoTenants } from '../../src/runtime/demo.js';
import { pgFacts } from '../helpers/pg-fixture.js';
import { pgUrl } from '../helpers/spectra.js';

const PEPPER = 'bundle-test-pepper-0123456789abcdef';
const MARK = '@@spectra-result@@';

let outDir: string;
let home: string;
let bundles: Record<string, BuiltBundle>;
let env: Record<string, string>;
let core: Core;
let acmeKey: string;

beforeAll(async () => {
  outDir = await mkdtemp(path.join(os.tmpdir(), 'spectra-bundles-'));
  home = await mkdtemp(path.join(os.tmpdir(), 'spectra-bundle-home-'));
  bundles = Object.fromEntries((await buildLambdas({ outDir })).map((b) => [b.name, b]));
  const f = pgFacts();
  env = {
    SPECTRA_HOME: home,
    SPECTRA_LOG_LEVEL: 'silent',
    SPECTRA_WAREHOUSE_URL: pgUrl(f.authenticator.user, f.authenticator.password, f.warehouseDb),
    SPECTRA_STATE_URL: pgUrl(f.stateUser.user, f.stateUser.password, f.controlDb),
    SPECTRA_API_KEY_PEPPER: PEPPER,
    SPECTRA_CORS_ORIGINS: '*',
  };
  core = await buildCore(loadConfig(env), createLogger('silent'));
  const creds = await ensureDemoTenants(core.state, {
    home,
    pepper: core.pepper,
    tenants: f.tenants,
    adminKey: () => issueAdminKey(core.state, core.pepper),
  });
  acmeKey = creds.tenants.find((t) => t.tenant_id === 'acme')!.api_key;
});

afterAll(async () => {
  await core?.close();
  for (const dir of [outDir, home]) if (dir) await rm(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: handler results are inspected as loose JSON
type Outcome = { ok?: Record<string, any>; error?: string; ms?: number; importMs?: number };

/** Imports a bundle in a fresh node process and invokes its handler with each event in turn. */
function invokeBundle(bundle: BuiltBundle, events: unknown[]): Promise<Outcome[]> {
  const script = `
    const t0 = performance.now();
    const { handler } = await import(process.argv[1]);
    const importMs = performance.now() - t0;
    const context = { functionName: 'spectra-test', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30000 };
    const out = [];
    for (const event of JSON.parse(process.argv[2])) {
      const t = performance.now();
      try { out.push({ ok: await handler(event, context) }); } catch (e) { out.push({ error: e.message }); }
      out.at(-1).ms = Math.round(performance.now() - t);
    }
    out.forEach((o) => { o.importMs = Math.round(importMs); });
    process.stdout.write('${MARK}' + JSON.stringify(out));
    process.exit(0);`;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', script, pathToFileURL(bundle.file).href, JSON.stringify(events)],
      {
        cwd: path.dirname(bundle.file),
        env: {
          PATH: process.env.PATH,
          ...env,
          POWERTOOLS_LOG_LEVEL: 'SILENT',
          POWERTOOLS_METRICS_DISABLED: 'true',
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const at = stdout.indexOf(MARK);
      if (code !== 0 || at < 0) reject(new Error(`bundle exited ${code}\n${stderr}\n${stdout}`));
      else resolve(JSON.parse(stdout.slice(at + MARK.length)));
    });
  });
}

function proxyEvent(method: string, pathname: string, opts: { body?: unknown; authorizer?: object } = {}) {
  const headers: Record<string, string> = {
    Host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    Authorization: `Bearer ${acmeKey}`,
    ...(opts.body ? { 'Content-Type': 'application/json' } : {}),
  };
  return {
    resource: '/{proxy+}',
    path: pathname,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    body: opts.body ? JSON.stringify(opts.body) : null,
    isBase64Encoded: false,
    requestContext: {
      requestId: crypto.randomUUID(),
      stage: 'v1api',
      httpMethod: method,
      path: `/v1api${pathname}`,
      identity: { sourceIp: '203.0.113.9' },
      authorizer: opts.authorizer ?? null,
    },
  };
}

describe('Lambda bundles', () => {
  it('each bundle is one ESM file; the AWS CDK is not in any of them', () => {
    for (const b of Object.values(bundles)) {
      expect(path.basename(b.file)).toBe('index.mjs');
      expect(b.topInputs.map((i) => i.path)).not.toContain('aws-cdk-lib');
      expect(b.packageBytes).toBeLessThan(10 * 1024 * 1024);
      expect(b.zipBytes).toBeLessThanOrEqual(MAX_ZIP_BYTES);
    }
  });

  it('the authorizer ships no SQL planner, WASM parser or S3 client, and stays under 1.2 MB', () => {
    const authorizer = bundles.authorizer!;
    for (const forbidden of ['pgsql-deparser', 'libpg-query', '@aws-sdk/client-s3', 'src/sql/']) {
      expect(authorizer.inputs.filter((i) => i.includes(forbidden))).toEqual([]);
    }
    expect(authorizer.files.filter((f) => f.endsWith('.wasm'))).toEqual([]);
    expect(authorizer.bundleBytes).toBeLessThanOrEqual(1.2 * 1000 * 1000);
    // The functions that plan SQL carry the parser's WASM beside them.
    expect(bundles.api!.files).toContain('libpg-query.wasm');
    expect(bundles.worker!.files).toContain('libpg-query.wasm');
  });

  it('the API bundle plans and runs SQL with the bundled WASM parser, as the authorized tenant', async () => {
    const [auth] = await invokeBundle(bundles.authorizer!, [
      {
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1api/POST/v1/queries',
        headers: { Authorization: `Bearer ${acmeKey}` },
      },
    ]);
    expect(auth!.ok?.context).toMatchObject({ tenant_id: 'acme', db_user: 'tenant_acme' });

    const [query, blocked, health, css] = await invokeBundle(bundles.api!, [
      proxyEvent('POST', '/v1/queries', {
        body: { sql: 'SELECT region, COUNT(*) AS n FROM sales GROUP BY region ORDER BY region LIMIT 2' },
        authorizer: auth!.ok!.context,
      }),
      proxyEvent('POST', '/v1/queries', {
        body: { sql: "SELECT set_config('role', 'postgres', false)" },
        authorizer: auth!.ok!.context,
      }),
      proxyEvent('GET', '/health'),
      proxyEvent('GET', '/docs/assets/swagger-ui.css'),
    ]);
    expect(query!.ok?.statusCode, JSON.stringify(query)).toBe(200);
    // Cold start on this machine: module import, then the first request (core built: WASM parser, pools).
    console.info(
      `api bundle: import ${query!.importMs} ms, first request ${query!.ms} ms, next ${blocked!.ms} ms; authorizer first request ${auth!.ms} ms`,
    );
    const body = JSON.parse(query!.ok!.body);
    expect(body.metadata.columns).toEqual(['region', 'n']);
    expect(body.data).toHaveLength(2);
    expect(blocked!.ok?.statusCode).toBe(400);
    expect(JSON.parse(blocked!.ok!.body).error.code).toBe('SQL_BLOCKED');
    expect(JSON.parse(health!.ok!.body)).toMatchObject({
      status: 'healthy',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(css!.ok?.statusCode).toBe(200);
    expect(css!.ok?.headers?.['content-type'] ?? css!.ok?.multiValueHeaders?.['content-type']?.[0]).toMatch(
      /text\/css/,
    );
  });

  it('the authorizer bundle denies a bad key', async () => {
    const [bad] = await invokeBundle(bundles.authorizer!, [
      {
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1api/GET/v1/jobs',
        headers: { Authorization: 'Bearer spk_acme_0000000000000000_wrong' },
      },
    ]);
    expect(bad).toMatchObject({ error: 'Unauthorized' });
    expect(bad!.ok).toBeUndefined();
  });

  it('the worker bundle claims a QUEUED job named by a stream record and runs it to COMPLETED', async () => {
    const [auth] = await invokeBundle(bundles.authorizer!, [
      {
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1api/POST/v1/queries',
        headers: { Authorization: `Bearer ${acmeKey}` },
      },
    ]);
    const [submitted] = await invokeBundle(bundles.api!, [
      proxyEvent('POST', '/v1/queries', {
        body: { sql: 'SELECT COUNT(*) AS n FROM sales', async: true },
        authorizer: auth!.ok!.context,
      }),
    ]);
    expect(submitted!.ok?.statusCode, JSON.stringify(submitted)).toBe(202);
    const jobId = JSON.parse(submitted!.ok!.body).job_id as string;
    const image = { job_id: { S: jobId }, tenant_id: { S: 'acme' }, status: { S: 'QUEUED' } };
    const record = { eventID: '2', eventName: 'INSERT', dynamodb: { SequenceNumber: '2', NewImage: image } };
    const [first, again] = await invokeBundle(bundles.worker!, [
      { Records: [record] },
      { Records: [record] },
    ]);
    expect(first!.ok).toEqual({ batchItemFailures: [] });
    expect(again!.ok).toEqual({ batchItemFailures: [] });
    const job = await core.state.jobs.get('acme', jobId);
    expect(job).toMatchObject({ status: 'COMPLETED', attempts: 1, rowCount: 1 });
    console.info(`worker bundle: import ${first!.importMs} ms, first job ${first!.ms} ms`);
  });

  it('the worker bundle writes a Parquet bulk export with the bundled writer', async () => {
    const [auth] = await invokeBundle(bundles.authorizer!, [
      {
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1api/POST/v1/bulk/jobs',
        headers: { Authorization: `Bearer ${acmeKey}` },
      },
    ]);
    const [created] = await invokeBundle(bundles.api!, [
      proxyEvent('POST', '/v1/bulk/jobs', {
        body: {
          operation: 'query',
          query: 'SELECT region, amount FROM sales ORDER BY sale_id LIMIT 3',
          content_type: 'PARQUET',
        },
        authorizer: auth!.ok!.context,
      }),
    ]);
    expect(created!.ok?.statusCode, JSON.stringify(created)).toBe(201);
    const jobId = JSON.parse(created!.ok!.body).job_id as string;
    const image = { job_id: { S: jobId }, tenant_id: { S: 'acme' }, state: { S: 'UploadComplete' } };
    const record = { eventID: '3', eventName: 'INSERT', dynamodb: { SequenceNumber: '3', NewImage: image } };
    const [run] = await invokeBundle(bundles.worker!, [{ Records: [record] }]);
    expect(run!.ok).toEqual({ batchItemFailures: [] });
    const job = await core.state.bulk!.jobs.get('acme', jobId);
    expect(job?.error ?? null, JSON.stringify(job)).toBeNull();
    expect(job).toMatchObject({ state: 'JobComplete', result: { format: 'PARQUET', rowCount: 3 } });
    const chunks: Uint8Array[] = [];
    for await (const chunk of await core.results.read(job!.result!.key!)) chunks.push(chunk);
    const table = arrow.tableFromIPC(parquet.readParquet(Buffer.concat(chunks)).intoIPCStream());
    expect(table.numRows).toBe(3);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['region', 'amount']);
    // The writer's WASM ships with the worker only: the API refuses Parquet downloads instead.
    expect(bundles.worker!.files).toContain('parquet_wasm_bg.wasm');
    expect(bundles.api!.files.filter((f) => f.includes('parquet'))).toEqual([]);
  });

  it('an async job with output_format parquet: the worker bundle writes the file, the API bundle (no writer) serves it', async () => {
    const [auth] = await invokeBundle(bundles.authorizer!, [
      {
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1api/POST/v1/queries',
        headers: { Authorization: `Bearer ${acmeKey}` },
      },
    ]);
    const context = auth!.ok!.context;
    const [submitted] = await invokeBundle(bundles.api!, [
      proxyEvent('POST', '/v1/queries', {
        body: {
          sql: 'SELECT sale_id, region FROM sales ORDER BY sale_id LIMIT 5',
          async: true,
          output_format: 'parquet',
        },
        authorizer: context,
      }),
    ]);
    expect(submitted!.ok?.statusCode, JSON.stringify(submitted)).toBe(202);
    const { job_id: jobId, results_url: resultsUrl } = JSON.parse(submitted!.ok!.body);
    expect(resultsUrl).toBe(`/v1/jobs/${jobId}/results?format=parquet`);
    const image = { job_id: { S: jobId }, tenant_id: { S: 'acme' }, status: { S: 'QUEUED' } };
    const record = { eventID: '4', eventName: 'INSERT', dynamodb: { SequenceNumber: '4', NewImage: image } };
    const [run] = await invokeBundle(bundles.worker!, [{ Records: [record] }]);
    expect(run!.ok).toEqual({ batchItemFailures: [] });
    expect(await core.state.jobs.get('acme', jobId)).toMatchObject({ status: 'COMPLETED', rowCount: 5 });

    const [download] = await invokeBundle(bundles.api!, [
      {
        ...proxyEvent('GET', `/v1/jobs/${jobId}/results`, { authorizer: context }),
        queryStringParameters: { format: 'parquet' },
        multiValueQueryStringParameters: { format: ['parquet'] },
      },
    ]);
    expect(download!.ok?.statusCode, JSON.stringify(download)).toBe(200);
    expect(JSON.parse(download!.ok!.body)).toMatchObject({
      format: 'parquet',
      compression: 'none',
      row_count: 5,
    });
    const chunks: Uint8Array[] = [];
    for await (const chunk of await core.results.read(`acme/${jobId}/export.parquet`)) chunks.push(chunk);
    const table = arrow.tableFromIPC(parquet.readParquet(Buffer.concat(chunks)).intoIPCStream());
    expect(table.numRows).toBe(5);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['sale_id', 'region']);
  });

  it('the worker bundle skips a TTL deletion', async () => {
    const [out] = await invokeBundle(bundles.worker!, [
      {
        Records: [
          {
            eventID: '1',
            eventName: 'REMOVE',
            userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
            dynamodb: { SequenceNumber: '1', OldImage: { job_id: { S: 'job-1' }, status: { S: 'QUEUED' } } },
          },
        ],
      },
    ]);
    expect(out!.ok).toEqual({ batchItemFailures: [] });
  });
});
