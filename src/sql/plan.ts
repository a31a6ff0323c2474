/**
 * planQuery: the SQL guard's one entry point. Tenant SQL in, a validated SqlPlan (or an ApiError)
 * out: length cap → placeholders → parse → one SELECT? → analyze → policy → row cap → deparse and
 * verify. Pure: the Planner (planner.ts) caches outcomes and plans large statements in threads.
 */
import { createHash } from 'node:crypto';
import type { SelectStmt } from 'libpg-query';
import { ApiError } from '../domain/errors.js';
import { analyzeStatement } from './analyze.js';
import { enforcePolicy } from './enforce.js';
import { applyRowCap } from './limit-rewrite.js';
import { explainParseFailure } from './parse-errors.js';
import { ParseFailure, type ParseResult } from './parser.js';
import { replacePlaceholders } from './placeholders.js';
import type { GuardPolicy, SqlDialect } from './policy.js';
import { type PostgresOnlyConstruct, postgresOnlyConstructs } from './redshift-support.js';
import {
  parseRedshift,
  type RotationUnknown,
  type SourceColumns,
  unknownRotationColumns,
} from './redshift-syntax.js';
import { renderVerified } from './render.js';
import { toPostgres } from './render-postgres.js';
import { renderRedshift } from './render-redshift.js';
import { SourceMap } from './source-map.js';
import { blockedStatementHint, statementKeyword } from './statement-kinds.js';

export interface PlanRequest {
  sql: string;
  /** Query API row cap (e.g. 10_000 → rows returned ≤ cap). Undefined = exports: no LIMIT rewrite. */
  rowCap?: number;
  /**
   * Columns of the relations a PIVOT/UNPIVOT reads without naming their columns, as the warehouse's
   * catalog showed them to the tenant (the Planner looks them up when a plan asks for them).
   */
  sourceColumns?: SourceColumns;
}

/** A construct that runs on this warehouse but would be refused on Redshift. */
export interface PlanWarning {
  code: 'NOT_SUPPORTED_ON_REDSHIFT';
  message: string;
  construct: string;
  alternative: string;
  position?: number;
}

export interface SqlPlan {
  /** Deparsed SQL that the warehouse runs, placeholders as $1..$n, in the dialect of `target`. */
  sql: string;
  target: SqlDialect;
  /** PostgreSQL-only constructs that ran anyway (the `postgres` dialect); empty otherwise. */
  warnings: PlanWarning[];
  /** paramNames[i] is the :name bound to $(i+1). */
  paramNames: string[];
  /**
   * Numbers n of the `$n` compared with SUPER values in the PostgreSQL rendering (jsonb there):
   * bindParams sends their values as JSON, so `o.status = :s` compares with the string, as on Redshift.
   */
  jsonParams: number[];
  /** Max rows to return to the client (null without a row cap); the statement may yield one more. */
  returnLimit: number | null;
  /** Relations as written (schema-qualified if written so), lower-cased; WITH query names excluded. */
  relations: string[];
  /** Functions as the parser reports them, lower-cased (`sum`, `pg_catalog.extract`). */
  functions: string[];
  statementKind: 'select';
  /** sha256 (hex, 32 chars) of `sql`: stable for audit and metrics. */
  fingerprint: string;
}

/**
 * The PostgreSQL rendering of a PIVOT/UNPIVOT over a table, a view or `SELECT *` needs the columns
 * of `relations` (name parts as written), which only the warehouse's catalog knows. Thrown once every
 * check passed; to a caller that cannot ask a catalog it is the refusal it carries.
 */
export class SourceColumnsNeeded extends ApiError {
  readonly relations: string[][];
  readonly refusal: ApiError;

  constructor(relations: string[][], refusal: ApiError) {
    super(refusal.code, refusal.message, refusal.details);
    this.relations = relations;
    this.refusal = refusal;
  }
}

/**
 * A planning outcome as the Planner caches it: the plan, the rejection to answer again, or the
 * relations whose columns would complete it (with the rejection to give without them).
 */
export type PlanOutcome = { plan: SqlPlan } | { error: ApiError } | { needs: string[][]; error: ApiError };

/**
 * Validates and rewrites one tenant statement. Synchronous, uncached (a Planner caches it);
 * throws ApiError.
 */
export function planQuery(req: PlanRequest, policy: GuardPolicy): SqlPlan {
  return planQueryUncached(req, policy);
}

/** The checks made before any parsing or cache look-up: the request's shape and the length cap. */
export function checkRequest(req: PlanRequest, policy: GuardPolicy): void {
  if (typeof req.sql !== 'string') {
    throw new ApiError('INVALID_REQUEST', 'sql must be a string', { field: 'sql' });
  }
  if (req.sql.length > policy.maxLength) {
    throw new ApiError(
      'COMPLEXITY_EXCEEDED',
      `SQL is ${req.sql.length} characters; the limit is ${policy.maxLength}`,
      {
        construct: 'length',
        limit: 'max_length',
        max: policy.maxLength,
        actual: req.sql.length,
        reason: 'statement too long',
      },
    );
  }
  if (req.rowCap !== undefined && (!Number.isSafeInteger(req.rowCap) || req.rowCap < 0)) {
    throw new ApiError('INVALID_REQUEST', 'row limit must be a non-negative integer', { field: 'limit' });
  }
}

/** planQuery under the name tests and benchmarks use for what a cache miss costs. */
export function planQueryUncached(req: PlanRequest, policy: GuardPolicy): SqlPlan {
  checkRequest(req, policy);
  const sql = req.sql;
  if (sql.trim() === '') throw emptyStatement();
  const nul = sql.indexOf('\0');
  if (nul >= 0) {
    throw new ApiError('INVALID_SQL', 'SQL must not contain NUL characters', {
      construct: 'NUL character',
      reason: 'the parser would stop reading at it',
      hint: 'remove the \\u0000 character',
      ...new SourceMap(sql, sql).fromLocation(Buffer.byteLength(sql.slice(0, nul))),
    });
  }

  let sourceMap = new SourceMap(sql, sql);
  let text = sql;
  try {
    const placeholders = replacePlaceholders(sql);
    ({ text, sourceMap } = placeholders);
    const front = parseRedshift(text, sourceMap, req.sourceColumns);
    ({ text, sourceMap } = front);
    const tree = front.tree;
    const select = singleSelect(tree, sourceMap);
    const analysis = analyzeStatement({ SelectStmt: select });
    enforcePolicy(analysis, policy, placeholders.paramNames.length, sourceMap);
    const warnings = refusePostgresOnly(
      postgresOnlyConstructs({ SelectStmt: select }, analysis),
      policy,
      sourceMap,
    );

    const capped =
      req.rowCap === undefined
        ? { statement: { SelectStmt: select }, returnLimit: null }
        : applyRowCap(select, req.rowCap);
    if (policy.target === 'postgres' && front.unknownRotations.length > 0) {
      askForSourceColumns(front.unknownRotations, req.sourceColumns !== undefined, sourceMap);
    }
    const canonical = { version: tree.version, stmts: [{ stmt: capped.statement }] };
    const jsonParams = new Set<number>();
    const rendered =
      policy.target === 'redshift'
        ? renderRedshift(canonical)
        : renderVerified(toPostgres(canonical, sourceMap, jsonParams));

    const plan: SqlPlan = {
      sql: rendered,
      target: policy.target,
      warnings: Object.freeze(warnings) as PlanWarning[],
      paramNames: Object.freeze([...placeholders.paramNames]) as string[],
      jsonParams: Object.freeze([...jsonParams].sort((a, b) => a - b)) as number[],
      returnLimit: capped.returnLimit,
      relations: Object.freeze(
        unique(analysis.relations.filter((r) => !r.cte).map((r) => r.display)),
      ) as string[],
      functions: Object.freeze(unique(analysis.functions.map((f) => f.name))) as string[],
      statementKind: 'select',
      fingerprint: createHash('sha256').update(rendered).digest('hex').slice(0, 32),
    };
    return Object.freeze(plan);
  } catch (error) {
    if (error instanceof ParseFailure) throw explainParseFailure(error, text, sourceMap);
    if (error instanceof RangeError) {
      throw new ApiError('COMPLEXITY_EXCEEDED', 'statement is nested too deeply to be validated', {
        construct: 'nesting',
        limit: 'expression_depth',
        reason: 'expressions or subqueries nested too deeply',
      });
    }
    throw error;
  }
}

const emptyStatement = () =>
  new ApiError('INVALID_SQL', 'SQL contains no statement', {
    construct: 'empty statement',
    reason: 'nothing to run (only whitespace, comments or semicolons)',
    hint: 'send one SELECT statement',
  });

function singleSelect(tree: ParseResult, sourceMap: SourceMap): SelectStmt {
  const stmts = tree.stmts ?? [];
  if (stmts.length === 0) throw emptyStatement();
  if (stmts.length > 1) {
    throw new ApiError('SQL_BLOCKED', 'multiple statements are not allowed', {
      construct: 'multiple statements',
      reason: 'exactly one statement per request',
      statements: stmts.length,
      ...sourceMap.fromLocation(stmts[1]?.stmt_location ?? 0),
    });
  }
  const stmt = (stmts[0]?.stmt ?? {}) as Record<string, unknown>;
  if (!('SelectStmt' in stmt)) {
    const keyword = statementKeyword(stmt);
    throw new ApiError('SQL_BLOCKED', `${keyword} statements are not allowed`, {
      construct: keyword,
      reason: blockedStatementHint(keyword),
      ...sourceMap.fromLocation(stmts[0]?.stmt_location ?? 0),
    });
  }
  return stmt.SelectStmt as SelectStmt;
}

const unique = (values: string[]) => [...new Set(values)];

/** Rotations the PostgreSQL rendering cannot write: the catalog columns that would complete them, or the refusal. */
function askForSourceColumns(unknown: RotationUnknown[], asked: boolean, sourceMap: SourceMap): never {
  const first = unknown[0] as RotationUnknown;
  const refusal = unknownRotationColumns(first, sourceMap);
  if (asked || unknown.some((u) => u.relations === undefined)) throw refusal;
  const relations = new Map<string, string[]>();
  for (const u of unknown) for (const parts of u.relations ?? []) relations.set(parts.join('\u0000'), parts);
  throw new SourceColumnsNeeded([...relations.values()], refusal);
}

/** The first PostgreSQL-only construct refused under the redshift dialect; otherwise each one as a warning. */
function refusePostgresOnly(
  found: PostgresOnlyConstruct[],
  policy: GuardPolicy,
  sourceMap: SourceMap,
): PlanWarning[] {
  const first = found[0];
  if (first === undefined) return [];
  if (policy.dialect === 'redshift') {
    throw new ApiError(
      'UNSUPPORTED_ON_REDSHIFT',
      `${first.construct} is PostgreSQL-only: Amazon Redshift does not support it; use ${first.alternative}`,
      {
        construct: first.construct,
        alternative: first.alternative,
        reason: 'not supported by Amazon Redshift',
        ...sourceMap.fromLocation(first.location),
      },
    );
  }
  const seen = new Set<string>();
  return found
    .filter((c) => !seen.has(c.construct) && seen.add(c.construct))
    .map((c) => ({
      code: 'NOT_SUPPORTED_ON_REDSHIFT' as const,
      message: `${c.construct} would not run on Amazon Redshift; use ${c.alternative}`,
      construct: c.construct,
      alternative: c.alternative,
      ...(sourceMap.fromLocation(c.location)
        ? { position: sourceMap.fromLocation(c.location)?.position }
        : {}),
    }));
}

type ParamValue = string | number | boolean | null;

/** Values for $1..$n in order, from `{name: value}`; every placeholder needs a value and every value a placeholder. */
export function bindParams(plan: SqlPlan, params: Record<string, ParamValue>): unknown[] {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new ApiError('INVALID_REQUEST', 'params must be an object of name → value', { field: 'params' });
  }
  const values = plan.paramNames.map((name, i) => {
    if (!Object.hasOwn(params, name)) {
      throw new ApiError('INVALID_REQUEST', `no value given for placeholder :${name}`, {
        field: 'params',
        param: name,
        reason: 'missing',
      });
    }
    const value: unknown = params[name];
    const scalar =
      value === null ||
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value));
    if (!scalar) {
      throw new ApiError(
        'INVALID_REQUEST',
        `value for :${name} must be a string, finite number, boolean or null`,
        {
          field: 'params',
          param: name,
          reason: 'not a scalar',
        },
      );
    }
    // jsonb reads its parameters as JSON text: the value's own JSON is its SUPER counterpart.
    return plan.jsonParams.includes(i + 1) && value !== null ? JSON.stringify(value) : value;
  });
  for (const name of Object.keys(params)) {
    if (!plan.paramNames.includes(name)) {
      throw new ApiError('INVALID_REQUEST', `parameter "${name}" has no :${name} placeholder in the SQL`, {
        field: 'params',
        param: name,
        reason: 'unused',
        placeholders: [...plan.paramNames],
      });
    }
  }
  return values;
}
