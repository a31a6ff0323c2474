/**
 * Rendering for Amazon Redshift (the Data API adapter): the canonical tree deparsed in PostgreSQL
 * spelling, which Redshift reads, except where Redshift has its own: `QUALIFY`, `APPROXIMATE`,
 * `LISTAGG(DISTINCT …) WITHIN GROUP`, bare date parts, `SYSDATE`, `PIVOT`/`UNPIVOT` (TOP has become LIMIT). The text
 * is verified like the PostgreSQL rendering: read back through the same front end, it must give
 * the same canonical tree.
 */

import type {
  A_Const,
  A_Indirection,
  FuncCall,
  Node,
  RangeSubselect,
  RangeVar,
  SelectStmt,
  SQLValueFunction,
} from '@pgsql/types';
import { QuoteUtils } from 'pgsql-deparser';
import { ApiError } from '../domain/errors.js';
import type { ParseResult } from './parser.js';
import { QuotingDeparser } from './quoting-deparser.js';
import {
  FLAG,
  isNavigation,
  type PivotFlag,
  parseRedshift,
  type UnnestFlag,
  type UnpivotFlag,
} from './redshift-syntax.js';
import { firstDifference, sameTree } from './render.js';
import { SourceMap } from './source-map.js';

type Context = Parameters<QuotingDeparser['SelectStmt']>[1];
type Flagged<T> = T & Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: reads back the rotation shape that redshift-syntax.ts rotate() built
type AnyNode = Record<string, any>;

const asAlias = (name: string | null) => (name === null ? '' : ` AS ${QuoteUtils.quoteIdentifier(name)}`);

class RedshiftDeparser extends QuotingDeparser {
  override FuncCall(node: FuncCall, context: Context): string {
    const flagged = node as Flagged<FuncCall>;
    const distinct = flagged[FLAG.listaggDistinct] === true;
    const text = super.FuncCall(distinct ? { ...node, agg_distinct: true } : node, context);
    return flagged[FLAG.approximate] === true ? `APPROXIMATE ${text}` : text;
  }

  override A_Const(node: A_Const, context: Context): string {
    const part = (node as Flagged<A_Const>)[FLAG.datePart] === true ? node.sval?.sval : undefined;
    return part ?? super.A_Const(node, context);
  }

  /** SUPER navigation written as PartiQL: `c.orders[0].id`, not PostgreSQL's `(c.orders)[0].id`. */
  override A_Indirection(node: A_Indirection, context: Context): string {
    if (!isNavigation(node as AnyNode)) return super.A_Indirection(node, context);
    const { [FLAG.navigation]: _, ...plain } = node as Flagged<A_Indirection>;
    const steps = (plain.indirection as AnyNode[]).map((step) =>
      'String' in step
        ? `.${QuoteUtils.quoteIdentifier(step.String.sval)}`
        : `[${this.visit(step.A_Indices.uidx, context)}]`,
    );
    return `${this.visit(plain.arg as Node, context)}${steps.join('')}`;
  }

  override RangeVar(node: RangeVar, context: Context): string {
    const flag = (node as Flagged<RangeVar>)[FLAG.unnest] as UnnestFlag | undefined;
    if (flag === undefined) return super.RangeVar(node, context);
    const { [FLAG.unnest]: _, ...range } = node as Flagged<RangeVar>;
    const at = flag.at === null ? '' : ` AT ${QuoteUtils.quoteIdentifier(flag.at)}`;
    return `${super.RangeVar(range as RangeVar, context)}${at}`;
  }

  override SQLValueFunction(node: SQLValueFunction, context: Context): string {
    return (node as Flagged<SQLValueFunction>)[FLAG.sysdate] === true
      ? 'SYSDATE'
      : super.SQLValueFunction(node, context);
  }

  /** A rotation's canonical subquery written back as `source PIVOT (…)` / `source UNPIVOT (…)`. */
  override RangeSubselect(node: RangeSubselect, context: Context): string {
    const pivot = (node as Flagged<RangeSubselect>)[FLAG.pivot] as PivotFlag | undefined;
    const unpivot = (node as Flagged<RangeSubselect>)[FLAG.unpivot] as UnpivotFlag | undefined;
    if (pivot === undefined && unpivot === undefined) return super.RangeSubselect(node, context);
    const select = (node.subquery as AnyNode).SelectStmt as AnyNode;
    const tail = node.alias === undefined ? '' : ` ${this.Alias(node.alias, context)}`;
    const visit = (n: unknown) => this.visit(n as Node, context);
    if (pivot !== undefined) {
      const targets = (select.targetList as AnyNode[]).slice(pivot.groups).map((t) => t.ResTarget);
      const first = targets[0].val.FuncCall;
      const when = first.args[0].CaseExpr.args[0].CaseWhen;
      const { args, ...rest } = first;
      const aggregate = pivot.star
        ? { ...rest, agg_star: true }
        : { ...first, args: [when.result, ...args.slice(1)] };
      const values = targets.map(
        (t, i) =>
          `${visit(t.val.FuncCall.args[0].CaseExpr.args[0].CaseWhen.expr.A_Expr.rexpr)}${asAlias(pivot.valueAliases[i] ?? null)}`,
      );
      return `${visit(select.fromClause[0])} PIVOT (${visit({ FuncCall: aggregate })}${asAlias(pivot.aggregateAlias)} FOR ${visit(when.expr.A_Expr.lexpr)} IN (${values.join(', ')}))${tail}`;
    }
    const join = select.fromClause[0].JoinExpr;
    const rows = join.rarg.RangeSubselect.subquery.SelectStmt.valuesLists as AnyNode[];
    const targets = select.targetList as AnyNode[];
    const nameColumn = (targets.at(-2) as AnyNode).ResTarget.name as string;
    const valueColumn = (targets.at(-1) as AnyNode).ResTarget.name as string;
    const columns = rows.map((r, i) => `${visit(r.List.items[1])}${asAlias(unpivot?.aliases[i] ?? null)}`);
    const nulls = unpivot?.includeNulls ? ' INCLUDE NULLS' : '';
    return `${visit(join.larg)} UNPIVOT${nulls} (${QuoteUtils.quoteIdentifier(valueColumn)} FOR ${QuoteUtils.quoteIdentifier(nameColumn)} IN (${columns.join(', ')}))${tail}`;
  }

  override SelectStmt(node: SelectStmt, context: Context): string {
    const qualify = (node as Flagged<SelectStmt>)[FLAG.qualify];
    if (qualify === undefined) return super.SelectStmt(node, context);
    const { sortClause, limitCount, limitOffset, limitOption } = node;
    const head = super.SelectStmt(
      {
        ...node,
        [FLAG.qualify]: undefined,
        sortClause: undefined,
        limitCount: undefined,
        limitOffset: undefined,
        limitOption: 'LIMIT_OPTION_DEFAULT',
      } as SelectStmt,
      context,
    );
    const parts = [head, 'QUALIFY', this.visit(qualify as never, context)];
    if (sortClause !== undefined || limitCount !== undefined || limitOffset !== undefined) {
      // The library writes ORDER BY / LIMIT / OFFSET only as part of a SELECT: render them on an empty one.
      const tail = super.SelectStmt(
        { op: 'SETOP_NONE', sortClause, limitCount, limitOffset, limitOption } as SelectStmt,
        context,
      );
      if (!tail.startsWith('SELECT ')) throw new Error(`unexpected deparser output: ${tail}`);
      parts.push(tail.slice('SELECT '.length));
    }
    return parts.join(' ');
  }
}

/** Names Redshift reads as its own syntax when bare: a column called `qualify` must be written quoted. */
const REDSHIFT_WORDS = new Set(['top', 'qualify', 'sysdate', 'pivot', 'unpivot', 'approximate']);

/** The library quotes names through one static function; while rendering, it also quotes Redshift's words. */
function deparseQuotingRedshiftWords(tree: ParseResult): string {
  const quoteIdentifier = QuoteUtils.quoteIdentifier;
  QuoteUtils.quoteIdentifier = (ident: string) =>
    REDSHIFT_WORDS.has(ident) ? `"${ident}"` : quoteIdentifier.call(QuoteUtils, ident);
  try {
    return new RedshiftDeparser(tree, { pretty: false }).deparseQuery();
  } finally {
    QuoteUtils.quoteIdentifier = quoteIdentifier;
  }
}

/** Redshift SQL for a canonical tree, verified to read back as the same tree. */
export function renderRedshift(tree: ParseResult): string {
  const sql = deparseQuotingRedshiftWords(tree);
  const reread = parseRedshift(sql, new SourceMap(sql, sql)).tree;
  if (!sameTree(tree.stmts, reread.stmts)) {
    const path = firstDifference(tree.stmts, reread.stmts) ?? '$';
    throw new ApiError(
      'UNSUPPORTED_SYNTAX',
      'the statement cannot be re-written faithfully: the Redshift rendering differs from the validated statement',
      {
        construct:
          path
            .match(/\.[A-Z]\w*/g)
            ?.at(-1)
            ?.slice(1) ?? 'statement',
        reason: 'the Redshift rendering differs from the validated statement',
        path,
        rewrite: 'express this part with other SQL (see docs/sql-dialect.md)',
      },
    );
  }
  return sql;
}
