/**
 * Use case: run a tenant's query. ApiRequest → plan (SQL guard) → execute (Warehouse, as the
 * tenant's db user) → deliver (a sink chosen by the HTTP layer). Depends on ports only.
 */
import { ApiError, invalidRequest } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { newJobId, type QueryJob } from '../domain/query-job.js';
import { bindParams, type GuardPolicy, planQuery, type SqlPlan } from '../sql/index.js';
import type { StateStore } from '../state/port.js';
import type { ColumnInfo, Row, RowSink, Warehouse } from '../warehouse/port.js';

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
}

/** Receives the capped result as it streams. `begin` is called once, before any rows. */
export interface QueryDelivery {
  begin(columns: ColumnInfo[], job: { jobId: string; limit: number }): void | Promise<void>;
  rows(batch: Row[]): void | Promise<void>;
}

export interface QueryOutcome {
  job: QueryJob;
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
    },
  ) {}

  /** Validates limits and plans the statement; throws ApiError for the client's mistakes. */
  plan(req: QueryRequest): { plan: SqlPlan; params: unknown[]; limit: number; timeoutSeconds: number } {
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
    const plan = planQuery({ sql: req.sql, rowCap: limit }, this.deps.guardPolicy);
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
    const { plan, params, limit, timeoutSeconds } = this.plan(req);
    const tPlanned = performance.now();
    opts.timing?.('plan', tPlanned - t0);

    const jobId = newJobId();
    const submittedAt = new Date();
    const returnLimit = plan.returnLimit ?? limit;
    let columns: ColumnInfo[] = [];
    let delivered = 0;
    let truncated = false;
    const sink: RowSink = {
      columns: (cols) => {
        columns = cols;
        return delivery.begin(cols, { jobId, limit: returnLimit });
      },
      rows: (batch) => {
        const room = returnLimit - delivered;
        if (batch.length > room) {
          truncated = true;
          batch = batch.slice(0, room);
        }
        delivered += batch.length;
        return batch.length > 0 ? delivery.rows(batch) : undefined;
      },
    };

    const base = {
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
          label: jobId,
          ...(opts.signal ? { signal: opts.signal } : {}),
          onStatement: (ref) => {
            queryId = ref;
          },
        },
        { sql: plan.sql, params },
        sink,
      );
      queryId = result.statementRef;
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('INTERNAL_ERROR', 'internal error');
      const executionTimeMs = Math.round(performance.now() - tPlanned);
      opts.timing?.('db', executionTimeMs);
      await this.deps.state.jobs
        .create({
          ...base,
          status: 'FAILED',
          completedAt: new Date().toISOString(),
          rowCount: delivered,
          truncated: null,
          executionTimeMs,
          error: { code: err.code, message: err.message },
        })
        .catch(() => {});
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
    // Sync queries are recorded once, when they end: the caller learns the job id only then.
    await this.deps.state.jobs.create(job);
    return { job, columns, rowCount: delivered, truncated, executionTimeMs, queryId };
  }
}
