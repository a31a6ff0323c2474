/**
 * The Query API's row cap, applied in the parse tree. With cap C the warehouse is asked for at most
 * C+1 rows so the executor can tell "exactly C" from "more than C" (truncation). A constant LIMIT
 * L ≤ C is the tenant's own smaller answer and stays; anything else becomes LIMIT C+1, or, when
 * the LIMIT is not a constant, the statement is wrapped: SELECT * FROM (<stmt>) AS spectra_q LIMIT C+1.
 */
import type { Node, SelectStmt } from 'libpg-query';
import { ApiError } from '../domain/errors.js';

export const WRAPPER_ALIAS = 'spectra_q';

export interface CappedStatement {
  statement: { SelectStmt: SelectStmt };
  /** Rows the client may receive; the warehouse statement may return one more. */
  returnLimit: number;
}

const INT4_MAX = 2_147_483_647;

function integerConstant(value: number): Node {
  return value <= INT4_MAX
    ? { A_Const: value === 0 ? { ival: {} } : { ival: { ival: value } } }
    : { A_Const: { fval: { fval: String(value) } } };
}

/** The constant a LIMIT node stands for: a number, `null` for LIMIT ALL / NULL, undefined when not a constant. */
function constantLimit(limit: Node): number | null | undefined {
  if (!('A_Const' in limit)) return undefined;
  const c = limit.A_Const;
  if (c.isnull) return null;
  if (c.ival !== undefined) return c.ival.ival ?? 0; // LIMIT 0 is stored as { ival: {} }
  if (c.fval?.fval !== undefined && /^\d+$/.test(c.fval.fval)) return Number(c.fval.fval);
  return undefined;
}

export function applyRowCap(select: SelectStmt, cap: number): CappedStatement {
  const limited = (returnLimit: number): CappedStatement => ({
    statement: {
      SelectStmt: { ...select, limitCount: integerConstant(cap + 1), limitOption: 'LIMIT_OPTION_COUNT' },
    },
    returnLimit,
  });

  if (select.limitCount === undefined) return limited(cap);
  const limit = constantLimit(select.limitCount);
  if (limit === null) return limited(cap);
  if (limit !== undefined) {
    if (limit < 0) {
      throw new ApiError('INVALID_SQL', 'LIMIT must not be negative', {
        construct: 'LIMIT',
        reason: 'negative row count',
        hint: 'use a LIMIT of 0 or more',
      });
    }
    return limit <= cap ? { statement: { SelectStmt: select }, returnLimit: limit } : limited(cap);
  }
  // LIMIT :n, LIMIT (SELECT …), LIMIT 2.5: keep the tenant's statement intact and cap around it.
  return {
    statement: {
      SelectStmt: {
        targetList: [{ ResTarget: { val: { ColumnRef: { fields: [{ A_Star: {} }] } } } }],
        fromClause: [
          { RangeSubselect: { subquery: { SelectStmt: select }, alias: { aliasname: WRAPPER_ALIAS } } },
        ],
        limitCount: integerConstant(cap + 1),
        limitOption: 'LIMIT_OPTION_COUNT',
        op: 'SETOP_NONE',
      },
    },
    returnLimit: cap,
  };
}
