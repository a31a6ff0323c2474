/**
 * Use case: run a tenant's query. QueryRequest → plan (Planner: request checks, SQL guard) →
 * execute (Warehouse, as the tenant's db user, rows delivered to a sink the HTTP layer chose) →
 * record (the job). Depends on ports only.
 */
import { ApiError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { newJobId, type QueryJob } from '../domain/query-job.js';
import type { PlannedRequest, Planner, PlanWarning, SqlPlan } from '../sql/index.js';
import type { StateStore } from '../state/port.js';
import type { ColumnInfo, ResultMemoryAccount, Row, RowSink, Warehouse } from '../warehouse/port.js';
import { queryJobRecord } from './query-job-record.js';
import type { ResultMemoryBudget } from './result-memory-budget.js';
import { tenantSourceCatalog } from './source-catalog.js';

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
  jobRetentionDays: number;
  /**
   * Cap on a sync result's size, enforced as rows arrive (the warehouse stops there) and on the
   * JSON estimate; rows past it are cut (`truncated: true`).
   */
  maxResultBytes?: number | undefined;
}

/** What one call of the pipeline learnt, for its caller's records (an HTTP request's audit entry and log lines). */
export interface QueryFacts {
  jobId?: string;
  jobStatus?: string;
  fingerprint?: string;
  /** Deparsed SQL, or the start of the submitted text when the guard refused it. */
  sql?: string;
  paramNames?: string[];
  rowCount?: number;
  errorCode?: string;
}

/**
 * Told what a query did, for metrics and the audit trail, with the calling request's facts to fill
 * in when there is one; must not throw or block.
 */
export interface QueryObserver {
  /** The SQL guard accepted the statement. */
  planned?(plan: SqlPlan, facts?: QueryFacts): void;
  /** The request was refused before running (SQL guard, limits). */
  refused?(err: ApiError, sql: string, facts?: QueryFacts): void;
  /** The query's job record was written (COMPLETED or FAILED). */
  finished?(job: QueryJob, facts?: QueryFacts): void;
}

/** Per call: cancellation, Server-Timing, the request's facts, and when its response is written. */
export interface QueryCallOptions {
  signal?: AbortSignal | undefined;
  timings?: StageTimings | undefined;
  facts?: QueryFacts | undefined;
  /** Settles when the response carrying the rows has been written (the rows' memory is held until then). */
  responseWritten?: Promise<unknown> | undefined;
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

/** Where the pipeline's stage durations go: the request's Server-Timing (http/phase-timings.ts). */
export interface StageTimings {
  add(stage: 'plan' | 'db', ms: number): void;
}

export class QueryService {
  constructor(
    private readonly deps: {
      warehouse: Warehouse;
      state: StateStore;
      planner: Planner;
      limits: QueryLimits;
      observer?: QueryObserver | undefined;
      /** The process's result memory; sync results pay for their rows until the response is written. */
      resultMemory?: ResultMemoryBudget | undefined;
    },
  ) {}

  /**
   * Runs a synchronous query, streaming at most `limit` rows into `delivery`, and records it as a
   * job: plan → execute → record, the first two timed into `timings`.
   */
  async runSync(
    principal: Principal,
    req: QueryRequest,
    delivery: QueryDelivery,
    opts: QueryCallOptions = {},
  ): Promise<QueryOutcome> {
    const t0 = performance.now();
    const planned = await this.planStage(principal, req, opts.facts);
    const tPlanned = performance.now();
    opts.timings?.add('plan', tPlanned - t0);

    const jobId = newJobId();
    const submittedAt = new Date();
    const { plan, limit, timeoutSeconds } = planned;
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

    let queryId = '';
    let failed = false;
    let failure: unknown;
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
        { sql: plan.sql, params: planned.params },
        sink,
      );
      queryId = result.statementRef;
      if (result.stoppedAtMaxBytes) truncated = true;
    } catch (e) {
      failed = true;
      failure = e;
      memory?.account.close();
    }
    const executionTimeMs = Math.round(performance.now() - tPlanned);
    opts.timings?.add('db', executionTimeMs);

    const retentionDays = this.deps.limits.jobRetentionDays;
    if (failed) {
      const job = queryJobRecord(jobId, principal, req.sql, planned, submittedAt, retentionDays, {
        status: 'FAILED',
        rowCount: delivered,
        executionTimeMs,
        error: failure,
      });
      await this.deps.state.jobs.create(job).catch(() => {});
      this.deps.observer?.finished?.(job, opts.facts);
      throw failure;
    }
    if (memory) {
      const written = memory.handsOn ? undefined : opts.responseWritten;
      if (written) written.then(memory.account.close, memory.account.close);
      else memory.account.close();
    }
    const job = queryJobRecord(jobId, principal, req.sql, planned, submittedAt, retentionDays, {
      status: 'COMPLETED',
      rowCount: delivered,
      truncated,
      executionTimeMs,
    });
    // Sync queries are recorded once, when they end: the caller learns the job id only then.
    await this.deps.state.jobs.create(job);
    this.deps.observer?.finished?.(job, opts.facts);
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

  /** The request checks and the SQL guard; refusals are told to the observer. */
  private async planStage(
    principal: Principal,
    req: QueryRequest,
    facts: QueryFacts | undefined,
  ): Promise<PlannedRequest<number>> {
    const observer = this.deps.observer;
    let planned: PlannedRequest<number>;
    try {
      planned = await this.deps.planner.planRequest(
        req,
        this.deps.limits,
        tenantSourceCatalog(this.deps.warehouse, principal),
      );
    } catch (e) {
      if (e instanceof ApiError) observer?.refused?.(e, req.sql, facts);
      throw e;
    }
    observer?.planned?.(planned.plan, facts);
    return planned;
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
