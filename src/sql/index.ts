/**
 * The SQL guard: decides on PostgreSQL's own parse tree what tenant SQL may run, and writes the SQL
 * the warehouse actually runs. Pure and synchronous once `initSqlGuard()` has loaded the parser;
 * a `Planner` caches plans and plans large statements in worker threads (the only non-pure part).
 * Policy and its security levels: docs/security.md "SQL guard".
 */
export { initSqlGuard } from './parser.js';
export {
  bindParams,
  type PlanRequest,
  type PlanWarning,
  planQuery,
  planQueryUncached,
  type SqlPlan,
} from './plan.js';
export type { PlanCacheStats } from './plan-cache.js';
export {
  DEFAULT_PLANNER_OPTIONS,
  type PlannedRequest,
  Planner,
  type PlannerOptions,
  type RequestRules,
  type SourceCatalog,
  type StatementRequest,
} from './planner.js';
export type { PlannerPoolStats } from './planner-pool.js';
export {
  DEFAULT_MAX_LENGTH,
  defaultGuardPolicy,
  type GuardPolicy,
  SECURITY_LEVELS,
  type SecurityLevel,
  SQL_DIALECTS,
  type SqlDialect,
} from './policy.js';
