/**
 * The query job kind: streams a job's rows as NDJSON into the ResultStore (memory bounded by the
 * batch being written and the one being fetched, whatever the row count) and records COMPLETED
 * with the result's location. A job
 * submitted with `output_format: "parquet"` also gets its Parquet file written here, beside the
 * result, so a results route without the Parquet writer (the API Lambda) only has to sign it.
 * Whatever an attempt does not finish, it deletes; the files of earlier attempts go once one completes.
 */
import { ApiError } from '../../domain/errors.js';
import type { JobError, JobResultLocation, QueryJob, ResultColumn } from '../../domain/query-job.js';
import { UNLIMITED_ROWS } from '../../domain/query-job.js';
import { createEncoder } from '../../formats/index.js';
import { exportKey, materializeExport } from '../../services/job-results.js';
import type { StateStore } from '../../state/port.js';
import type { ResultStore, ResultWriter } from '../../storage/port.js';
import type { RowSink, Warehouse } from '../../warehouse/port.js';
import type { ClaimableKind, JobKind, WorkerLog, WorkerMetrics } from '../job-kind.js';
import { claimable } from '../job-run.js';

export const QUERY_KIND = 'query';

export interface QueryKindDeps {
  state: StateStore;
  warehouse: Warehouse;
  results: ResultStore;
  log: WorkerLog;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  resultTtlMs: number;
  /** Rows per row group of a job's Parquet file (SPECTRA_BULK_PARQUET_ROW_GROUP_ROWS). */
  parquetRowGroupRows: number;
  metrics?: WorkerMetrics | undefined;
}

/** Key of a job attempt's result file: attempts never share a file, so a zombie cannot clobber a retry. */
export function resultKey(job: Pick<QueryJob, 'tenantId' | 'jobId' | 'attempts'>): string {
  return `${job.tenantId}/${job.jobId}/result-${job.attempts}.ndjson`;
}

export const jobPrefix = (job: Pick<QueryJob, 'tenantId' | 'jobId'>) => `${job.tenantId}/${job.jobId}/`;

interface QueryResult {
  key: string;
  columns: ResultColumn[];
  truncated: boolean;
  sizeBytes: number;
}

export function queryJobKind(deps: QueryKindDeps): JobKind<QueryJob, QueryResult, { rowsFetched: number }> {
  const { state, results } = deps;
  /** The export beside the result; one a failed earlier attempt left is replaced, never reused. */
  async function writeFormatted(format: 'parquet', result: JobResultLocation): Promise<void> {
    await results.delete(exportKey(result, format, 'none'));
    await materializeExport(results, result, format, 'none', {
      parquetRowGroupRows: deps.parquetRowGroupRows,
    });
  }
  return {
    name: QUERY_KIND,
    noun: 'job',
    queue: state.jobQueue,
    inactiveTenantMessage: 'the tenant is suspended or deleted; its queued jobs do not run',
    newProgress: () => ({ rowsFetched: 0 }),
    heartbeat: (p) => ({ rowsFetched: p.rowsFetched }),

    async execute(job, run) {
      if (!job.dbUser || !job.plannedSql) throw new ApiError('INTERNAL_ERROR', 'job has no statement');
      const progress = run.progress;
      const key = resultKey(job);
      // The result file opens while the statement starts (its folder and file are a few system calls
      // on the job's critical path); the first write waits for it.
      const opening = results.createWriter(key);
      opening.catch(() => {});
      let opened: ResultWriter | undefined;
      const write = (chunk: string): Promise<void> =>
        opened
          ? opened.write(chunk)
          : opening.then((w) => {
              opened = w;
              return w.write(chunk);
            });
      let closed = false;
      try {
        const encoder = createEncoder('ndjson');
        let columns: ResultColumn[] = [];
        const cap = job.rowLimit === UNLIMITED_ROWS ? undefined : job.rowLimit;
        let truncated = false;
        const sink: RowSink = {
          columns: (cols) => {
            columns = cols.map((c) => ({ name: c.name, type: c.type }));
            return write(encoder.begin(cols));
          },
          rows: (batch) => {
            if (cap !== undefined && progress.rowsFetched + batch.length > cap) {
              truncated = true;
              batch = batch.slice(0, cap - progress.rowsFetched);
            }
            progress.rowsFetched += batch.length;
            return write(encoder.encode(batch));
          },
        };
        await deps.warehouse.execute(
          {
            tenantId: job.tenantId,
            dbUser: job.dbUser,
            timeoutMs: job.timeoutSeconds * 1000,
            signal: run.signal,
            label: job.jobId,
            resultOfAnySize: true,
            ...(cap !== undefined ? { maxRows: cap + 1 } : {}),
            onStatement: run.onStatement,
          },
          { sql: job.plannedSql, params: job.params },
          sink,
        );
        await run.statementRecorded();
        await write(encoder.end());
        run.throwIfStopped();
        const { sizeBytes } = await (await opening).close();
        closed = true;
        deps.metrics?.resultBytesStored(sizeBytes);
        if (job.outputFormat) await writeFormatted(job.outputFormat, { key, columns, expiresAt: '' });
        return { key, columns, truncated, sizeBytes };
      } catch (e) {
        if (!closed) await (await opening.catch(() => undefined))?.abort().catch(() => {});
        await results.delete(key).catch(() => {});
        throw e;
      }
    },

    async complete(job, result, run) {
      const { key } = result;
      const rows = run.progress.rowsFetched;
      try {
        await state.jobs.transition(
          job.tenantId,
          job.jobId,
          ['RUNNING'],
          {
            status: 'COMPLETED',
            completedAt: new Date().toISOString(),
            rowCount: rows,
            rowsFetched: rows,
            truncated: result.truncated,
            sizeBytes: result.sizeBytes,
            executionTimeMs: Math.round(performance.now() - run.startedAt),
            result: {
              key,
              columns: result.columns,
              expiresAt: new Date(Date.now() + deps.resultTtlMs).toISOString(),
            },
            leaseOwner: null,
            leaseExpiresAt: null,
          },
          run.guard,
        );
      } catch (e) {
        await results.delete(key).catch(() => {});
        throw e;
      }
      // Files of earlier attempts (a worker that died mid-job) go now that this one is the result.
      for (const o of await results.list(jobPrefix(job)).catch(() => [])) {
        if (o.key !== key && o.key.includes('/result-')) await results.delete(o.key).catch(() => {});
      }
      deps.log.info({ job_id: job.jobId, tenant_id: job.tenantId, rows }, 'job completed');
    },

    async requeue(job, notBefore, guard) {
      await state.jobs.transition(
        job.tenantId,
        job.jobId,
        ['RUNNING'],
        {
          status: 'QUEUED',
          notBefore,
          leaseOwner: null,
          leaseExpiresAt: null,
          statementRef: null,
          rowsFetched: null,
        },
        guard,
      );
    },

    async fail(job, error: JobError, run) {
      await state.jobs.transition(
        job.tenantId,
        job.jobId,
        ['RUNNING'],
        {
          status: 'FAILED',
          completedAt: new Date().toISOString(),
          executionTimeMs: Math.round(performance.now() - run.startedAt),
          rowsFetched: run.progress.rowsFetched,
          error,
          leaseOwner: null,
          leaseExpiresAt: null,
        },
        run.guard,
      );
    },

    recordStatement: (job, ref, guard) =>
      state.jobs.transition(job.tenantId, job.jobId, ['RUNNING'], { statementRef: ref }, guard),
  };
}

/** The query kind as the worker loop claims it. */
export const claimableQueryKind = (deps: QueryKindDeps): ClaimableKind => claimable(queryJobKind(deps), deps);
