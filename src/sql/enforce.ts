/**
 * Policy decisions over an analysis. The first violation, in a fixed order (always-blocked
 * constructs, relations and functions; then the level's structural rules; then the function
 * allowlist; then complexity), becomes the ApiError; details name the construct, the reason, and
 * where it is.
 */
import { ApiError, type ErrorCode } from '../domain/errors.js';
import type { StatementAnalysis } from './analyze.js';
import { judgeFunction } from './functions.js';
import { type GuardPolicy, LEVEL_RULES } from './policy.js';
import { CATALOG_LOOKUP_TYPE, judgeRelation } from './relations.js';
import type { SourceMap } from './source-map.js';

/** The built-in sampling methods; extension methods (`system_time`) can run for as long as they are told. */
const SAMPLE_METHODS = new Set(['bernoulli', 'system']);

export function enforcePolicy(
  analysis: StatementAnalysis,
  policy: GuardPolicy,
  paramCount: number,
  sourceMap: SourceMap,
): void {
  const fail = (
    code: ErrorCode,
    message: string,
    details: Record<string, unknown>,
    location?: number,
  ): never => {
    throw new ApiError(code, message, { ...details, ...sourceMap.fromLocation(location) });
  };

  if (analysis.selectInto) {
    fail(
      'SQL_BLOCKED',
      'SELECT … INTO is not allowed',
      { construct: 'SELECT INTO', reason: 'creates a table' },
      analysis.selectInto.location,
    );
  }
  for (const lock of analysis.lockingClauses) {
    fail('SQL_BLOCKED', `${lock.clause} is not allowed`, {
      construct: lock.clause,
      reason: 'takes row locks',
    });
  }
  for (const cte of analysis.modifyingCtes) {
    const kind = cte.kind.replace(/Stmt$/, '').toUpperCase();
    fail(
      'SQL_BLOCKED',
      `data-modifying WITH query "${cte.name}" (${kind}) is not allowed`,
      { construct: `WITH … ${kind}`, cte: cte.name, reason: 'data-modifying WITH queries change data' },
      cte.location,
    );
  }
  for (const column of analysis.crossDatabaseColumns) {
    fail(
      'SQL_BLOCKED',
      `cross-database reference ${column.name} is not allowed`,
      { construct: 'column', column: column.name, reason: 'cross-database reference' },
      column.location,
    );
  }
  for (const relation of analysis.relations) {
    const verdict = judgeRelation(relation, policy);
    if (!verdict.allowed) {
      fail(
        'SQL_BLOCKED',
        `relation ${relation.display} is not allowed: ${verdict.reason}`,
        { construct: 'relation', relation: relation.display, reason: verdict.reason },
        relation.location,
      );
    }
  }
  for (const type of analysis.typeNames) {
    if (CATALOG_LOOKUP_TYPE.test(type.name)) {
      fail(
        'SQL_BLOCKED',
        `type ${type.name} is not allowed: it looks up the system catalog`,
        { construct: 'type', type: type.name, reason: 'system catalog lookup' },
        type.location,
      );
    }
  }
  for (const sample of analysis.sampleMethods) {
    if (!SAMPLE_METHODS.has(sample.name)) {
      fail(
        'SQL_BLOCKED',
        `TABLESAMPLE ${sample.name} is not allowed`,
        { construct: 'TABLESAMPLE', method: sample.name, reason: 'only BERNOULLI and SYSTEM sampling' },
        sample.location,
      );
    }
  }
  // Always-blocked and denied functions first; a plain "not in the allowlist" waits until the
  // level's structural rules have had their say (strict: "window function … OVER" says more than "rank").
  const verdicts = analysis.functions.map((fn) => ({ fn, verdict: judgeFunction(fn.parts, policy) }));
  const failFunction = ({ fn, verdict }: (typeof verdicts)[number]) =>
    fail(
      'SQL_BLOCKED',
      `function ${fn.name}() is not allowed: ${verdict.reason}`,
      { construct: 'function', function: fn.name, reason: verdict.reason },
      fn.location,
    );
  const blocked = verdicts.find((v) => !v.verdict.allowed && !v.verdict.notAllowlisted);
  if (blocked) failFunction(blocked);
  for (const ties of analysis.withTies) {
    fail(
      'UNSUPPORTED_SYNTAX',
      'FETCH … WITH TIES cannot be validated and re-written faithfully',
      {
        construct: 'FETCH … WITH TIES',
        reason: 'the guard cannot re-write WITH TIES without changing its meaning',
        rewrite: 'SELECT * FROM (SELECT …, rank() OVER (ORDER BY …) AS r FROM …) AS q WHERE r <= n',
      },
      ties.location,
    );
  }
  for (const n of analysis.paramNumbers) {
    if (n < 1 || n > paramCount) {
      fail('INVALID_SQL', `parameter $${n} is not a named placeholder`, {
        construct: `$${n}`,
        reason: 'positional parameters are not accepted',
        hint: 'write :name and pass {"name": value} in params',
      });
    }
  }

  const rules = LEVEL_RULES[policy.level];
  const structural = (allowed: boolean, construct: string, location?: number) => {
    if (!allowed) {
      fail(
        'SQL_BLOCKED',
        `${construct} is not allowed at the ${policy.level} security level`,
        { construct, reason: `not allowed at the ${policy.level} security level`, level: policy.level },
        location,
      );
    }
  };
  const firstCte = analysis.ctes[0];
  if (firstCte) structural(rules.ctes, firstCte.recursive ? 'WITH RECURSIVE' : 'WITH', firstCte.location);
  const firstSubquery = analysis.subqueries[0];
  if (firstSubquery) structural(rules.subqueries, firstSubquery.kind, firstSubquery.location);
  const firstSetOp = analysis.setOperations[0];
  if (firstSetOp) structural(rules.setOperations, firstSetOp.op);
  const firstWindow = analysis.functions.find((f) => f.window);
  if (firstWindow)
    structural(rules.windowFunctions, `window function ${firstWindow.name}() OVER`, firstWindow.location);
  const firstTableFunction = analysis.tableFunctions[0];
  if (firstTableFunction) structural(rules.tableFunctions, 'function in FROM', firstTableFunction.location);

  const notAllowlisted = verdicts.find((v) => !v.verdict.allowed);
  if (notAllowlisted) failFunction(notAllowlisted);

  if (analysis.joins > policy.maxJoins) {
    fail('COMPLEXITY_EXCEEDED', `statement has ${analysis.joins} joins; the limit is ${policy.maxJoins}`, {
      construct: 'joins',
      limit: 'max_joins',
      max: policy.maxJoins,
      actual: analysis.joins,
      reason: 'too many joins',
    });
  }
  if (analysis.maxDepth > policy.maxDepth) {
    const deepest = analysis.subqueries.find((s) => s.depth > policy.maxDepth);
    fail(
      'COMPLEXITY_EXCEEDED',
      `subqueries nest ${analysis.maxDepth} deep; the limit is ${policy.maxDepth}`,
      {
        construct: 'subquery nesting',
        limit: 'max_depth',
        max: policy.maxDepth,
        actual: analysis.maxDepth,
        reason: 'subqueries nested too deeply',
      },
      deepest?.location,
    );
  }
}
