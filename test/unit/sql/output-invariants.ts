/** What must hold for every statement the guard lets through, checked on its output text alone. */
import { expect } from 'vitest';
import { analyzeStatement } from '../../../src/sql/analyze.js';
import { judgeFunction } from '../../../src/sql/functions.js';
import type { GuardPolicy, SqlPlan } from '../../../src/sql/index.js';
import { parseSql } from '../../../src/sql/parser.js';
import { judgeRelation } from '../../../src/sql/relations.js';

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** The output re-parses to exactly one SELECT that names the same relations and functions, all allowed. */
export function expectFaithfulOutput(plan: SqlPlan, policy: GuardPolicy): void {
  const tree = parseSql(plan.sql);
  expect(tree.stmts).toHaveLength(1);
  const stmt = tree.stmts?.[0]?.stmt as Record<string, unknown>;
  expect(Object.keys(stmt)).toEqual(['SelectStmt']);

  const analysis = analyzeStatement(stmt);
  expect(sorted(analysis.relations.filter((r) => !r.cte).map((r) => r.display))).toEqual(
    sorted(plan.relations),
  );
  expect(sorted(analysis.functions.map((f) => f.name))).toEqual(sorted(plan.functions));
  for (const relation of analysis.relations)
    expect(judgeRelation(relation, policy)).toEqual({ allowed: true });
  for (const fn of analysis.functions) expect(judgeFunction(fn.parts, policy)).toEqual({ allowed: true });
  expect(analysis.selectInto).toBeUndefined();
  expect(analysis.lockingClauses).toEqual([]);
  expect(analysis.modifyingCtes).toEqual([]);
}
