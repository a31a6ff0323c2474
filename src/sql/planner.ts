/**
 * The planning stage as one object: a Planner owns the guard policy, the plan cache, the worker
 * threads that plan large statements off the event loop, and the statements being planned there.
 * The composition root builds one per process and hands it to the services; `planRequest` is how
 * a request comes in: the request checks (length, limit, timeout), the SQL guard, the parameters.
 */
import { ApiError, invalidRequest, isApiError } from '../domain/errors.js';
import {
  bindParams,
  checkRequest,
  type PlanOutcome,
  type PlanRequest,
  planQuery,
  SourceColumnsNeeded,
  type SqlPlan,
} from './plan.js';
import { PlanCache, type PlanCacheStats } from './plan-cache.js';
import { PlannerPool, type PlannerPoolStats } from './planner-pool.js';
import type { GuardPolicy } from './policy.js';
import { relationKey } from './redshift-syntax.js';

/**
 * The warehouse's catalog as one tenant sees it: the columns of relations, in column order, read
 * with the tenant's own privileges. Throws an ApiError (naming no column) for a relation that does
 * not exist or that the tenant cannot read whole.
 */
export interface SourceCatalog {
  columnsOf(relations: readonly string[][]): Promise<string[][]>;
}

export interface PlannerOptions {
  /** Worker threads for large statements; 0 plans everything on the calling thread. */
  threads: number;
  /** Statements of at least this many characters are planned in a worker thread. */
  offloadChars: number;
}

/**
 * Measured (docs/security.md "Cost"): below 4 KB in-thread planning stays under ~3 ms even with
 * placeholders, while the hand-off to a thread costs ~0.1–0.4 ms.
 */
export const DEFAULT_PLANNER_OPTIONS: Readonly<PlannerOptions> = { threads: 1, offloadChars: 4_096 };

type ParamValue = string | number | boolean | null;

/** A statement as an API request carries it. */
export interface StatementRequest {
  sql: string;
  params: Record<string, ParamValue>;
  limit?: number | undefined;
  timeoutSeconds?: number | undefined;
}

/** What one API surface allows; the SQL length cap is the policy's `maxLength`. */
export interface RequestRules<Rows extends number | undefined = number | undefined> {
  /** Rows when the request sets no `limit`; undefined keeps every row (no LIMIT rewrite). */
  defaultRows: Rows;
  /** Largest `limit`; undefined for none. */
  maxRows?: number | undefined;
  defaultTimeoutSeconds: number;
  maxTimeoutSeconds: number;
  /** Names the request in the timeout error (`timeout_seconds of an async job must be…`). */
  timeoutSubject?: string | undefined;
}

export interface PlannedRequest<Rows extends number | undefined = number | undefined> {
  plan: SqlPlan;
  /** Values for `$1..$n` of `plan.sql`. */
  params: unknown[];
  limit: number | Rows;
  timeoutSeconds: number;
}

export class Planner {
  readonly policy: GuardPolicy;
  private readonly options: PlannerOptions;
  private readonly cache = new PlanCache<PlanOutcome>();
  /** Statements being planned in a thread, so identical concurrent requests share one parse. */
  private readonly inFlight = new Map<string, Promise<PlanOutcome>>();
  private pool: PlannerPool | undefined;

  constructor(policy: GuardPolicy, options: Partial<PlannerOptions> = {}) {
    const merged = { ...DEFAULT_PLANNER_OPTIONS, ...options };
    for (const key of ['threads', 'offloadChars'] as const) {
      if (!Number.isSafeInteger(merged[key]) || merged[key] < 0) {
        throw new TypeError(`planner ${key} must be a non-negative integer, got ${String(merged[key])}`);
      }
    }
    this.policy = policy;
    this.options = merged;
  }

  /**
   * A request's plan: the length, limit and timeout checks (one error code each), the SQL guard
   * (cached; large statements in a thread), then the parameters bound.
   */
  async planRequest<Rows extends number | undefined>(
    req: StatementRequest,
    rules: RequestRules<Rows>,
    catalog?: SourceCatalog,
  ): Promise<PlannedRequest<Rows>> {
    this.checkLength(req.sql, 'sql');
    const limit: number | Rows = req.limit ?? rules.defaultRows;
    if (rules.maxRows !== undefined && limit !== undefined && limit > rules.maxRows) {
      throw invalidRequest(`limit must be at most ${rules.maxRows}; use the Bulk API for larger results`, {
        field: 'limit',
        max: rules.maxRows,
      });
    }
    const timeoutSeconds = req.timeoutSeconds ?? rules.defaultTimeoutSeconds;
    if (timeoutSeconds > rules.maxTimeoutSeconds) {
      const subject = rules.timeoutSubject ? ` ${rules.timeoutSubject}` : '';
      throw invalidRequest(`timeout_seconds${subject} must be at most ${rules.maxTimeoutSeconds}`, {
        field: 'timeout_seconds',
        max: rules.maxTimeoutSeconds,
      });
    }
    const plan = await this.plan(
      limit === undefined ? { sql: req.sql } : { sql: req.sql, rowCap: limit },
      catalog,
    );
    return { plan, params: bindParams(plan, req.params), limit, timeoutSeconds };
  }

  /** SQL over the policy's length cap is 413, named by the request field that holds it. */
  checkLength(sql: string, field: 'sql' | 'query'): void {
    const max = this.policy.maxLength;
    if (sql.length > max) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `${field} is longer than ${max} characters`, {
        field,
        max_length: max,
      });
    }
  }

  /**
   * The guard's plan for one statement: from the cache, on this thread when small, else in a thread.
   * A PIVOT/UNPIVOT over a table or `SELECT *` is completed with the source's columns as `catalog`
   * tells them (the tenant's view of the warehouse catalog), then planned again with every check.
   */
  async plan(req: PlanRequest, catalog?: SourceCatalog): Promise<SqlPlan> {
    const outcome = await this.outcome(req);
    if ('plan' in outcome) return outcome.plan;
    if ('needs' in outcome && catalog !== undefined && req.sourceColumns === undefined) {
      const columns = await catalog.columnsOf(outcome.needs);
      const sourceColumns: Record<string, readonly string[]> = {};
      outcome.needs.forEach((parts, i) => {
        sourceColumns[relationKey(parts)] = columns[i] ?? [];
      });
      return this.plan({ ...req, sourceColumns });
    }
    throw fresh(outcome.error);
  }

  /** The guard's plan on the calling thread, through the cache (what a cache hit costs). */
  planSync(req: PlanRequest): SqlPlan {
    checkRequest(req, this.policy);
    const key = cacheKey(req);
    const outcome = this.cache.get(key) ?? this.planHere(key, req);
    if ('plan' in outcome) return outcome.plan;
    throw fresh(outcome.error);
  }

  /** The planning outcome for `req`: cached, planned here, or planned in a thread (never an ApiError thrown). */
  private async outcome(req: PlanRequest): Promise<PlanOutcome> {
    checkRequest(req, this.policy);
    const key = cacheKey(req);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    if (this.options.threads === 0 || req.sql.length < this.options.offloadChars) {
      return this.planHere(key, req);
    }
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      this.pool ??= new PlannerPool({ size: this.options.threads });
      pending = this.pool.plan(req, this.policy).then((outcome) => {
        this.inFlight.delete(key);
        this.remember(key, outcome);
        return outcome;
      });
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  stats(): PlannerPoolStats & PlannerOptions {
    return { ...this.options, ...(this.pool?.stats() ?? { running: 0, busy: 0, queued: 0 }) };
  }

  cacheStats(): PlanCacheStats {
    return this.cache.stats();
  }

  /** Terminates the planner threads (they restart on the next large statement). */
  async close(): Promise<void> {
    const closing = this.pool;
    this.pool = undefined;
    await closing?.close();
  }

  private planHere(key: string, req: PlanRequest): PlanOutcome {
    let outcome: PlanOutcome;
    try {
      outcome = { plan: planQuery(req, this.policy) };
    } catch (error) {
      if (error instanceof SourceColumnsNeeded) outcome = { needs: error.relations, error: error.refusal };
      else if (isApiError(error)) outcome = { error };
      else throw error;
    }
    this.remember(key, outcome);
    return outcome;
  }

  /** Caches a plan or a client-caused rejection (internal errors are never cached). */
  private remember(key: string, outcome: PlanOutcome): void {
    if ('plan' in outcome) this.cache.set(key, outcome, key.length + outcome.plan.sql.length);
    else if (outcome.error.code !== 'INTERNAL_ERROR') this.cache.set(key, outcome, key.length);
  }
}

/**
 * One planner, one policy: the row cap and the text decide the plan, and the catalog columns when
 * a rotation needed them (so a changed table never gets a plan made for its old columns).
 */
const cacheKey = (req: PlanRequest) =>
  req.sourceColumns === undefined
    ? `${req.rowCap ?? '-'}\n${req.sql}`
    : `${req.rowCap ?? '-'}\n${JSON.stringify(req.sourceColumns)}\n${req.sql}`;

/** Each caller gets its own error: callers of the same statement must not share mutable details. */
const fresh = (error: ApiError) => new ApiError(error.code, error.message, structuredClone(error.details));
