/** What must hold for every statement the guard lets through, checked on its output text alone. */
import { expect } from 'vitest';
import { analyzeStatement } from '../../../src/sql/analyze.js';
import { judgeFunction } from '../../../src/sql/functions.js';
import type { GuardPolicy, SqlPlan } from '../../../src/sql/index.js';
import { parseSql } from '../../../src/sql/parser.js';
import { parseRedshift } from '../../../src/sql/redshift-syntax.js';
import { judgeRelation } from '../../../src/sql/relations.js';
import { SourceMap } from '../../../src/sql/source-map.js';

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** The functions the PostgreSQL rendering writes for the tenant's (NVL is COALESCE, LISTAGG string_agg). */
const POSTGRES_SPELLING: Readonly<Record<string, string[]>> = { nvl: [], listagg: ['string_agg'] };

/** The calls the PostgreSQL rendering of SUPER navigation and unnesting writes (SUPER is jsonb there). */
const SUPER_AS_JSONB = new Set([
  'pg_catalog.to_jsonb',
  'pg_catalog.jsonb_typeof',
  'pg_catalog.jsonb_array_elements',
]);

/**
 * The output re-parses (with the PostgreSQL grammar, or the Redshift front end for a Redshift plan)
 * to exactly one SELECT that names the same relations and functions, all allowed.
 */
export function expectFaithfulOutput(plan: SqlPlan, policy: GuardPolicy): void {
  const tree =
    plan.target === 'redshift'
      ? parseRedshift(plan.sql, new SourceMap(plan.sql, plan.sql)).tree
      : parseSql(plan.sql);
  expect(tree.stmts).toHaveLength(1);
  const stmt = tree.stmts?.[0]?.stmt as Record<string, unknown>;
  expect(Object.keys(stmt)).toEqual(['SelectStmt']);

  const analysis = analyzeStatement(stmt);
  expect(sorted(analysis.relations.filter((r) => !r.cte).map((r) => r.display))).toEqual(
    sorted(plan.relations),
  );
  // LISTAGG becomes string_agg where it has that exact equivalent, and stays the compatibility
  // aggregate otherwise (as a window function, or with arguments string_agg does not take).
  const listagg = plan.target !== 'redshift' && plan.functions.includes('listagg');
  const aggregates = new Set(listagg ? ['listagg', 'string_agg'] : []);
  const expected =
    plan.target === 'redshift' ? plan.functions : plan.functions.flatMap((f) => POSTGRES_SPELLING[f] ?? [f]);
  const written = analysis.functions
    .map((f) => f.name)
    .filter((f) => plan.target === 'redshift' || !SUPER_AS_JSONB.has(f));
  expect(sorted(written.filter((f) => !aggregates.has(f)))).toEqual(
    sorted(expected.filter((f) => !SUPER_AS_JSONB.has(f) && !aggregates.has(f))),
  );
  if (listagg) expect(written.some((f) => aggregates.has(f))).toBe(true);
  for (const relation of analysis.relations)
    expect(judgeRelation(relation, policy)).toEqual({ allowed: true });
  for (const fn of analysis.functions) {
    if (!listagg || fn.name !== 'string_agg')
      expect(judgeFunction(fn.parts, policy)).toEqual({ allowed: true });
  }
  expect(analysis.selectInto).toBeUndefined();
  expect(analysis.lockingClauses).toEqual([]);
  expect(analysis.modifyingCtes).toEqual([]);
}
