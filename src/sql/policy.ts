/**
 * Guard policy: what a security level allows, plus the operator's configured extras. Built once
 * from configuration with `defaultGuardPolicy` and passed by reference (its identity keys the plan cache).
 */

export type SecurityLevel = 'strict' | 'standard' | 'permissive';

export const SECURITY_LEVELS: readonly SecurityLevel[] = ['strict', 'standard', 'permissive'];

/** A SQL dialect: what the warehouse reads (`target`) or which constructs are refused (`dialect`). */
export type SqlDialect = 'redshift' | 'postgres';

export const SQL_DIALECTS: readonly SqlDialect[] = ['redshift', 'postgres'];

export interface GuardPolicy {
  level: SecurityLevel;
  /** Longest SQL text accepted, in characters; checked before any parsing. */
  maxLength: number;
  /** Joins in the whole statement: explicit JOINs plus comma joins, in every subquery. */
  maxJoins: number;
  /** Subquery nesting: the top-level SELECT is 0, a subquery inside it 1, and so on. */
  maxDepth: number;
  /** Extra allowed functions, lower-case; `schema.name` allows only that qualified call. */
  allowFunctions: string[];
  /** Extra denied functions, lower-case; a bare name denies it in every schema. */
  denyFunctions: string[];
  /** Schemas tenants may name explicitly. Unqualified names are allowed unless they look like system relations. */
  allowedSchemas: string[];
  /** The warehouse's language: the SQL a plan carries is rendered for it. */
  target: SqlDialect;
  /**
   * `redshift`: PostgreSQL-only constructs are refused (UNSUPPORTED_ON_REDSHIFT); `postgres`: they
   * run with a warning. Always `redshift` when the target is.
   */
  dialect: SqlDialect;
}

/** What each level permits beyond its function allowlist (see docs/security.md for the matrix). */
export interface LevelRules {
  subqueries: boolean;
  ctes: boolean;
  setOperations: boolean;
  windowFunctions: boolean;
  /** Functions in FROM (`generate_series(…)`, `unnest(…)`, `ROWS FROM`, `XMLTABLE`). */
  tableFunctions: boolean;
  defaults: { maxJoins: number; maxDepth: number };
}

export const LEVEL_RULES: Readonly<Record<SecurityLevel, LevelRules>> = {
  strict: {
    subqueries: false,
    ctes: false,
    setOperations: false,
    windowFunctions: false,
    tableFunctions: false,
    defaults: { maxJoins: 5, maxDepth: 0 },
  },
  standard: {
    subqueries: true,
    ctes: true,
    setOperations: true,
    windowFunctions: true,
    tableFunctions: true,
    defaults: { maxJoins: 10, maxDepth: 5 },
  },
  permissive: {
    subqueries: true,
    ctes: true,
    setOperations: true,
    windowFunctions: true,
    tableFunctions: true,
    defaults: { maxJoins: 20, maxDepth: 10 },
  },
};

export const DEFAULT_MAX_LENGTH = 100_000;

const lowerAll = (names: readonly string[]) =>
  names.map((n) => n.trim().toLowerCase()).filter((n) => n !== '');

/**
 * The policy for a level (default `standard`) with the level's complexity defaults, overridden by
 * whatever configuration supplies. The result is frozen: the plan cache keys on its identity.
 */
export function defaultGuardPolicy(overrides: Partial<GuardPolicy> = {}): GuardPolicy {
  const level = overrides.level ?? 'standard';
  if (!SECURITY_LEVELS.includes(level)) {
    throw new TypeError(
      `unknown SQL security level "${String(level)}" (expected ${SECURITY_LEVELS.join(', ')})`,
    );
  }
  const rules = LEVEL_RULES[level];
  const policy: GuardPolicy = {
    level,
    maxLength: overrides.maxLength ?? DEFAULT_MAX_LENGTH,
    maxJoins: overrides.maxJoins ?? rules.defaults.maxJoins,
    maxDepth: overrides.maxDepth ?? rules.defaults.maxDepth,
    allowFunctions: Object.freeze(lowerAll(overrides.allowFunctions ?? [])) as string[],
    denyFunctions: Object.freeze(lowerAll(overrides.denyFunctions ?? [])) as string[],
    allowedSchemas: Object.freeze(lowerAll(overrides.allowedSchemas ?? ['public'])) as string[],
    target: overrides.target ?? 'postgres',
    dialect:
      overrides.target === 'redshift' ? 'redshift' : (overrides.dialect ?? overrides.target ?? 'postgres'),
  };
  for (const key of ['target', 'dialect'] as const) {
    if (!SQL_DIALECTS.includes(policy[key])) {
      throw new TypeError(
        `unknown SQL ${key} "${String(policy[key])}" (expected ${SQL_DIALECTS.join(', ')})`,
      );
    }
  }
  for (const key of ['maxLength', 'maxJoins', 'maxDepth'] as const) {
    if (!Number.isInteger(policy[key]) || policy[key] < 0) {
      throw new TypeError(
        `SQL guard policy ${key} must be a non-negative integer, got ${String(policy[key])}`,
      );
    }
  }
  return Object.freeze(policy);
}
