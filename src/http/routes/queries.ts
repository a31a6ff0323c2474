/**
 * `POST /v1/queries`: HTTP ⇄ QueryService. Content negotiation: JSON envelope by default;
 * `Accept: application/x-ndjson` or `text/csv` stream rows with backpressure, metadata in headers.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { invalidRequest } from '../../domain/errors.js';
import { createEncoder, type StreamFormat } from '../../formats/index.js';
import type { JobService } from '../../services/job-service.js';
import type { ParamValue, QueryRequest, QueryService } from '../../services/query-service.js';
import type { ColumnInfo, Row } from '../../warehouse/port.js';
import type { AppEnv } from '../env.js';
import { IdempotencyHeaders } from '../middleware/idempotency.js';
import { requirePermission } from '../middleware/require-permission.js';
import { errorResponses, QueryRequestSchema, QueryResponseSchema } from '../schemas.js';

const TRUNCATION_MESSAGE =
  'The result was truncated at the row limit. Use the Bulk API (POST /v1/bulk/jobs, operation "query") to export all rows.';

const JobSubmittedSchema = z
  .object({ job_id: z.string(), status: z.literal('QUEUED') })
  .openapi('JobSubmitted');

const runQuery = createRoute({
  method: 'post',
  path: '/v1/queries',
  tags: ['Queries'],
  summary: 'Run a SQL query as the caller’s tenant',
  description:
    'Runs one SELECT statement as the tenant’s database user; row-level security decides which rows are visible. ' +
    'Returns at most `limit` rows; `metadata.truncated` tells when more existed. With `Accept: application/x-ndjson` ' +
    'or `text/csv` rows stream instead (metadata in `X-Spectra-*` headers; row count and truncation in the job record).',
  security: [{ bearer: [] }],
  middleware: [requirePermission('query:execute')] as const,
  request: {
    headers: IdempotencyHeaders,
    body: { required: true, content: { 'application/json': { schema: QueryRequestSchema } } },
  },
  responses: {
    202: {
      description: '`"async": true`: the job is QUEUED; poll `Location`.',
      headers: { Location: { description: '/v1/jobs/{job_id}', schema: { type: 'string' } } },
      content: { 'application/json': { schema: JobSubmittedSchema } },
    },
    200: {
      description: 'Rows (JSON envelope, or a stream for NDJSON/CSV)',
      content: {
        'application/json': { schema: QueryResponseSchema },
        'application/x-ndjson': { schema: { type: 'string' } },
        'text/csv': { schema: { type: 'string' } },
      },
    },
    ...errorResponses(400, 401, 403, 409, 413, 422, 429, 503, 504),
  },
});

type QueryBody = z.infer<typeof QueryRequestSchema>;

/** Merges the request's several spellings (top-level, `parameters` object or array) into one QueryRequest. */
export function toQueryRequest(body: QueryBody): QueryRequest {
  const params: Record<string, ParamValue> = { ...(body.params ?? {}) };
  let limit = body.limit;
  let timeoutSeconds = body.timeout_seconds;
  if (Array.isArray(body.parameters)) {
    for (const p of body.parameters) {
      if (p.name in params)
        throw invalidRequest(`parameter "${p.name}" is given twice`, { field: 'parameters', param: p.name });
      params[p.name] = p.value;
    }
  } else if (body.parameters) {
    const o = body.parameters;
    if (o.limit !== undefined && limit !== undefined && o.limit !== limit) {
      throw invalidRequest('limit and parameters.limit disagree', { field: 'parameters.limit' });
    }
    if (
      o.timeout_seconds !== undefined &&
      timeoutSeconds !== undefined &&
      o.timeout_seconds !== timeoutSeconds
    ) {
      throw invalidRequest('timeout_seconds and parameters.timeout_seconds disagree', {
        field: 'parameters.timeout_seconds',
      });
    }
    limit ??= o.limit;
    timeoutSeconds ??= o.timeout_seconds;
  }
  return { sql: body.sql, params, limit, timeoutSeconds };
}

function negotiate(accept: string | undefined): 'json' | StreamFormat {
  if (!accept) return 'json';
  const a = accept.toLowerCase();
  if (a.includes('application/x-ndjson') || a.includes('application/jsonl')) return 'ndjson';
  if (a.includes('text/csv')) return 'csv';
  return 'json';
}

function metadataHeaders(columns: ColumnInfo[], jobId: string, limit: number): Record<string, string> {
  return {
    'X-Spectra-Job-Id': jobId,
    'X-Spectra-Columns': JSON.stringify(columns.map((c) => c.name)),
    'X-Spectra-Column-Types': JSON.stringify(columns.map((c) => c.type)),
    'X-Spectra-Row-Limit': String(limit),
  };
}

export function registerQueryRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: { queries: QueryService; jobs?: JobService | undefined },
): void {
  app.openapi(runQuery, async (c) => {
    const body = c.req.valid('json');
    const req = toQueryRequest(body);
    if (body.async) {
      if (!deps.jobs)
        throw invalidRequest('asynchronous queries are not available on this server', { field: 'async' });
      const job = await deps.jobs.submit(c.get('principal'), req);
      return c.json({ job_id: job.jobId, status: 'QUEUED' as const }, 202, {
        Location: `/v1/jobs/${job.jobId}`,
      });
    }
    const format = negotiate(c.req.header('accept'));
    if (format === 'json') return runJson(c, deps.queries, req);
    return runStreaming(c, deps.queries, req, format);
  });
}

async function runJson(c: Context<AppEnv>, queries: QueryService, req: QueryRequest) {
  const timings = c.get('timings');
  const collected: Row[] = [];
  const outcome = await queries.runSync(
    c.get('principal'),
    req,
    {
      begin: () => {},
      rows: (batch) => {
        for (const r of batch) collected.push(r);
      },
    },
    { signal: c.req.raw.signal, timing: (phase, ms) => timings.add(phase, ms) },
  );
  const t0 = performance.now();
  const encoder = createEncoder('json-array');
  const data = encoder.begin(outcome.columns) + encoder.encode(collected) + encoder.end();
  const metadata = JSON.stringify({
    columns: outcome.columns.map((col) => col.name),
    column_types: outcome.columns.map((col) => col.type),
    row_count: outcome.rowCount,
    truncated: outcome.truncated,
    execution_time_ms: outcome.executionTimeMs,
    query_id: outcome.queryId,
    message: outcome.truncated ? TRUNCATION_MESSAGE : null,
    ...(outcome.warnings.length > 0 ? { warnings: outcome.warnings } : {}),
  });
  const text = `{"job_id":${JSON.stringify(outcome.job.jobId)},"status":"COMPLETED","data":${data},"metadata":${metadata}}`;
  timings.add('encode', performance.now() - t0);
  return c.body(text, 200, { 'Content-Type': 'application/json; charset=utf-8' });
}

async function runStreaming(
  c: Context<AppEnv>,
  queries: QueryService,
  req: QueryRequest,
  format: StreamFormat,
) {
  const encoder = createEncoder(format);
  const timings = c.get('timings');
  const utf8 = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(undefined, { highWaterMark: 8 });
  const writer = writable.getWriter();
  let headers: Record<string, string> | undefined;
  let announce: (() => void) | undefined;
  const started = new Promise<void>((resolve) => {
    announce = resolve;
  });
  const run = queries.runSync(
    c.get('principal'),
    req,
    {
      begin: (columns, job) => {
        headers = metadataHeaders(columns, job.jobId, job.limit);
        announce!();
        return writer.write(utf8.encode(encoder.begin(columns))).catch(() => {});
      },
      rows: async (batch) => {
        await writer.ready;
        writer.write(utf8.encode(encoder.encode(batch))).catch(() => {});
      },
    },
    { signal: c.req.raw.signal, timing: (phase, ms) => timings.add(phase, ms) },
  );
  run.then(
    async () => {
      await writer.write(utf8.encode(encoder.end())).catch(() => {});
      await writer.close().catch(() => {});
    },
    (err) => {
      // After the first byte, a failure can only cut the stream: the client sees an incomplete body.
      if (headers) writer.abort(err).catch(() => {});
    },
  );
  await Promise.race([started, run]);
  return new Response(readable, {
    status: 200,
    headers: {
      ...headers,
      'Content-Type': encoder.contentType,
      'X-Request-ID': c.get('requestId'),
      'Server-Timing': timings.header(),
    },
  });
}
