/**
 * Use cases of asynchronous query jobs: submit (validated by the SQL guard at once, then QUEUED for
 * a worker), read, cancel (from any process: a conditional transition, then the statement is
 * cancelled in the warehouse), and read results (pages or a signed download). Depends on ports only.
 */
import { ApiError, invalidRequest, notFound, resultExpired } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { newJobId, type QueryJob } from '../domain/query-job.js';
import type { Planner, RequestRules } from '../sql/index.js';
import type { StateStore } from '../state/port.js';
import type { ResultStore } from '../storage/port.js';
import type { Warehouse } from '../warehouse/port.js';
import {
  type ExportCompression,
  type ExportFormat,
  exportFilename,
  materializeExport,
  type ResultPage,
  readResultPage,
} from './job-results.js';
import { queryJobRecord } from './query-job-record.js';
import type { QueryRequest } from './query-service.js';
import { tenantSourceCatalog } from './source-catalog.js';

export interface JobSettings {
  defaultTimeoutSeconds: number;
  maxTimeoutSeconds: number;
  jobTtlDays: number;
  /** Largest page of `GET /v1/jobs/{id}/results`. */
  maxPageRows: number;
  /** Results with more rows answer `GET …/results` (no cursor, no limit) with a download descriptor. */
  resultSizeThreshold: number;
  downloadUrlExpirySeconds: number;
  /** Rows per row group of a Parquet download. */
  parquetRowGroupRows: number;
}

export interface DownloadDescriptor {
  downloadUrl: string;
  expiresAt: string;
  format: ExportFormat;
  compression: ExportCompression;
  sizeBytes: number;
  rowCount: number;
}

export type JobResults =
  | ({ kind: 'page'; job: QueryJob } & ResultPage)
  | ({ kind: 'download'; job: QueryJob } & DownloadDescriptor);

export interface ResultsRequest {
  cursor?: string | undefined;
  limit?: number | undefined;
  format?: ExportFormat | undefined;
  compression?: ExportCompression | undefined;
}

export class JobService {
  private readonly rules: RequestRules<undefined>;

  constructor(
    private readonly deps: {
      state: StateStore;
      warehouse: Warehouse;
      results: ResultStore;
      planner: Planner;
      settings: JobSettings;
      /** The clock results expire on (tests); default the real one. */
      now?: () => number;
    },
  ) {
    // A job keeps every row unless the request sets `limit`.
    this.rules = {
      defaultRows: undefined,
      defaultTimeoutSeconds: deps.settings.defaultTimeoutSeconds,
      maxTimeoutSeconds: deps.settings.maxTimeoutSeconds,
      timeoutSubject: 'of an async job',
    };
  }

  /** Validates and plans the statement now (a bad statement is a 400 here, not a FAILED job later), then queues it. */
  async submit(
    principal: Principal,
    req: QueryRequest,
    opts: { outputFormat?: 'parquet' | undefined } = {},
  ): Promise<QueryJob> {
    const planned = await this.deps.planner.planRequest(
      req,
      this.rules,
      tenantSourceCatalog(this.deps.warehouse, principal),
    );
    const job: QueryJob = {
      ...queryJobRecord(newJobId(), principal, req.sql, planned, new Date(), this.deps.settings.jobTtlDays, {
        status: 'QUEUED',
      }),
      ...(opts.outputFormat ? { outputFormat: opts.outputFormat } : {}),
    };
    await this.deps.state.jobs.create(job);
    return job;
  }

  async get(principal: Principal, jobId: string): Promise<QueryJob> {
    const job = await this.deps.state.jobs.get(principal.tenantId, jobId);
    if (!job) throw notFound('job');
    return job;
  }

  /**
   * QUEUED or RUNNING → CANCELLED in one conditional update (CONFLICT when already finished). A
   * RUNNING job's statement is then cancelled in the warehouse by its reference where this process
   * may (on the Data API only its own IAM identity's); its worker hears of it at its next heartbeat,
   * cancels the statement if still running and deletes what it wrote.
   */
  async cancel(principal: Principal, jobId: string): Promise<QueryJob> {
    const { state, warehouse, results } = this.deps;
    const job = await state.jobs.transition(principal.tenantId, jobId, ['QUEUED', 'RUNNING'], {
      status: 'CANCELLED',
      completedAt: new Date().toISOString(),
    });
    if (job.statementRef) await warehouse.cancel(job.statementRef).catch(() => false);
    await results.deletePrefix(`${job.tenantId}/${job.jobId}/`).catch(() => {});
    return job;
  }

  /** A page of rows, or (with `format`, or for a large result read without cursor/limit) a download. */
  async results(principal: Principal, jobId: string, req: ResultsRequest): Promise<JobResults> {
    const { settings, results } = this.deps;
    const job = await this.get(principal, jobId);
    if (job.status !== 'COMPLETED') {
      throw new ApiError('CONFLICT', `job is ${job.status}; results exist only for COMPLETED jobs`, {
        status: job.status,
        ...(job.error ? { error: { code: job.error.code, message: job.error.message } } : {}),
      });
    }
    if (!job.async) {
      throw new ApiError('NOT_FOUND', 'results of synchronous queries are returned inline and not stored', {
        reason: 'not_stored',
      });
    }
    const result = job.result;
    if (!result || Date.parse(result.expiresAt) <= (this.deps.now ?? Date.now)()) {
      throw new ApiError('NOT_FOUND', 'the job’s results have expired', { reason: 'expired' });
    }
    // HEAD before reading or signing: an object the lifecycle removed is 410, never a dead URL.
    if (!(await results.stat(result.key)))
      throw resultExpired('the job’s result file', { job_id: job.jobId });
    const rowCount = job.rowCount ?? 0;
    const wantsPage = req.cursor !== undefined || req.limit !== undefined;
    if (req.format === undefined && (wantsPage || rowCount <= settings.resultSizeThreshold)) {
      if (req.compression !== undefined)
        throw invalidRequest('compression applies to downloads: add format', { field: 'compression' });
      const limit = Math.min(req.limit ?? settings.maxPageRows, settings.maxPageRows);
      const page = await readResultPage(results, result, job.sizeBytes ?? 0, { cursor: req.cursor, limit });
      return { kind: 'page', job, ...page };
    }
    if (wantsPage) throw invalidRequest('cursor and limit page the rows; they do not apply to downloads');
    const format = req.format ?? 'ndjson';
    const compression = req.compression ?? 'none';
    if (format === 'parquet' && compression !== 'none')
      throw invalidRequest('Parquet compresses its own pages: compression applies to csv, ndjson and json', {
        field: 'compression',
      });
    const file = await materializeExport(results, result, format, compression, {
      parquetRowGroupRows: settings.parquetRowGroupRows,
    });
    const url = await results.signedUrl('GET', file.key, settings.downloadUrlExpirySeconds, {
      filename: exportFilename(job.jobId, format, compression),
    });
    return {
      kind: 'download',
      job,
      downloadUrl: url.url,
      expiresAt: url.expiresAt,
      format,
      compression,
      sizeBytes: file.sizeBytes,
      rowCount,
    };
  }
}
