/**
 * Bulk API routes (API.md "Bulk API"): create, read, list and move bulk jobs, get an upload URL,
 * results and failed results; and the signed upload route of the filesystem ResultStore
 * (`PUT /v1/bulk/uploads/{tenant}/{job}/{file}`), which authenticates by its URL signature and is
 * registered before bearer authentication. HTTP ⇄ BulkService; nothing else.
 */
import { Readable } from 'node:stream';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import {
  BULK_COMPRESSIONS,
  BULK_CONTENT_TYPES,
  BULK_OPERATIONS,
  BULK_STATES,
  type BulkJob,
  type ColumnDelimiter,
  JSON_FORMATS,
  jobTypeOf,
  LINE_ENDINGS,
} from '../../domain/bulk-job.js';
import { ApiError } from '../../domain/errors.js';
import { hasPermission } from '../../domain/principal.js';
import type { BulkService } from '../../services/bulk-lifecycle.js';
import { isValidResultKey } from '../../storage/port.js';
import type { AppEnv } from '../env.js';
import { requirePermission } from '../middleware/require-permission.js';
import { errorResponses } from '../schemas.js';

export interface BulkRouteDeps {
  bulk: BulkService;
}

export interface BulkUploadRouteDeps {
  bulk: BulkService;
  /** Checks an upload URL's signature (FsUploadUrls.verify). */
  verify(key: string, expires: string | undefined, signature: string | undefined): void;
  maxFileBytes: number;
}

const DELIMITER_NAMES: Record<string, ColumnDelimiter> = { COMMA: ',', PIPE: '|', TAB: '\t' };

export const BulkJobCreateSchema = z
  .object({
    operation: z
      .enum(BULK_OPERATIONS)
      .openapi({ description: '`query` exports; the others import into `object`.' }),
    object: z.string().min(1).max(256).optional().openapi({
      description: 'Imports: the target table (`table` or `schema.table`).',
      example: 'customers',
    }),
    query: z
      .string()
      .min(1)
      .optional()
      .openapi({ description: 'Exports: one SELECT, checked by the SQL guard (no LIMIT is added).' }),
    content_type: z.enum(BULK_CONTENT_TYPES).optional().default('CSV'),
    compression: z.enum(BULK_COMPRESSIONS).optional().default('NONE'),
    external_id_field: z.string().min(1).max(63).optional().openapi({
      description: 'update/upsert/delete: the key column (a unique key, alone or with tenant_id).',
    }),
    column_delimiter: z
      .enum([',', '|', '\t', 'COMMA', 'PIPE', 'TAB'])
      .optional()
      .default(',')
      .transform((d) => DELIMITER_NAMES[d] ?? (d as ColumnDelimiter))
      .openapi({ description: 'CSV: `,`, `|` or tab (or COMMA, PIPE, TAB).' }),
    line_ending: z
      .enum(LINE_ENDINGS)
      .optional()
      .default('LF')
      .openapi({ description: 'CSV exports: LF or CRLF.' }),
    json_format: z.enum(JSON_FORMATS).optional().default('NDJSON').openapi({
      description: 'JSON exports: one object per line (NDJSON) or one array. Imports read both.',
    }),
  })
  .strict()
  .openapi('BulkJobCreate');

const ErrorInfo = z
  .object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() })
  .nullable();

export const BulkJobSchema = z
  .object({
    job_id: z.string(),
    tenant_id: z.string(),
    operation: z.enum(BULK_OPERATIONS),
    job_type: z.enum(['V2Query', 'V2Ingest']),
    object: z.string().nullable(),
    query: z.string().nullable(),
    content_type: z.enum(BULK_CONTENT_TYPES),
    compression: z.enum(BULK_COMPRESSIONS),
    column_delimiter: z.string(),
    line_ending: z.enum(LINE_ENDINGS),
    json_format: z.enum(JSON_FORMATS),
    external_id_field: z.string().nullable(),
    state: z.enum(BULK_STATES),
    created_at: z.string(),
    updated_at: z.string(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    number_records_processed: z.number().int().openapi({ description: 'Moves while InProgress.' }),
    number_records_failed: z.number().int(),
    attempts: z.number().int(),
    upload: z.object({ size_bytes: z.number().int(), received_at: z.string() }).nullable(),
    error: ErrorInfo,
  })
  .openapi('BulkJob');

export function bulkJobView(job: BulkJob) {
  return {
    job_id: job.jobId,
    tenant_id: job.tenantId,
    operation: job.operation,
    job_type: jobTypeOf(job.operation),
    object: job.object,
    query: job.query,
    content_type: job.contentType,
    compression: job.compression,
    column_delimiter: job.columnDelimiter,
    line_ending: job.lineEnding,
    json_format: job.jsonFormat,
    external_id_field: job.externalIdField,
    state: job.state,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    number_records_processed: job.recordsProcessed,
    number_records_failed: job.recordsFailed,
    attempts: job.attempts,
    upload: job.upload ? { size_bytes: job.upload.sizeBytes, received_at: job.upload.receivedAt } : null,
    error: job.error
      ? {
          code: job.error.code,
          message: job.error.message,
          ...(job.error.details && Object.keys(job.error.details).length
            ? { details: job.error.details }
            : {}),
        }
      : null,
  };
}

const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'bulk-0123456789abcdef' }),
});

const ListQuery = z.object({
  state: z.enum(BULK_STATES).optional(),
  operation: z.enum(BULK_OPERATIONS).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional().default(50),
  cursor: z.string().max(500).optional(),
});

const PatchBody = z
  .object({
    state: z.enum(['UploadComplete', 'Aborted']).openapi({
      description:
        '`UploadComplete` starts processing (exports too); `Aborted` stops the job and deletes its files.',
    }),
  })
  .strict()
  .openapi('BulkJobStateChange');

const UploadUrlSchema = z
  .object({
    job_id: z.string(),
    upload_url: z
      .string()
      .openapi({ description: 'PUT the file here (no Authorization header). Gzip allowed.' }),
    method: z.literal('PUT'),
    expires_at: z.string(),
    max_size_bytes: z.number().int(),
  })
  .openapi('BulkUploadUrl');

const ExportResultsSchema = z
  .object({
    job_id: z.string(),
    operation: z.literal('query'),
    state: z.literal('JobComplete'),
    download_url: z.string(),
    expires_at: z.string(),
    format: z.enum(BULK_CONTENT_TYPES),
    compression: z.enum(BULK_COMPRESSIONS),
    size_bytes: z.number().int(),
    row_count: z.number().int(),
    sha256: z.string().nullable().openapi({ description: 'Hex SHA-256 of the file as downloaded.' }),
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
  })
  .openapi('BulkExportResults');

const ImportResultsSchema = z
  .object({
    job_id: z.string(),
    operation: z.enum(['insert', 'update', 'upsert', 'delete']),
    state: z.literal('JobComplete'),
    number_records_processed: z.number().int(),
    number_records_failed: z.number().int(),
    number_records_loaded: z.number().int(),
    failed_results_url: z
      .string()
      .nullable()
      .openapi({ description: 'Signed URL of the failed-records CSV.' }),
    expires_at: z.string().nullable(),
  })
  .openapi('BulkImportResults');

const createJob = createRoute({
  method: 'post',
  path: '/v1/bulk/jobs',
  operationId: 'createBulkJob',
  tags: ['Bulk'],
  summary: 'Create a bulk export or import job',
  description:
    'Exports (`operation: query`) are checked by the SQL guard now; imports check the table, the role’s ' +
    'privileges for the operation and the external id in the warehouse catalog now. The job starts `Open`.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('bulk:create')] as const,
  request: {
    body: {
      content: {
        'application/json': {
          schema: BulkJobCreateSchema,
          example: {
            operation: 'query',
            query: "SELECT * FROM sales WHERE sold_at >= '2024-01-01'",
            content_type: 'PARQUET',
            compression: 'NONE',
          },
        },
      },
      required: true,
    },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: BulkJobSchema } } },
    ...errorResponses(400, 401, 403, 413, 422, 429),
  },
});

const listJobs = createRoute({
  method: 'get',
  path: '/v1/bulk/jobs',
  operationId: 'listBulkJobs',
  tags: ['Bulk'],
  summary: 'List the caller’s bulk jobs, newest first',
  security: [{ bearer: [] }],
  middleware: [requirePermission('bulk:read')] as const,
  request: { query: ListQuery },
  responses: {
    200: {
      description: 'A page of bulk jobs',
      content: {
        'application/json': {
          schema: z
            .object({ jobs: z.array(BulkJobSchema), next_cursor: z.string().nullable() })
            .openapi('BulkJobList'),
        },
      },
    },
    ...errorResponses(400, 401, 403),
  },
});

const getJob = createRoute({
  method: 'get',
  path: '/v1/bulk/jobs/{id}',
  operationId: 'getBulkJob',
  tags: ['Bulk'],
  summary: 'Read one bulk job (counters move while InProgress)',
  security: [{ bearer: [] }],
  middleware: [requirePermission('bulk:read')] as const,
  request: { params: IdParam },
  responses: {
    200: { description: 'The job', content: { 'application/json': { schema: BulkJobSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

const patchJob = createRoute({
  method: 'patch',
  path: '/v1/bulk/jobs/{id}',
  operationId: 'updateBulkJob',
  tags: ['Bulk'],
  summary: 'Start (UploadComplete) or abort (Aborted) a bulk job',
  description:
    'Open → UploadComplete queues the job (an import needs its file). Aborted is legal from any non-terminal ' +
    'state: a running statement is cancelled (an import leaves the table unchanged) and the job’s files are ' +
    'deleted. Any other move is 409 with the current state. UploadComplete needs `bulk:create`, Aborted `bulk:cancel`.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('bulk:create', 'bulk:cancel')] as const,
  request: {
    params: IdParam,
    body: {
      content: { 'application/json': { schema: PatchBody, example: { state: 'UploadComplete' } } },
      required: true,
    },
  },
  responses: {
    200: {
      description: 'The job after the move',
      content: { 'application/json': { schema: BulkJobSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const uploadUrl = createRoute({
  method: 'get',
  path: '/v1/bulk/jobs/{id}/upload-url',
  operationId: 'getBulkUploadUrl',
  tags: ['Bulk'],
  summary: 'A signed URL to PUT an import’s file to',
  description:
    'Imports in state Open. PUT the CSV or JSON file there, optionally gzip (`Content-Encoding: gzip`, or a ' +
    'GZIP job); a later PUT replaces it. Larger than SPECTRA_BULK_MAX_FILE_SIZE_MB is 413.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('bulk:create')] as const,
  request: { params: IdParam },
  responses: {
    200: { description: 'Upload URL', content: { 'application/json': { schema: UploadUrlSchema } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

const getResults = createRoute({
  method: 'get',
  path: '/v1/bulk/jobs/{id}/results',
  operationId: 'getBulkJobResults',
  tags: ['Bulk'],
  summary: 'Results of a JobComplete bulk job',
  description:
    'Exports: a signed download URL with format, compression, size, rows and SHA-256. Imports: the counts and ' +
    'a signed URL of the failed-records CSV. Not JobComplete → 409 with the state (and the error of a Failed job).',
  security: [{ bearer: [] }],
  middleware: [requirePermission('bulk:read')] as const,
  request: { params: IdParam },
  responses: {
    200: {
      description: 'Export or import results',
      content: { 'application/json': { schema: z.union([ExportResultsSchema, ImportResultsSchema]) } },
    },
    ...errorResponses(401, 403, 404, 409),
  },
});

const getFailedResults = createRoute({
  method: 'get',
  path: '/v1/bulk/jobs/{id}/failed-results',
  operationId: 'getBulkJobFailedResults',
  tags: ['Bulk'],
  summary: 'The rejected records of an import, as CSV with an `error` column',
  description:
    'The input’s columns (in its order) and `error`, one row per rejected record, in input order. A record ' +
    'that could not be split into fields is given as received, followed by its error.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('bulk:read')] as const,
  request: { params: IdParam },
  responses: {
    200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

const absolute = (url: string, requestUrl: string) => new URL(url, new URL(requestUrl).origin).toString();

export function registerBulkRoutes(app: OpenAPIHono<AppEnv>, deps: BulkRouteDeps): void {
  const { bulk } = deps;

  app.openapi(createJob, async (c) => {
    const b = c.req.valid('json');
    const job = await bulk.create(c.get('principal'), {
      operation: b.operation,
      object: b.object,
      query: b.query,
      contentType: b.content_type,
      compression: b.compression,
      externalIdField: b.external_id_field,
      columnDelimiter: b.column_delimiter,
      lineEnding: b.line_ending,
      jsonFormat: b.json_format,
    });
    c.header('Location', `/v1/bulk/jobs/${job.jobId}`);
    return c.json(bulkJobView(job), 201);
  });

  app.openapi(listJobs, async (c) => {
    const q = c.req.valid('query');
    const page = await bulk.list(
      c.get('principal'),
      { state: q.state, operation: q.operation },
      { limit: q.limit, cursor: q.cursor },
    );
    return c.json({ jobs: page.items.map(bulkJobView), next_cursor: page.nextCursor }, 200);
  });

  app.openapi(getJob, async (c) => {
    const job = await bulk.get(c.get('principal'), c.req.valid('param').id);
    return c.json(bulkJobView(job), 200);
  });

  app.openapi(patchJob, async (c) => {
    const principal = c.get('principal');
    const { state } = c.req.valid('json');
    const needed = state === 'Aborted' ? 'bulk:cancel' : 'bulk:create';
    if (!hasPermission(principal.permissions, needed)) {
      throw new ApiError('FORBIDDEN', `this credential lacks the permission ${needed}`, {
        required: [needed],
      });
    }
    const job = await bulk.setState(principal, c.req.valid('param').id, state);
    return c.json(bulkJobView(job), 200);
  });

  app.openapi(uploadUrl, async (c) => {
    const id = c.req.valid('param').id;
    const u = await bulk.uploadUrl(c.get('principal'), id);
    return c.json(
      {
        job_id: id,
        upload_url: absolute(u.url, c.req.url),
        method: 'PUT' as const,
        expires_at: u.expiresAt,
        max_size_bytes: u.maxBytes,
      },
      200,
    );
  });

  app.openapi(getResults, async (c) => {
    const r = await bulk.results(c.get('principal'), c.req.valid('param').id);
    const { job } = r;
    if (r.kind === 'export') {
      return c.json(
        {
          job_id: job.jobId,
          operation: 'query' as const,
          state: 'JobComplete' as const,
          download_url: absolute(r.downloadUrl, c.req.url),
          expires_at: r.expiresAt,
          format: job.result!.format,
          compression: job.result!.compression,
          size_bytes: r.sizeBytes,
          row_count: r.rowCount,
          sha256: r.sha256,
          columns: job.result!.columns,
        },
        200,
      );
    }
    return c.json(
      {
        job_id: job.jobId,
        operation: job.operation as 'insert' | 'update' | 'upsert' | 'delete',
        state: 'JobComplete' as const,
        number_records_processed: job.recordsProcessed,
        number_records_failed: job.recordsFailed,
        number_records_loaded: job.result?.rowCount ?? 0,
        failed_results_url: r.failedResultsUrl ? absolute(r.failedResultsUrl, c.req.url) : null,
        expires_at: r.expiresAt,
      },
      200,
    );
  });

  app.openapi(getFailedResults, async (c) => {
    const { body, sizeBytes } = await bulk.failedResults(c.get('principal'), c.req.valid('param').id);
    const stream = Readable.toWeb(Readable.from(body)) as ReadableStream<Uint8Array>;
    return c.body(stream, 200, {
      'Content-Type': 'text/csv; charset=utf-8; header=present',
      'Content-Length': String(sizeBytes),
      'Cache-Control': 'private, no-store',
    }) as never;
  });
}

const UploadParams = z.object({
  tenant_id: z.string().openapi({ param: { name: 'tenant_id', in: 'path' } }),
  job_id: z.string().openapi({ param: { name: 'job_id', in: 'path' } }),
  file: z.string().openapi({ param: { name: 'file', in: 'path' }, example: 'upload.csv' }),
});

const upload = createRoute({
  method: 'put',
  path: '/v1/bulk/uploads/{tenant_id}/{job_id}/{file}',
  operationId: 'uploadBulkFile',
  tags: ['Bulk'],
  summary: 'Upload an import file through its signed URL',
  description:
    'URLs come from `GET /v1/bulk/jobs/{id}/upload-url`; they carry `expires` and `signature` and need no ' +
    'Authorization header. The body is streamed to storage; gzip is kept as sent and read by the worker. ' +
    'Beyond the size cap → 413; a job that is no longer Open → 409; an altered or expired URL → 403.',
  request: {
    params: UploadParams,
    query: z.object({ expires: z.string().optional(), signature: z.string().optional() }),
  },
  responses: {
    200: {
      description: 'Stored',
      content: {
        'application/json': {
          schema: z
            .object({ job_id: z.string(), size_bytes: z.number().int(), state: z.enum(BULK_STATES) })
            .openapi('BulkUploaded'),
        },
      },
    },
    ...errorResponses(400, 403, 404, 409, 413),
  },
});

/** Registered before authentication and the body limit: the URL's signature is the credential. */
export function registerBulkUploadRoute(app: OpenAPIHono<AppEnv>, deps: BulkUploadRouteDeps): void {
  app.openapi(upload, async (c) => {
    const p = c.req.valid('param');
    const q = c.req.valid('query');
    const key = `${p.tenant_id}/${p.job_id}/${p.file}`;
    if (!isValidResultKey(key)) throw new ApiError('FORBIDDEN', 'invalid URL signature');
    deps.verify(key, q.expires, q.signature);
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > deps.maxFileBytes) {
      // The unread body makes this connection unusable: the client must not reuse it.
      c.header('Connection', 'close');
      throw new ApiError('PAYLOAD_TOO_LARGE', `the file is larger than ${deps.maxFileBytes} bytes`, {
        max_bytes: deps.maxFileBytes,
      });
    }
    try {
      const { job, sizeBytes } = await deps.bulk.acceptUpload(
        p.tenant_id,
        p.job_id,
        p.file,
        c.req.raw.body as unknown as AsyncIterable<Uint8Array> | null,
      );
      return c.json({ job_id: job.jobId, size_bytes: sizeBytes, state: job.state }, 200);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'PAYLOAD_TOO_LARGE') c.header('Connection', 'close');
      throw e;
    }
  });
}
