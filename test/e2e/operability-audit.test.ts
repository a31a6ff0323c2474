/**
 * Issue 9 acceptance, audit + logs + tracing + metrics, over one run of data requests:
 * - an audit entry exists for every data request, with tenant, principal, route, SQL fingerprint
 *   and deparsed SQL, parameter names, outcome, rows, bytes and duration — and no credential or
 *   bind-parameter value, neither in the stored rows nor in the captured logs (debug level);
 * - log lines carry the request id, tenant and job id;
 * - a W3C `traceparent` is continued, echoed and exported over OTLP with the phases as spans;
 * - `/metrics` (admin only, and on the unauthenticated metrics port) shows every family non-zero.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { adminClient, pgFacts } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';

const JWT_SECRET = 'operability-test-secret-0123456789abcdef';
const PARAM_VALUE = 'EMEA-secret-param-value-7f3a';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const BIN = path.resolve(import.meta.dirname, '../../bin/spectra.js');

let spectra: TestSpectra;
let jwt: string;
const logLines: string[] = [];
const otlpBodies: { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] }[] = [];
let collector: http.Server;
const startedAt = new Date(Date.now() - 1000).toISOString();

/** Requests of the run: request id → what the audit entry must say. */
const expected = new Map<string, { tenant: string; route: string; status: number; method: string }>();
const secrets: string[] = [];

async function track(res: Response, tenant: string, route: string, method = 'POST') {
  const id = res.headers.get('x-request-id')!;
  expected.set(id, { tenant, route, status: res.status, method });
  return res;
}

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => {
      raw += d;
    });
    req.on('end', () => {
      otlpBodies.push(JSON.parse(raw));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  spectra = await startSpectra(
    {
      SPECTRA_LOG_LEVEL: 'debug',
      SPECTRA_AUDIT_FLUSH_MS: '50',
      SPECTRA_JWT_SECRET: JWT_SECRET,
      SPECTRA_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
      SPECTRA_METRICS_PORT: '0',
      SPECTRA_METRICS_TENANTS: 'acme',
      SPECTRA_RATE_LIMIT_TENANTS: '{"initech": 2}',
      SPECTRA_MAX_CONCURRENT_QUERIES: '1',
      SPECTRA_QUERY_QUEUE_SIZE: '0',
    },
    { log: createLogger('debug', { write: (line: string) => void logLines.push(line) }) },
  );
  const now = Math.floor(Date.now() / 1000);
  jwt = await new SignJWT({ tenant_id: 'globex', permissions: ['query:execute'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('bi-user-7')
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(new TextEncoder().encode(JWT_SECRET));
  secrets.push(...Object.values(spectra.keys), spectra.adminKey, jwt, JWT_SECRET, PARAM_VALUE);
});
afterAll(async () => {
  await spectra?.close();
  collector?.close();
});

describe('one run of data requests', () => {
  let jobId: string;

  it('serves the requests (queries, streams, JWT, guard rejection, failure, job reads, limits)', async () => {
    const q = await track(
      await spectra.query('acme', {
        sql: 'SELECT count(*) AS n FROM sales WHERE region = :region',
        params: { region: PARAM_VALUE },
      }),
      'acme',
      '/v1/queries',
    );
    expect(q.status).toBe(200);
    jobId = (await json(q)).job_id;

    const streamed = await track(
      await spectra.query('acme', { sql: 'SELECT sale_id FROM sales LIMIT 50' }, { accept: 'text/csv' }),
      'acme',
      '/v1/queries',
    );
    expect(streamed.status).toBe(200);
    await streamed.text();

    const viaJwt = await track(
      await spectra.request('/v1/queries', {
        key: jwt,
        body: { sql: 'SELECT 1 AS one' },
        headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
      }),
      'globex',
      '/v1/queries',
    );
    expect(viaJwt.status).toBe(200);
    const echoed = viaJwt.headers.get('traceparent')!;
    expect(echoed).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(echoed).not.toContain('00f067aa0ba902b7');

    const blocked = await track(
      await spectra.query('acme', { sql: 'SELECT pg_sleep(1)' }),
      'acme',
      '/v1/queries',
    );
    expect(blocked.status).toBe(400);
    const failed = await track(
      await spectra.query('acme', { sql: 'SELECT 1/0 AS x' }),
      'acme',
      '/v1/queries',
    );
    expect(failed.status).toBe(422);

    const job = await track(
      await spectra.request(`/v1/jobs/${jobId}`, { tenant: 'acme' }),
      'acme',
      '/v1/jobs/:id',
      'GET',
    );
    expect(job.status).toBe(200);
    const list = await track(
      await spectra.request('/v1/jobs?limit=5', { tenant: 'acme' }),
      'acme',
      '/v1/jobs',
      'GET',
    );
    expect(list.status).toBe(200);

    // Rate limited (initech: 2 per minute): the third is refused before it touches data.
    const limited: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await spectra.query('initech', { sql: 'SELECT 1 AS one' });
      if (r.status === 200) await track(r, 'initech', '/v1/queries');
      limited.push(r.status);
    }
    expect(limited).toEqual([200, 200, 429]);

    // Over its concurrency share (1, no queue): refused at once.
    const slow = spectra.query('acme', {
      sql: 'SELECT count(*) AS n FROM sales a CROSS JOIN sales b',
      // Holds its slot long enough that a slow machine still sends the next request meanwhile.
      timeout_seconds: 10,
    });
    await waitFor(() => spectra.core.observability.admission.stats.running >= 1);
    const refused = await track(
      await spectra.query('acme', { sql: 'SELECT 1 AS one' }),
      'acme',
      '/v1/queries',
    );
    expect(refused.status).toBe(429);
    await track(await slow, 'acme', '/v1/queries');
  });

  it('has an audit entry for every data request, readable through GET /v1/admin/audit', async () => {
    let entries: Record<string, unknown>[] = [];
    await waitFor(async () => {
      const res = await spectra.request(`/v1/admin/audit?since=${encodeURIComponent(startedAt)}&limit=1000`, {
        key: spectra.adminKey,
      });
      expect(res.status).toBe(200);
      entries = (await json(res)).entries;
      return [...expected.keys()].every((id) => entries.some((e) => e.request_id === id));
    }).catch(() => {}); // the loop below names the missing entry
    const byRequest = new Map(entries.map((e) => [e.request_id as string, e]));
    for (const [id, want] of expected) {
      const e = byRequest.get(id);
      expect(e, `audit entry for ${want.method} ${want.route} (${want.status})`).toBeDefined();
      expect(e).toMatchObject({
        tenant_id: want.tenant,
        route: want.route,
        status: want.status,
        method: want.method,
      });
      expect(e!.duration_ms as number).toBeGreaterThan(0);
    }
    const first = byRequest.get([...expected.keys()][0]!)!;
    expect(first).toMatchObject({
      auth_method: 'api_key',
      outcome: 'success',
      error_code: null,
      job_id: jobId,
      param_names: ['region'],
      row_count: 1,
    });
    expect(first.sql_fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(first.sql).toContain('$1');
    expect(first.bytes as number).toBeGreaterThan(0);

    const jwtEntry = entries.find((e) => e.tenant_id === 'globex' && e.auth_method === 'jwt');
    expect(jwtEntry).toMatchObject({ principal: 'bi-user-7', trace_id: TRACE_ID });

    const blocked = entries.find((e) => e.error_code === 'SQL_BLOCKED');
    expect(blocked).toMatchObject({
      outcome: 'error',
      status: 400,
      sql: 'SELECT pg_sleep(1)',
      sql_fingerprint: null,
    });
    expect(entries.find((e) => e.error_code === 'QUERY_FAILED')).toMatchObject({
      status: 422,
      outcome: 'error',
    });
    expect(entries.find((e) => e.route === '/v1/jobs/:id')).toMatchObject({ job_id: jobId });

    const page = await json(
      await spectra.request(
        `/v1/admin/audit?tenant_id=globex&since=${encodeURIComponent(startedAt)}&limit=1`,
        {
          key: spectra.adminKey,
        },
      ),
    );
    expect(page.entries.every((e: { tenant_id: string }) => e.tenant_id === 'globex')).toBe(true);
  });

  it('refuses the audit trail to a tenant key', async () => {
    const res = await spectra.request('/v1/admin/audit', { tenant: 'acme' });
    expect(res.status).toBe(403);
  });

  it('stores no credential and no parameter value in any audit row', async () => {
    const client = await adminClient(pgFacts().controlDb);
    try {
      const { rows } = await client.query(
        'SELECT row_to_json(a)::text AS row FROM audit_entries a WHERE at >= $1',
        [startedAt],
      );
      expect(rows.length).toBeGreaterThanOrEqual(expected.size);
      const text = rows.map((r) => r.row as string).join('\n');
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/Bearer/i);
    } finally {
      await client.end();
    }
  });

  it('lists entries through `spectra audit`', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      BIN,
      'audit',
      '--url',
      spectra.url,
      '--admin-key',
      spectra.adminKey,
      '--tenant',
      'globex',
      '--since',
      '10m',
    ]);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.every((l) => l.tenant_id === 'globex')).toBe(true);
  });

  it('logs JSON lines with request id, tenant and job id, and no secret', async () => {
    const parsed = logLines.map((l) => JSON.parse(l));
    const done = parsed.filter((l) => l.msg === 'request completed' && l.route === '/v1/queries');
    expect(done.length).toBeGreaterThan(0);
    const withJob = done.find((l) => l.job_id === jobId);
    expect(withJob).toMatchObject({ tenant_id: 'acme', status: 200 });
    expect(withJob.request_id).toBe([...expected.keys()][0]);
    expect(parsed.some((l) => l.trace_id === TRACE_ID && l.tenant_id === 'globex')).toBe(true);
    const text = logLines.join('');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/Bearer/i);
  });

  it('exposes every metric family, non-zero, to admins only', async () => {
    expect((await spectra.request('/metrics')).status).toBe(401);
    expect((await spectra.request('/metrics', { tenant: 'acme' })).status).toBe(403);
    const res = await spectra.request('/metrics', { key: spectra.adminKey });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    const value = (pattern: string) => {
      const re = new RegExp(`^${pattern} (\\S+)$`, 'm');
      const m = re.exec(text);
      return m ? Number(m[1]) : Number.NaN;
    };
    const nonZero = [
      'spectra_http_requests_total\\{method="POST",route="/v1/queries",status="200"\\}',
      'spectra_http_request_duration_seconds_count\\{method="POST",route="/v1/queries",status_class="2xx"\\}',
      'spectra_tenant_requests_total\\{tenant="acme",class="queries",status_class="2xx"\\}',
      'spectra_tenant_requests_total\\{tenant="_other",class="queries",status_class="2xx"\\}',
      'spectra_sql_guard_rejections_total\\{code="SQL_BLOCKED"\\}',
      'spectra_jobs_finished_total\\{kind="query",mode="sync",status="COMPLETED"\\}',
      'spectra_jobs_finished_total\\{kind="query",mode="sync",status="FAILED"\\}',
      'spectra_query_execution_seconds_count\\{status="COMPLETED"\\}',
      'spectra_warehouse_pool_connections\\{state="open"\\}',
      'spectra_warehouse_pool_max',
      'spectra_warehouse_pool_wait_seconds_count',
      'spectra_rate_limit_rejections_total\\{class="queries"\\}',
      'spectra_overload_rejections_total\\{scope="tenant"\\}',
      'spectra_result_bytes_total\\{sink="http"\\}',
      'spectra_result_response_bytes_count',
      'spectra_audit_entries_total\\{outcome="written"\\}',
      'spectra_build_info\\{version="[^"]+"\\}',
      'spectra_result_memory_bytes\\{state="capacity"\\}',
      'process_resident_memory_bytes',
    ];
    for (const p of nonZero) expect(value(p), p).toBeGreaterThan(0);
    // Families fed by the async worker and the queue: present (zero without async jobs).
    for (const family of [
      'spectra_jobs',
      'spectra_job_queue_depth',
      'spectra_worker_lease_renewals_total',
      'spectra_worker_lease_recoveries_total',
      'spectra_query_slots_in_use',
      'spectra_result_memory_waiting',
      'spectra_audit_buffer_entries',
    ]) {
      expect(text).toContain(`# TYPE ${family} `);
    }
    expect(value('spectra_jobs\\{kind="query",status="QUEUED"\\}')).toBeGreaterThanOrEqual(0);
    // The tenant label is bounded: only configured tenants appear by name.
    expect(text).not.toContain('tenant="globex"');
    if (process.env.SHOW_OPERABILITY) process.stderr.write(`${text}\n${logLines.slice(0, 40).join('')}\n`);

    const url = metricsUrl();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const open = await fetch(url!);
    expect(open.status).toBe(200);
    expect(await open.text()).toContain('spectra_http_requests_total');
  });

  it('exports the request’s spans over OTLP, continuing the caller’s trace', async () => {
    await spectra.core.observability.tracer.shutdown();
    const spans = otlpBodies.flatMap((b) =>
      b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    );
    const ours = spans.filter((s) => s.traceId === TRACE_ID);
    const server = ours.find((s) => s.kind === 2);
    expect(server).toBeDefined();
    expect(server!.parentSpanId).toBe('00f067aa0ba902b7');
    expect(server!.name).toBe('POST /v1/queries');
    const children = ours.filter((s) => s.parentSpanId === server!.spanId).map((s) => s.name);
    expect(children).toEqual(expect.arrayContaining(['auth', 'plan', 'db', 'encode', 'deliver']));
  });
});

/** The unauthenticated listener started by SPECTRA_METRICS_PORT=0 (the server logs its URL). */
function metricsUrl(): string | null {
  const line = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'metrics listener started');
  return line?.url ?? null;
}
