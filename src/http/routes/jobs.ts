/**
 * Job routes: list and read the caller's query jobs (sync and async), page or download an async
 * job's results, cancel a QUEUED or RUNNING job. HTTP ⇄ JobService; reads go to the StateStore.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { notFound } from '../../domain/errors.js';
import type { QueryJob } from '../../domain/query-job.js';
import type { JobService } from '../../services/job-service.js';
import type { StateStore } from '../../state/port.js';
import type { AppEnv } from '../env.js';
import { requirePermission } from '../middleware/require-permission.js';
import { writeQueryEnvelope } from '../query-envelope.js';
import { errorResponses, JobIdParam, JobListQuery, JobListSchema, JobSchema } from '../schemas.js';

export function jobView(job: QueryJob) {
  return {
    job_id: job.jobId,
    tenant_id: job.tenantId,
    status: job.status,
    sql: job.sql,
    async: job.async,
    submitted_at: job.submittedAt,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    row_count: job.rowCount,
    truncated: job.truncated,
    execution_time_ms: job.executionTimeMs,
    error: job.error
      ? {
          code: job.error.code,
          message: job.error.message,
          ...(job.error.details && Object.keys(job.error.details).length
            ? { details: job.error.details }
            : {}),
        }
      : null,
    rows_fetched: job.rowsFetched,
    size_bytes: job.sizeBytes,
    attempts: job.attempts,
    result_expires_at: job.result?.expiresAt ?? null,
  };
}

export const JobResultsQuery = z.object({
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: 'Opaque position from the previous page’s `next_cursor`.' }),
  limit: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    .optional()
    .openapi({ description: 'Rows per page (default and max 10,000).' }),
  format: z
    .enum(['csv', 'ndjson', 'json', 'parquet'])
    .optional()
    .openapi({
      description:
        'Ask for a download instead of a page: NDJSON (one object per line), a JSON array, CSV, or Parquet ' +
        '(typed columns as in bulk exports, docs/bulk.md).',
    }),
  compression: z
    .enum(['none', 'gzip'])
    .optional()
    .openapi({ description: 'Downloads only (default none); not with Parquet, which compresses its pages.' }),
});

export const JobResultPageSchema = z
  .object({
    job_id: z.string(),
    status: z.literal('COMPLETED'),
    data: z.array(z.record(z.string(), z.unknown())),
    metadata: z.object({
      columns: z.array(z.string()),
      column_types: z.array(z.string()),
      row_count: z.number().int().openapi({ description: 'Rows in this page.' }),
      total_row_count: z.number().int().openapi({ description: 'Rows of the whole result.' }),
      truncated: z.boolean().openapi({ description: 'The job’s own `limit` cut the result.' }),
      execution_time_ms: z.number().int().nullable(),
      query_id: z.string().nullable(),
      message: z.string().nullable(),
    }),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next page; null at the end.' }),
  })
  .openapi('JobResultPage');

export const DownloadSchema = z
  .object({
    job_id: z.string(),
    status: z.literal('COMPLETED'),
    download_url: z.string().openapi({ description: 'Expiring signed URL; no Authorization header needed.' }),
    expires_at: z.string(),
    format: z.enum(['csv', 'ndjson', 'json', 'parquet']),
    compression: z.enum(['none', 'gzip']),
    size_bytes: z.number().int(),
    row_count: z.number().int(),
  })
  .openapi('JobResultDownload');

export const CancelledSchema = z
  .object({ job_id: z.string(), status: z.literal('CANCELLED') })
  .openapi('JobCancelled');

const MORE_ROWS_MESSAGE =
  'More rows follow: pass next_cursor as cursor, or download every row with ?format=ndjson|csv|json (&compression=gzip).';

const listJobs = createRoute({
  method: 'get',
  path: '/v1/jobs',
  operationId: 'listJobs',
  tags: ['Jobs'],
  summary: 'List the caller’s jobs, newest first',
  security: [{ bearer: [] }],
  middleware: [requirePermission('query:execute', 'bulk:read')] as const,
  request: { query: JobListQuery },
  responses: {
    200: { description: 'A page of jobs', content: { 'application/json': { schema: JobListSchema } } },
    ...errorResponses(400, 401, 403),
  },
});

const getJob = createRoute({
  method: 'get',
  path: '/v1/jobs/{id}',
  operationId: 'getJob',
  tags: ['Jobs'],
  summary: 'Read one job',
  description: 'Poll this for an async job: `rows_fetched` moves while it is RUNNING.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('query:execute', 'bulk:read')] as const,
  request: { params: JobIdParam },
  responses: {
    200: { description: 'The job', content: { 'application/json': { schema: JobSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

const getResults = createRoute({
  method: 'get',
  path: '/v1/jobs/{id}/results',
  operationId: 'getJobResults',
  tags: ['Jobs'],
  summary: 'Page through or download an async job’s results',
  description:
    'For a COMPLETED async job: a page of rows in the query envelope plus `next_cursor`. With `format` ' +
    '(or for a result over SPECTRA_RESULT_SIZE_THRESHOLD rows read without `cursor`/`limit`) a download ' +
    'descriptor with an expiring signed URL instead. A job that is not COMPLETED is 409 with its status; ' +
    'results of sync queries are not stored (404), nor are expired ones (404, `reason: expired`).',
  security: [{ bearer: [] }],
  middleware: [requirePermission('query:execute', 'bulk:read')] as const,
  request: { params: JobIdParam, query: JobResultsQuery },
  responses: {
    200: {
      description: 'A page of rows, or a download descriptor',
      content: { 'application/json': { schema: z.union([JobResultPageSchema, DownloadSchema]) } },
    },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const cancelJob = createRoute({
  method: 'delete',
  path: '/v1/jobs/{id}',
  operationId: 'cancelJob',
  tags: ['Jobs'],
  summary: 'Cancel a QUEUED or RUNNING job',
  description:
    'A QUEUED job is cancelled at once; a RUNNING one has its statement cancelled in the warehouse, from ' +
    'whichever process receives this request, and its partial results are deleted. A finished job is 409.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('query:cancel', 'bulk:cancel')] as const,
  request: { params: JobIdParam },
  responses: {
    200: { description: 'Cancelled', content: { 'application/json': { schema: CancelledSchema } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

export function registerJobRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: { state: StateStore; jobs?: JobService | undefined },
): void {
  app.openapi(listJobs, async (c) => {
    const q = c.req.valid('query');
    const page = await deps.state.jobs.list(
      c.get('principal').tenantId,
      { status: q.status },
      { limit: q.limit, cursor: q.cursor },
    );
    return c.json({ jobs: page.items.map(jobView), next_cursor: page.nextCursor }, 200);
  });

  app.openapi(getJob, async (c) => {
    const job = await deps.state.jobs.get(c.get('principal').tenantId, c.req.valid('param').id);
    if (!job) throw notFound('job');
    return c.json(jobView(job), 200);
  });

  const jobs = deps.jobs;
  if (!jobs) return;

  app.openapi(getResults, async (c) => {
    const q = c.req.valid('query');
    const out = await jobs.results(c.get('principal'), c.req.valid('param').id, q);
    if (out.kind === 'download') {
      return c.json(
        {
          job_id: out.job.jobId,
          status: 'COMPLETED' as const,
          download_url: new URL(out.downloadUrl, new URL(c.req.url).origin).toString(),
          expires_at: out.expiresAt,
          format: out.format,
          compression: out.compression,
          size_bytes: out.sizeBytes,
          row_count: out.rowCount,
        },
        200,
      );
    }
    const { job } = out;
    const columns = job.result?.columns ?? [];
    const total = job.rowCount ?? 0;
    const metadata = {
      columns: columns.map((col) => col.name),
      column_types: columns.map((col) => col.type),
      row_count: out.rows.length,
      total_row_count: total,
      truncated: job.truncated ?? false,
      execution_time_ms: job.executionTimeMs,
      query_id: job.statementRef,
      message: out.nextCursor && q.cursor === undefined ? MORE_ROWS_MESSAGE : null,
    };
    // Rows are stored as JSON object text: the page is assembled without parsing them.
    const text = writeQueryEnvelope(job.jobId, `[${out.rows.join(',')}]`, metadata, out.nextCursor);
    return c.body(text, 200, { 'Content-Type': 'application/json; charset=utf-8' }) as never;
  });

  app.openapi(cancelJob, async (c) => {
    const job = await jobs.cancel(c.get('principal'), c.req.valid('param').id);
    return c.json({ job_id: job.jobId, status: 'CANCELLED' as const }, 200);
  });
}
