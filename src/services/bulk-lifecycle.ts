/**
 * Use cases of the Bulk API (API.md "Bulk API"): create a job (exports: the SQL guard runs now;
 * imports: the table, the role's privileges and the external id are checked in the catalog now),
 * read and list jobs, take an upload, move a job (UploadComplete queues it for a worker; Aborted
 * stops it anywhere, cancelling its warehouse statement and deleting its files), and hand out
 * results: a signed download for exports, counts and the failed-records CSV for imports.
 * Depends on ports only; the work itself runs in a worker (bulk-export.ts, bulk-import.ts).
 */

import { validateImportTarget } from '../domain/bulk-import-rules.js';
import {
  assertBulkTransition,
  type BulkCompression,
  type BulkContentType,
  type BulkJob,
  type BulkJobState,
  type BulkOperation,
  type ColumnDelimiter,
  isImport,
  type JsonFormat,
  type LineEnding,
  newBulkJobId,
} from '../domain/bulk-job.js';
import { ApiError, conflict, invalidRequest, notFound, resultExpired } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import type { Planner } from '../sql/index.js';
import type { BulkStateStores, Page, StateStore } from '../state/port.js';
import type { ResultStore, UploadUrlIssuer } from '../storage/port.js';
import type { Warehouse } from '../warehouse/port.js';
import { bulkFolder, exportExtension, uploadKey } from './bulk-files.js';
import { tenantSourceCatalog } from './source-catalog.js';

export interface BulkSettings {
  jobTtlDays: number;
  /** Largest upload, bytes as sent. */
  maxFileBytes: number;
  /** Warehouse statement timeout of a bulk run. */
  timeoutSeconds: number;
  urlExpirySeconds: number;
}

export interface CreateBulkJob {
  operation: BulkOperation;
  object?: string | undefined;
  query?: string | undefined;
  contentType: BulkContentType;
  compression: BulkCompression;
  externalIdField?: string | undefined;
  columnDelimiter: ColumnDelimiter;
  lineEnding: LineEnding;
  jsonFormat: JsonFormat;
}

export type BulkResults =
  | {
      kind: 'export';
      job: BulkJob;
      downloadUrl: string;
      expiresAt: string;
      sizeBytes: number;
      rowCount: number;
      sha256: string | null;
    }
  | { kind: 'import'; job: BulkJob; failedResultsUrl: string | null; expiresAt: string | null };

export class BulkService {
  private readonly stores: BulkStateStores;

  constructor(
    private readonly deps: {
      state: StateStore;
      warehouse: Warehouse;
      results: ResultStore;
      uploads: UploadUrlIssuer;
      planner: Planner;
      settings: BulkSettings;
    },
  ) {
    if (!deps.state.bulk) throw new Error('the state store has no bulk job stores');
    this.stores = deps.state.bulk;
  }

  async create(principal: Principal, req: CreateBulkJob): Promise<BulkJob> {
    const { settings } = this.deps;
    let plannedSql: string | null = null;
    if (req.operation === 'query') {
      if (!req.query) throw invalidRequest('query is required for export operations', { field: 'query' });
      this.deps.planner.checkLength(req.query, 'query');
      if (req.contentType === 'PARQUET' && req.compression === 'GZIP') {
        throw invalidRequest('Parquet files are compressed inside (Snappy): use compression NONE', {
          field: 'compression',
        });
      }
      // The guard decides now (a bad statement is a 400 here, not a Failed job later); no LIMIT rewrite.
      const plan = await this.deps.planner.plan(
        { sql: req.query },
        tenantSourceCatalog(this.deps.warehouse, principal),
      );
      if (plan.paramNames.length > 0) {
        throw invalidRequest('bulk export queries take no :name placeholders', {
          field: 'query',
          placeholders: plan.paramNames,
        });
      }
      // The original's clients send `object` with exports too: it must name a table the query reads.
      if (req.object) checkExportObject(req.object, plan.relations);
      plannedSql = plan.sql;
    } else {
      if (!req.object)
        throw invalidRequest('object (the table) is required for import operations', { field: 'object' });
      if (req.query) throw invalidRequest('query applies to exports only', { field: 'query' });
      if (req.contentType === 'PARQUET') {
        throw invalidRequest('imports read CSV or JSON', { field: 'content_type' });
      }
      if (req.operation !== 'insert' && !req.externalIdField) {
        throw invalidRequest(`external_id_field is required for ${req.operation}`, {
          field: 'external_id_field',
        });
      }
      const describe = this.deps.warehouse.describeTable;
      if (!describe) throw new ApiError('INVALID_REQUEST', 'this warehouse does not support bulk imports');
      const table = await describe.call(this.deps.warehouse, this.executionContext(principal), req.object);
      validateImportTarget(table, req.operation, req.externalIdField ?? null, principal.dbUser);
    }
    const now = new Date();
    // An export has nothing to upload: it is queued at once (the original's behaviour).
    const exportNow = req.operation === 'query';
    const job: BulkJob = {
      jobId: newBulkJobId(),
      tenantId: principal.tenantId,
      operation: req.operation,
      object: req.object ?? null,
      query: req.query ?? null,
      plannedSql,
      contentType: req.contentType,
      compression: req.compression,
      columnDelimiter: req.columnDelimiter,
      lineEnding: req.lineEnding,
      jsonFormat: req.jsonFormat,
      externalIdField: req.externalIdField ?? null,
      state: exportNow ? 'UploadComplete' : 'Open',
      dbUser: principal.dbUser,
      createdBy: principal.credentialId,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      queuedAt: exportNow ? now.toISOString() : null,
      startedAt: null,
      completedAt: null,
      recordsProcessed: 0,
      recordsFailed: 0,
      error: null,
      upload: null,
      result: null,
      timeoutSeconds: settings.timeoutSeconds,
      statementRef: null,
      attempts: 0,
      leaseOwner: null,
      leaseExpiresAt: null,
      notBefore: null,
      expiresAt: new Date(now.getTime() + settings.jobTtlDays * 86_400_000).toISOString(),
      version: 1,
    };
    await this.stores.jobs.create(job);
    return job;
  }

  async get(principal: Principal, jobId: string): Promise<BulkJob> {
    const job = await this.stores.jobs.get(principal.tenantId, jobId);
    if (!job) throw notFound('bulk job');
    return job;
  }

  list(
    principal: Principal,
    filter: { state?: BulkJobState | undefined; operation?: BulkOperation | undefined },
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<BulkJob>> {
    return this.stores.jobs.list(principal.tenantId, filter, page);
  }

  /**
   * `UploadComplete` queues the job (an import needs its file first); `Aborted` stops it from any
   * non-terminal state: a running statement is cancelled in the warehouse (an import's transaction
   * rolls back) and every file of the job is deleted.
   */
  async setState(principal: Principal, jobId: string, to: 'UploadComplete' | 'Aborted'): Promise<BulkJob> {
    const current = await this.get(principal, jobId);
    // Exports start when created; clients that still PATCH UploadComplete get the job as it is.
    if (to === 'UploadComplete' && !isImport(current.operation)) return current;
    assertBulkTransition(current.state, to);
    if (to === 'UploadComplete') {
      const upload = isImport(current.operation)
        ? (current.upload ?? (await this.presignedUpload(current)))
        : null;
      return this.stores.jobs.transition(principal.tenantId, jobId, ['Open'], {
        state: 'UploadComplete',
        queuedAt: new Date().toISOString(),
        ...(upload && !current.upload ? { upload } : {}),
      });
    }
    const job = await this.stores.jobs.transition(
      principal.tenantId,
      jobId,
      ['Open', 'UploadComplete', 'InProgress'],
      { state: 'Aborted', completedAt: new Date().toISOString() },
    );
    if (job.statementRef) await this.deps.warehouse.cancel(job.statementRef).catch(() => false);
    await this.deps.results.deletePrefix(bulkFolder(job)).catch(() => {});
    return job;
  }

  /**
   * An upload that went straight to an object store through a presigned URL (the API never saw
   * it): found in the store when the job is started, and held to the same size cap.
   */
  private async presignedUpload(job: BulkJob): Promise<BulkJob['upload']> {
    const key = uploadKey(job);
    const object = await this.deps.results.stat(key);
    if (!object)
      throw conflict('no file has been uploaded: PUT it to the upload URL first', { state: job.state });
    if (object.sizeBytes > this.deps.settings.maxFileBytes) {
      await this.deps.results.delete(key).catch(() => {});
      throw new ApiError(
        'PAYLOAD_TOO_LARGE',
        `the file is larger than ${this.deps.settings.maxFileBytes} bytes`,
        {
          max_bytes: this.deps.settings.maxFileBytes,
        },
      );
    }
    return { key, sizeBytes: object.sizeBytes, receivedAt: object.modifiedAt };
  }

  /** A signed URL to PUT the import file to (imports in state Open). */
  async uploadUrl(
    principal: Principal,
    jobId: string,
  ): Promise<{ url: string; expiresAt: string; maxBytes: number }> {
    const job = await this.get(principal, jobId);
    if (!isImport(job.operation))
      throw conflict('exports take no upload', { state: job.state, operation: job.operation });
    if (job.state !== 'Open')
      throw conflict(`bulk job is ${job.state}; uploads are taken while it is Open`, { state: job.state });
    const url = await this.deps.uploads.issue(uploadKey(job), this.deps.settings.urlExpirySeconds);
    return { url: url.url, expiresAt: url.expiresAt, maxBytes: this.deps.settings.maxFileBytes };
  }

  /**
   * Stores an upload arriving through a signed URL (whose signature the route checked): streamed
   * into the ResultStore, refused beyond the size cap, recorded on the job only while it is Open.
   * A later PUT replaces the file.
   */
  async acceptUpload(
    tenantId: string,
    jobId: string,
    file: string,
    body: AsyncIterable<Uint8Array> | null,
  ): Promise<{ job: BulkJob; sizeBytes: number }> {
    const { results, settings } = this.deps;
    const job = await this.stores.jobs.get(tenantId, jobId);
    if (!job || !isImport(job.operation) || uploadKey(job) !== `${tenantId}/${jobId}/${file}`) {
      throw notFound('bulk job');
    }
    if (job.state !== 'Open')
      throw conflict(`bulk job is ${job.state}; uploads are taken while it is Open`, { state: job.state });
    const key = uploadKey(job);
    const writer = await results.createWriter(key);
    try {
      if (body) {
        for await (const chunk of body) {
          if (writer.bytesWritten + chunk.byteLength > settings.maxFileBytes) {
            throw new ApiError(
              'PAYLOAD_TOO_LARGE',
              `the file is larger than ${settings.maxFileBytes} bytes`,
              {
                max_bytes: settings.maxFileBytes,
              },
            );
          }
          await writer.write(chunk);
        }
      }
      if (writer.bytesWritten === 0) throw invalidRequest('the uploaded file is empty');
      const { sizeBytes } = await writer.close();
      try {
        const updated = await this.stores.jobs.transition(tenantId, jobId, ['Open'], {
          upload: { key, sizeBytes, receivedAt: new Date().toISOString() },
        });
        return { job: updated, sizeBytes };
      } catch (e) {
        // Aborted (or completed) while the file arrived: it is not kept.
        await results.delete(key).catch(() => {});
        throw e;
      }
    } catch (e) {
      await writer.abort().catch(() => {});
      throw e;
    }
  }

  async results(principal: Principal, jobId: string): Promise<BulkResults> {
    const job = await this.get(principal, jobId);
    if (job.state !== 'JobComplete' || !job.result) {
      throw new ApiError('CONFLICT', `bulk job is ${job.state}; results exist once it is JobComplete`, {
        state: job.state,
        ...(job.error ? { error: { code: job.error.code, message: job.error.message } } : {}),
      });
    }
    const { results, settings } = this.deps;
    const r = job.result;
    // HEAD before signing: a file the lifecycle removed is 410, never a URL that answers 404.
    const expired = (what: string) => resultExpired(what, { job_id: job.jobId });
    if (!isImport(job.operation)) {
      if (!(await results.stat(r.key!))) throw expired('the export file');
      const url = await results.signedUrl('GET', r.key!, settings.urlExpirySeconds, {
        filename: `${job.jobId}${exportExtension(job.contentType, job.jsonFormat, job.compression)}`,
      });
      return {
        kind: 'export',
        job,
        downloadUrl: url.url,
        expiresAt: url.expiresAt,
        sizeBytes: r.sizeBytes,
        rowCount: r.rowCount,
        sha256: r.sha256,
      };
    }
    if (!r.failedKey) return { kind: 'import', job, failedResultsUrl: null, expiresAt: null };
    if (!(await results.stat(r.failedKey))) throw expired('the failed-records file');
    const url = await results.signedUrl('GET', r.failedKey, settings.urlExpirySeconds, {
      filename: `${job.jobId}-failed.csv`,
    });
    return { kind: 'import', job, failedResultsUrl: url.url, expiresAt: url.expiresAt };
  }

  /** The failed-records CSV of a finished import, as a stream. */
  async failedResults(
    principal: Principal,
    jobId: string,
  ): Promise<{ body: AsyncIterable<Uint8Array>; sizeBytes: number }> {
    const job = await this.get(principal, jobId);
    if (!isImport(job.operation)) {
      throw conflict('exports have no failed records', { state: job.state, operation: job.operation });
    }
    if (job.state !== 'JobComplete' || !job.result?.failedKey) {
      throw conflict(`bulk job is ${job.state}; failed results exist once it is JobComplete`, {
        state: job.state,
      });
    }
    const key = job.result.failedKey;
    const stat = await this.deps.results.stat(key);
    if (!stat) throw resultExpired('the failed-records file', { job_id: job.jobId });
    return { body: await this.deps.results.read(key), sizeBytes: stat.sizeBytes };
  }

  private executionContext(principal: Principal) {
    return {
      tenantId: principal.tenantId,
      dbUser: principal.dbUser,
      timeoutMs: 30_000,
      label: 'bulk-describe',
    };
  }
}

/** `object` on an export: `table` or `schema.table`, one of the relations the query reads. */
function checkExportObject(object: string, relations: readonly string[]): void {
  const norm = (name: string) => name.replaceAll('"', '').toLowerCase();
  const wanted = norm(object.trim());
  const found = relations.some((r) => {
    const rel = norm(r);
    return rel === wanted || rel.endsWith(`.${wanted}`) || wanted.endsWith(`.${rel}`);
  });
  if (!found) {
    throw invalidRequest(
      `object "${object}" is not a table the export query reads (it reads: ${relations.join(', ') || 'no table'})`,
      { field: 'object', relations: [...relations] },
    );
  }
}
