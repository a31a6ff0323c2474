/**
 * Use case: run a tenant's query. ApiRequest → plan (SQL guard) → execute (Warehouse, as the
 * tenant's db user) → deliver (a sink chosen by the HTTP layer). Depends on ports only.
 */
import { ApiError, invalidRequest } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { asyncFieldsUnset, newJobId, type QueryJob } from '../domain/query-job.js';
import {
  bindParams,
  type GuardPolicy,
  type PlanWarning,
  planQueryAsync,
  type SqlPlan,
} from '../sql/index.js';
import type { StateStore } from '../state/port.js';
import type { ColumnInfo, ResultMemoryAccount, Row, RowSink, Warehouse } from '../warehouse/port.js';
import type { ResultMemoryBudget } from './result-memory-budget.js';

/**
 * What a synchronous result costs in memory per byte read while the response is built whole: the
 * rows, the envelope's text and its UTF-8 bytes.
 */
const RETAINED_RESULT_COPIES = 3;

export type ParamValue = string | number | boolean | null;

export interface QueryRequest {
  sql: string;
  params: Record<string, ParamValue>;
  limit?: number | undefined;
  timeoutSeconds?: number | undefined;
}

export interface QueryLimits {
  defaultRows: number;
  maxRows: number;
  defaultTimeoutSeconds: number;
  maxTimeoutSeconds: number;
  maxSqlLength: number;
  jobRetentionDays: number;
  /**
   * Cap on a sync result's size, enforced as rows arrive (the warehouse stops there) and on the
   * JSON estimate; rows past it are cut (`truncated: true`).
   */
  maxResultBytes?: number | undefined;
}

/** Told what a query did, for metrics and the audit trail; must not throw or block. */
export interface QueryObserver {
  /** The SQL guard accepted the statement. */
  planned?(plan: SqlPlan): void;
  /** The request was refused before running (SQL guard, limits). */
  refused?(err: ApiError, sql: string): void;
  /** The query's job record was written (COMPLETED or FAILED). */
  finished?(job: QueryJob): void;
}

/** Receives the capped result as it streams. `begin` is called once, before any rows. */
export interface QueryDelivery {
  begin(columns: ColumnInfo[], job: { jobId: string; limit: number }): void | Promise<void>;
  /**
   * Returning a promise hands the rows on: once it settles their memory goes back to the process
   * budget. Returning nothing keeps them (a response built whole) until the response is written.
   */
  rows(batch: Row[]): void | Promise<void>;
}

export interface QueryOutcome {
  job: QueryJob;
  /** Constructs that ran here but would not on Redshift (the `postgres` SQL dialect). */
  warnings: PlanWarning[];
  columns: ColumnInfo[];
  rowCount: number;
  truncated: boolean;
  executionTimeMs: number;
  queryId: string;
}

export type PhaseTimer = (phase: 'plan' | 'db', ms: number) => void;

export class QueryService {
  constructor(
    private readonly deps: {
      warehouse: Warehouse;
      state: StateStore;
      guardPolicy: GuardPolicy;
      limits: QueryLimits;
      observer?: QueryObserver | undefined;
      /** The process's result memory; sync results pay for their rows until the response is written. */
      resultMemory?: ResultMemoryBudget | undefined;
      /** Settles when the current request's response has been written (undefined outside a request). */
      responseWritten?: (() => Promise<unknown> | undefined) | undefined;
    },
  ) {}

  /** Validates limits and plans the statement (large ones off the event loop); rejects with ApiError. */
  async plan(
    req: QueryRequest,
  ): Promise<{ plan: SqlPlan; params: unknown[]; limit: number; timeoutSeconds: number }> {
    const { limits } = this.deps;
    if (req.sql.length > limits.maxSqlLength) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `sql is longer than ${limits.maxSqlLength} characters`, {
        field: 'sql',
        max_length: limits.maxSqlLength,
      });
    }
    const limit = req.limit ?? limits.defaultRows;
    if (limit > limits.maxRows) {
      throw invalidRequest(`limit must be at most ${limits.maxRows}; use the Bulk API for larger results`, {
        field: 'limit',
        max: limits.maxRows,
      });
    }
    const timeoutSeconds = req.timeoutSeconds ?? limits.defaultTimeoutSeconds;
    if (timeoutSeconds > limits.maxTimeoutSeconds) {
      throw invalidRequest(`timeout_seconds must be at most ${limits.maxTimeoutSeconds}`, {
        field: 'timeout_seconds',
        max: limits.maxTimeoutSeconds,
      });
    }
    const plan = await planQueryAsync({ sql: req.sql, rowCap: limit }, this.deps.guardPolicy);
    const params = bindParams(plan, req.params);
    return { plan, params, limit, timeoutSeconds };
  }

  /** Runs a synchronous query, streaming at most `limit` rows into `delivery`, and records it as a job. */
  async runSync(
    principal: Principal,
    req: QueryRequest,
    delivery: QueryDelivery,
    opts: { signal?: AbortSignal; timing?: PhaseTimer } = {},
  ): Promise<QueryOutcome> {
    const t0 = performance.now();
    const observer = this.deps.observer;
    let planned: Awaited<ReturnType<QueryService['plan']>>;
    try {
      planned = await this.plan(req);
    } catch (e) {
      if (e instanceof ApiError) observer?.refused?.(e, req.sql);
      throw e;
    }
    const { plan, params, limit, timeoutSeconds } = planned;
    observer?.planned?.(plan);
    const tPlanned = performance.now();
    opts.timing?.('plan', tPlanned - t0);

    const jobId = newJobId();
    const submittedAt = new Date();
    const returnLimit = plan.returnLimit ?? limit;
    let columns: ColumnInfo[] = [];
    let delivered = 0;
    let truncated = false;
    const memory = this.openResultMemory(opts.signal);
    // A cap the process budget could never hold would turn every large result into a 503: cut it there.
    const byteBudget = memory
      ? Math.min(memory.capBytes, this.deps.limits.maxResultBytes ?? Infinity)
      : this.deps.limits.maxResultBytes;
    let bytesLeft = byteBudget ?? 0;
    const sink: RowSink = {
      columns: (cols) => {
        columns = cols;
        if (byteBudget) bytesLeft -= cols.reduce((n, c) => n + c.name.length + 4, 0);
        return delivery.begin(cols, { jobId, limit: returnLimit });
      },
      rows: (batch) => {
        const room = returnLimit - delivered;
        if (batch.length > room) {
          truncated = true;
          batch = batch.slice(0, room);
        }
        if (byteBudget) {
          const fit = rowsWithin(batch, columns, bytesLeft);
          if (fit.rows < batch.length) {
            truncated = true;
            batch = batch.slice(0, fit.rows);
          }
          bytesLeft -= fit.bytes;
        }
        delivered += batch.length;
        const handed = batch.length > 0 ? delivery.rows(batch) : undefined;
        if (handed && memory) memory.handsOn = true;
        return handed;
      },
    };

    const base = {
      ...asyncFieldsUnset(),
      jobId,
      tenantId: principal.tenantId,
      sql: req.sql,
      plannedSql: plan.sql,
      async: false,
      rowLimit: limit,
      timeoutSeconds,
      submittedAt: submittedAt.toISOString(),
      startedAt: submittedAt.toISOString(),
      statementRef: null,
      submittedBy: principal.credentialId,
      expiresAt: new Date(
        submittedAt.getTime() + this.deps.limits.jobRetentionDays * 86_400_000,
      ).toISOString(),
      version: 1,
    };
    let queryId = '';
    try {
      const result = await this.deps.warehouse.execute(
        {
          tenantId: principal.tenantId,
          dbUser: principal.dbUser,
          timeoutMs: timeoutSeconds * 1000,
          maxRows: returnLimit + 1,
          boundedByStatement: plan.returnLimit !== null,
          label: jobId,
          ...(byteBudget ? { maxResultBytes: byteBudget } : {}),
          ...(memory ? { resultMemory: memory.account } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
          onStatement: (ref) => {
            queryId = ref;
          },
        },
        { sql: plan.sql, params },
        sink,
      );
      queryId = result.statementRef;
      if (result.stoppedAtMaxBytes) truncated = true;
    } catch (e) {
      memory?.account.close();
      const err = e instanceof ApiError ? e : new ApiError('INTERNAL_ERROR', 'internal error');
      const executionTimeMs = Math.round(performance.now() - tPlanned);
      opts.timing?.('db', executionTimeMs);
      const failed: QueryJob = {
        ...base,
        status: 'FAILED',
        completedAt: new Date().toISOString(),
        rowCount: delivered,
        truncated: null,
        executionTimeMs,
        error: { code: err.code, message: err.message },
      };
      await this.deps.state.jobs.create(failed).catch(() => {});
      observer?.finished?.(failed);
      throw e;
    }
    const executionTimeMs = Math.round(performance.now() - tPlanned);
    opts.timing?.('db', executionTimeMs);
    const job: QueryJob = {
      ...base,
      status: 'COMPLETED',
      completedAt: new Date().toISOString(),
      rowCount: delivered,
      truncated,
      executionTimeMs,
      error: null,
    };
    if (memory) {
      const written = memory.handsOn ? undefined : this.deps.responseWritten?.();
      if (written) written.then(memory.account.close, memory.account.close);
      else memory.account.close();
    }
    // Sync queries are recorded once, when they end: the caller learns the job id only then.
    await this.deps.state.jobs.create(job);
    observer?.finished?.(job);
    return {
      job,
      warnings: plan.warnings,
      columns,
      rowCount: delivered,
      truncated,
      executionTimeMs,
      queryId,
    };
  }

  /**
   * The query's account: bytes are reserved as rows arrive, weighted for the copies a response
   * built whole makes, and handed back per batch only once the delivery proved it streams.
   */
  private openResultMemory(
    signal: AbortSignal | undefined,
  ): { account: ResultMemoryAccount; capBytes: number; handsOn: boolean } | undefined {
    const budget = this.deps.resultMemory;
    if (!budget) return undefined;
    const inner = budget.open(signal, { weight: RETAINED_RESULT_COPIES });
    const memory = {
      handsOn: false,
      capBytes: Math.floor(budget.opts.capacityBytes / RETAINED_RESULT_COPIES),
      account: {
        fetchBytes: inner.fetchBytes,
        reserve: (bytes: number) => inner.reserve(bytes),
        release: (bytes: number) => {
          if (memory.handsOn) inner.release(bytes);
        },
        close: () => inner.close(),
      },
    };
    return memory;
  }
}

/**
 * How many leading rows of `batch` fit in `budget` bytes of JSON (an estimate: the envelope
 * repeats column names per row; strings count their length plus quoting).
 */
function rowsWithin(batch: Row[], columns: ColumnInfo[], budget: number): { rows: number; bytes: number } {
  const perRow = columns.reduce((n, c) => n + c.name.length + 4, 2);
  let bytes = 0;
  for (let i = 0; i < batch.length; i++) {
    let size = perRow;
    for (const v of batch[i]!) {
      if (typeof v === 'string') size += v.length + 2;
      else if (v === null || typeof v === 'number' || typeof v === 'boolean') size += 8;
      else size += JSON.stringify(v)?.length ?? 4;
    }
    if (bytes + size > budget) return { rows: i, bytes };
    bytes += size;
  }
  return { rows: batch.length, bytes };
}
