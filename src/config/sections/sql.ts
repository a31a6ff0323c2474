/**
 * The SQL guard and planner: security level, dialect, size limits, function and schema lists,
 * planner threads.
 */
import * as z from 'zod/mini';
import { type ConfigOf, int, list, type Setting } from '../setting.js';

export const SQL_SETTINGS = {
  sqlSecurityLevel: {
    env: 'SPECTRA_SQL_SECURITY_LEVEL',
    schema: z.enum(['strict', 'standard', 'permissive']),
    default: 'standard',
    doc: 'SQL guard level (docs/security.md has the matrix).',
  },
  sqlDialect: {
    env: 'SPECTRA_SQL_DIALECT',
    schema: z.enum(['', 'redshift', 'postgres']),
    default: '',
    doc: 'Which SQL the guard holds tenants to (docs/sql-dialect.md): `redshift` refuses PostgreSQL-only constructs with 400 UNSUPPORTED_ON_REDSHIFT; `postgres` runs them with a warning in `metadata.warnings`. Empty = `redshift` for the `redshift-data` warehouse, `postgres` otherwise (the Data API warehouse is always strict).',
  },
  sqlMaxQueryLength: {
    env: 'SPECTRA_SQL_MAX_QUERY_LENGTH',
    schema: int(1),
    default: 100_000,
    doc: 'Longest SQL text accepted, in characters.',
  },
  sqlMaxJoins: {
    env: 'SPECTRA_SQL_MAX_JOINS',
    schema: int(0),
    default: 10,
    doc: 'Most joins (explicit and comma joins) in one statement.',
  },
  sqlMaxSubqueries: {
    env: 'SPECTRA_SQL_MAX_SUBQUERIES',
    schema: int(0),
    default: 5,
    doc: 'Deepest subquery nesting.',
  },
  sqlAllowFunctions: {
    env: 'SPECTRA_SQL_ALLOW_FUNCTIONS',
    schema: list,
    default: [],
    doc: "Comma-separated functions to allow in addition to the level's allowlist.",
  },
  sqlDenyFunctions: {
    env: 'SPECTRA_SQL_DENY_FUNCTIONS',
    schema: list,
    default: [],
    doc: 'Comma-separated functions to deny even if the level allows them.',
  },
  sqlAllowedSchemas: {
    env: 'SPECTRA_SQL_ALLOWED_SCHEMAS',
    schema: list,
    default: ['public'],
    doc: 'Schemas tenants may name explicitly. System schemas are always denied.',
  },
  sqlPlannerThreads: {
    env: 'SPECTRA_SQL_PLANNER_THREADS',
    schema: int(0, 16),
    default: 1,
    doc: 'Worker threads that plan large SQL statements off the event loop (started on first use). 0 = plan every statement on the main thread.',
  },
  sqlPlannerOffloadChars: {
    env: 'SPECTRA_SQL_PLANNER_OFFLOAD_CHARS',
    schema: int(0),
    default: 4096,
    doc: 'Statements of at least this many characters are planned in a worker thread; shorter ones (about 3 ms or less) on the main thread.',
  },
} satisfies Record<string, Setting>;

export type SqlConfig = ConfigOf<typeof SQL_SETTINGS>;

type SqlDialectName = 'redshift' | 'postgres';

/**
 * The guard's `target` (what the warehouse adapter reads: Redshift through the Data API, PostgreSQL
 * otherwise) and `dialect` (SPECTRA_SQL_DIALECT, empty = the target's own).
 */
export function sqlDialects(config: Pick<SqlConfig, 'sqlDialect'> & { warehouse: string }): {
  target: SqlDialectName;
  dialect: SqlDialectName;
} {
  const target: SqlDialectName = config.warehouse === 'redshift-data' ? 'redshift' : 'postgres';
  return { target, dialect: config.sqlDialect || target };
}
