/**
 * The SQL guard: decides on PostgreSQL's own parse tree what tenant SQL may run, and writes the SQL
 * the warehouse actually runs. Pure and synchronous once `initSqlGuard()` has loaded the parser;
 * `planQueryAsync` plans large statements in worker threads instead (the only non-pure part).
 * Policy and its security levels: docs/security.md "SQL guard".
 */
export { initSqlGuard } from './parser.js';
export {
  bindParams,
  clearPlanCache,
  type PlanRequest,
  type PlanWarning,
  planCacheStats,
  planQuery,
  planQueryUncached,
  type SqlPlan,
} from './plan.js';
export {
  closePlanner,
  configurePlanner,
  DEFAULT_PLANNER_OPTIONS,
  type PlannerOptions,
  plannerStats,
  planQueryAsync,
} from './plan-async.js';
export type { PlanCacheStats } from './plan-cache.js';
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
