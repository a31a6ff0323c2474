/**
 * Request and response schemas: the single source of validation, TypeScript types and the
 * OpenAPI document (`/openapi.json`).
 */
import { z } from '@hono/zod-openapi';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'INVALID_REQUEST' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
      request_id: z.string(),
    }),
  })
  .openapi('Error');

const ParamValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const DataApiParameter = z
  .object({ name: z.string().min(1), value: ParamValue })
  .strict()
  .openapi('DataApiParameter');

export const QueryOptionsSchema = z
  .object({
    limit: z
      .number()
      .int()
      .min(0)
      .optional()
      .openapi({ description: 'Rows to return (default and max 10,000, configurable).' }),
    timeout_seconds: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: 'Statement timeout (default 60, max 300, configurable).' }),
  })
  .strict();

export const QueryRequestSchema = z
  .object({
    sql: z.string().min(1).openapi({
      description:
        'One SELECT or WITH … SELECT statement. Named placeholders `:name` are bound from `params`.',
      example: 'SELECT region, SUM(amount) AS total FROM sales WHERE sold_at >= :since GROUP BY region',
    }),
    params: z
      .record(z.string(), ParamValue)
      .optional()
      .openapi({
        description: 'Values for `:name` placeholders, bound as bind parameters.',
        example: { since: '2024-01-01' },
      }),
    parameters: z
      .union([QueryOptionsSchema, z.array(DataApiParameter)])
      .optional()
      .openapi({
        description:
          'Either execution options `{limit, timeout_seconds}`, or Data-API-style bind parameters `[{"name", "value"}]`.',
      }),
    limit: z.number().int().min(0).optional(),
    timeout_seconds: z.number().int().min(1).optional(),
    async: z.boolean().optional().default(false),
    output_format: z
      .enum(['json', 'csv', 'ndjson', 'parquet'])
      .optional()
      .openapi({
        description:
          'The Python original’s way to choose the format, an alternative to `Accept` (and preferred over it): `json` ' +
          '(the envelope), `ndjson` or `csv` (streamed). With `"async": true` it names the format of the job’s results ' +
          '(`results_url` in the 202 answer), `parquet` included; a synchronous query refuses `parquet` (docs/api.md "Migrating").',
      }),
    stream_metadata: z
      .boolean()
      .optional()
      .openapi({
        description:
          'NDJSON and CSV streams only: end the stream with one metadata line saying whether the row cap cut it ' +
          '(NDJSON: `{"@metadata": {…}}`; CSV: a `#spectra-metadata {…}` comment line). See docs/api.md "Truncation".',
      }),
  })
  .strict()
  .openapi('QueryRequest');

export const QueryMetadataSchema = z
  .object({
    columns: z.array(z.string()),
    column_types: z.array(z.string()),
    row_count: z.number().int(),
    truncated: z.boolean(),
    execution_time_ms: z.number().int(),
    query_id: z.string(),
    message: z.string().nullable(),
    warnings: z
      .array(
        z.object({
          code: z.literal('NOT_SUPPORTED_ON_REDSHIFT'),
          message: z.string(),
          construct: z.string(),
          alternative: z.string(),
          position: z.number().int().optional(),
        }),
      )
      .optional()
      .openapi({
        description:
          'Present when the statement used PostgreSQL-only constructs that ran here but Amazon Redshift refuses (SPECTRA_SQL_DIALECT=postgres; docs/sql-dialect.md).',
      }),
  })
  .openapi('QueryMetadata');

export const QueryResponseSchema = z
  .object({
    job_id: z.string(),
    status: z.literal('COMPLETED'),
    data: z.array(z.record(z.string(), z.unknown())),
    metadata: QueryMetadataSchema,
  })
  .openapi('QueryResponse');

export const JobStatusSchema = z.enum(['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED']);

export const JobSchema = z
  .object({
    job_id: z.string(),
    tenant_id: z.string(),
    status: JobStatusSchema,
    sql: z.string(),
    async: z.boolean(),
    submitted_at: z.string(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    row_count: z.number().int().nullable(),
    truncated: z.boolean().nullable(),
    execution_time_ms: z.number().int().nullable(),
    error: z
      .object({
        code: z.string(),
        message: z.string(),
        details: z
          .record(z.string(), z.unknown())
          .optional()
          .openapi({ description: 'E.g. the warehouse’s `sqlstate` for QUERY_FAILED.' }),
      })
      .nullable(),
    rows_fetched: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'Async jobs: rows written so far (moves while RUNNING).' }),
    size_bytes: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'Async jobs: bytes of the stored result (NDJSON) once COMPLETED.' }),
    attempts: z.number().int().openapi({
      description: 'Async jobs: times a worker started the job (a retry after a lost worker counts).',
    }),
    result_expires_at: z
      .string()
      .nullable()
      .openapi({ description: 'Async jobs: when the stored result is deleted.' }),
  })
  .openapi('Job');

export const JobListSchema = z
  .object({ jobs: z.array(JobSchema), next_cursor: z.string().nullable() })
  .openapi('JobList');

export const JobIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'job-3f2a9c…' }),
});

export const JobListQuery = z.object({
  status: JobStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).optional().default(50),
  cursor: z.string().max(500).optional(),
});

export const HealthSchema = z
  .object({ status: z.string(), service: z.string(), version: z.string() })
  .openapi('Health');

export const ReadySchema = z
  .object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), z.string()) })
  .openapi('Ready');

/**
 * Standard error responses, referenced by every route. 400 is always among them: any route refuses
 * a path, query or body string with NUL, an unpaired surrogate or a bad percent escape.
 */
export function errorResponses(...listed: number[]) {
  const statuses = listed.includes(400) ? listed : [400, ...listed];
  const descriptions: Record<number, string> = {
    400:
      'Invalid request or SQL (INVALID_REQUEST, INVALID_SQL, UNSUPPORTED_SYNTAX, UNSUPPORTED_ON_REDSHIFT, SQL_BLOCKED, COMPLEXITY_EXCEEDED). ' +
      'INVALID_REQUEST also answers any path, query, header or JSON body string holding a NUL (U+0000), an unpaired ' +
      'UTF-16 surrogate or a malformed / non-UTF-8 percent escape; `details.field` names it (`path.id`, `query.cursor`, ' +
      '`params.x`) and `details.reason` says which.',
    401: 'Missing or invalid credential (UNAUTHORIZED)',
    403: 'Permission missing, tenant mismatch or tenant suspended (FORBIDDEN)',
    404: 'Unknown id, or an id of another tenant (NOT_FOUND)',
    409: 'Illegal state transition (CONFLICT)',
    410: 'The result file has expired (RESULT_EXPIRED); run the query or export again',
    413: 'Body or SQL over the limit (PAYLOAD_TOO_LARGE); a result row over SPECTRA_MAX_ROW_BYTES, or on AWS Lambda a response over its payload limit (RESULT_TOO_LARGE: for the latter submit the query with "async": true)',
    422: 'The warehouse failed the statement (QUERY_FAILED), or idempotency key reuse (IDEMPOTENCY_CONFLICT)',
    429: 'Rate limited (RATE_LIMITED)',
    500: 'Internal error',
    503: 'Warehouse unavailable (WAREHOUSE_UNAVAILABLE), with Retry-After',
    504: 'Statement timed out and was cancelled (QUERY_TIMEOUT)',
  };
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: descriptions[s] ?? 'Error', content: { 'application/json': { schema: ErrorSchema } } },
    ]),
  );
}
