/**
 * `POST /v1/queries`: HTTP ⇄ QueryService. Content negotiation: JSON envelope by default;
 * `Accept: application/x-ndjson` or `text/csv` stream rows with backpressure, metadata in headers.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { type ApiError, invalidRequest } from '../../domain/errors.js';
import { createEncoder } from '../../formats/index.js';
import type { JobService } from '../../services/job-service.js';
import type {
  ParamValue,
  QueryCallOptions,
  QueryOutcome,
  QueryRequest,
  QueryService,
  StageTimings,
} from '../../services/query-service.js';
import type { ColumnInfo, Row } from '../../warehouse/port.js';
import type { AppEnv } from '../env.js';
import { IdempotencyHeaders } from '../middleware/idempotency.js';
import { requirePermission } from '../middleware/require-permission.js';
import { writeQueryEnvelope } from '../query-envelope.js';
import { errorResponses, QueryRequestSchema, QueryResponseSchema } from '../schemas.js';

const TRUNCATION_MESSAGE =
  'The result was truncated at the row limit. Use the Bulk API (POST /v1/bulk/jobs, operation "query") to export all rows.';

const JobSubmittedSchema = z
  .object({
    job_id: z.string(),
    status: z.literal('QUEUED'),
    results_url: z.string().optional().openapi({
      description: 'With `output_format`: where the COMPLETED job’s results are downloaded in that format.',
    }),
  })
  .openapi('JobSubmitted');

/** The stream's last line when `stream_metadata` is asked for (docs/api.md "Truncation"). */
export const METADATA_LINE_KEY = '@metadata';
export const CSV_METADATA_PREFIX = '#spectra-metadata ';

const runQuery = createRoute({
  method: 'post',
  path: '/v1/queries',
  operationId: 'runQuery',
  tags: ['Queries'],
  summary: 'Run a SQL query as the caller’s tenant',
  description:
    'Runs one SELECT statement as the tenant’s database user; row-level security decides which rows are visible. ' +
    'Returns at most `limit` rows; `metadata.truncated` tells when more existed. With `Accept: application/x-ndjson` ' +
    'or `text/csv` (or `output_format`, which wins over `Accept`) rows stream instead: metadata in `X-Spectra-*` headers ' +
    '(`X-Spectra-Row-Limit` announces the cap before the first row), and with `stream_metadata: true` a last line says ' +
    'whether the cap cut the stream. Headers and lines: docs/api.md.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('query:execute')] as const,
  request: {
    headers: IdempotencyHeaders,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: QueryRequestSchema,
          example: {
            sql: 'SELECT region, SUM(amount) AS total FROM sales WHERE sold_at >= :since GROUP BY region',
            params: { since: '2024-01-01' },
            parameters: { limit: 1000, timeout_seconds: 60 },
          },
        },
      },
    },
  },
  responses: {
    202: {
      description: '`"async": true`: the job is QUEUED; poll `Location`.',
      headers: { Location: { description: '/v1/jobs/{job_id}', schema: { type: 'string' } } },
      content: { 'application/json': { schema: JobSubmittedSchema } },
    },
    200: {
      description: 'Rows (JSON envelope, or a stream for NDJSON/CSV)',
      headers: {
        'X-Spectra-Job-Id': { description: 'Streams: the job id of this query.', schema: { type: 'string' } },
        'X-Spectra-Columns': {
          description: 'Streams: JSON array of the column names.',
          schema: { type: 'string' },
        },
        'X-Spectra-Column-Types': {
          description: 'Streams: JSON array of the Redshift type names.',
          schema: { type: 'string' },
        },
        'X-Spectra-Row-Limit': {
          description: 'Streams: the row cap; more rows than this are never sent (see `stream_metadata`).',
          schema: { type: 'integer' },
        },
      },
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

/** Parquet is a file format: an async job's results download as one, a synchronous query never streams it. */
function parquetNeedsBulk(): ApiError {
  return invalidRequest(
    'output_format parquet is a file: a synchronous query streams json, ndjson or csv; add "async": true to download the job’s results as Parquet, or export with POST /v1/bulk/jobs {"operation": "query", "query": …, "content_type": "PARQUET"}',
    { field: 'output_format', bulk: { method: 'POST', path: '/v1/bulk/jobs', content_type: 'PARQUET' } },
  );
}

function negotiate(accept: string | undefined): 'json' | 'ndjson' | 'csv' {
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
      if (body.stream_metadata)
        throw invalidRequest('stream_metadata applies to NDJSON and CSV streams, not async jobs', {
          field: 'stream_metadata',
        });
      const format = body.output_format;
      // The worker writes a Parquet file when the job completes: the results route then only signs it.
      const job = await deps.jobs.submit(c.get('principal'), req, {
        outputFormat: format === 'parquet' ? 'parquet' : undefined,
      });
      return c.json(
        {
          job_id: job.jobId,
          status: 'QUEUED' as const,
          ...(format ? { results_url: `/v1/jobs/${job.jobId}/results?format=${format}` } : {}),
        },
        202,
        { Location: `/v1/jobs/${job.jobId}` },
      );
    }
    const format = body.output_format ?? negotiate(c.req.header('accept'));
    if (format === 'parquet') throw parquetNeedsBulk();
    if (format === 'json') return runJson(c, deps.queries, req);
    return runStreaming(c, deps.queries, req, format, body.stream_metadata === true);
  });
}

/** Cancellation with the client, Server-Timing, and the request's facts for its audit entry and log lines. */
function callOptions(c: Context<AppEnv>, timings: StageTimings): QueryCallOptions {
  const scope = c.get('scope');
  return { signal: c.req.raw.signal, timings, facts: scope?.query, responseWritten: scope?.done };
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
    callOptions(c, timings),
  );
  const t0 = performance.now();
  const encoder = createEncoder('json-array');
  const text = writeQueryEnvelope(
    outcome.job.jobId,
    encoder.begin(outcome.columns) + encoder.encode(collected) + encoder.end(),
    {
      columns: outcome.columns.map((col) => col.name),
      column_types: outcome.columns.map((col) => col.type),
      row_count: outcome.rowCount,
      truncated: outcome.truncated,
      execution_time_ms: outcome.executionTimeMs,
      query_id: outcome.queryId,
      message: outcome.truncated ? TRUNCATION_MESSAGE : null,
      ...(outcome.warnings.length > 0 ? { warnings: outcome.warnings } : {}),
    },
  );
  timings.add('encode', performance.now() - t0);
  return c.body(text, 200, { 'Content-Type': 'application/json; charset=utf-8' });
}

async function runStreaming(
  c: Context<AppEnv>,
  queries: QueryService,
  req: QueryRequest,
  format: 'ndjson' | 'csv',
  metadataLine: boolean,
) {
  const encoder = createEncoder(format);
  const timings = c.get('timings');
  const utf8 = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(undefined, { highWaterMark: 8 });
  const writer = writable.getWriter();
  let headers: Record<string, string> | undefined;
  let rowLimit = 0;
  let announce: (() => void) | undefined;
  const started = new Promise<void>((resolve) => {
    announce = resolve;
  });
  const run = queries.runSync(
    c.get('principal'),
    req,
    {
      begin: (columns, job) => {
        rowLimit = job.limit;
        headers = metadataHeaders(columns, job.jobId, job.limit);
        announce!();
        return writer.write(utf8.encode(encoder.begin(columns))).catch(() => {});
      },
      rows: async (batch) => {
        await writer.ready;
        writer.write(utf8.encode(encoder.encode(batch))).catch(() => {});
      },
    },
    callOptions(c, timings),
  );
  run.then(
    async (outcome) => {
      let tail = encoder.end();
      if (metadataLine) tail += streamMetadataLine(format, outcome, rowLimit);
      await writer.write(utf8.encode(tail)).catch(() => {});
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

/** The opt-in last line of a stream: whether the row cap cut it, without a second request. */
function streamMetadataLine(format: 'ndjson' | 'csv', outcome: QueryOutcome, rowLimit: number): string {
  const metadata = JSON.stringify({
    job_id: outcome.job.jobId,
    row_count: outcome.rowCount,
    truncated: outcome.truncated,
    row_limit: rowLimit,
    execution_time_ms: outcome.executionTimeMs,
    message: outcome.truncated ? TRUNCATION_MESSAGE : null,
  });
  return format === 'ndjson'
    ? `{"${METADATA_LINE_KEY}":${metadata}}\n`
    : `${CSV_METADATA_PREFIX}${metadata}\r\n`;
}
