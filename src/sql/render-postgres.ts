/**
 * Rendering for PostgreSQL (the embedded warehouse and the PostgreSQL adapter): the canonical tree
 * rewritten in place into plain PostgreSQL, exact equivalents only. QUALIFY → a derived table
 * filtered on the condition, NVL → COALESCE, LISTAGG → string_agg, APPROXIMATE → exact, SYSDATE →
 * LOCALTIMESTAMP, PIVOT/UNPIVOT → their canonical GROUP BY / LATERAL VALUES form, SUPER navigation →
 * jsonb `->`, unnesting → LATERAL jsonb_array_elements. Everything else Redshift-only (DATEADD, DATEDIFF, GETDATE, …) stays a plain call
 * of the compatibility functions on the tenant's search_path. Runs after the guard's checks: it
 * only moves checked subtrees and adds nodes of its own.
 */
import { ApiError } from '../domain/errors.js';
import type { ParseResult } from './parser.js';
import {
  FLAG,
  isNavigation,
  type PivotFlag,
  rangeParts,
  UNNEST_ROWS,
  type UnnestFlag,
  type UnpivotFlag,
  unknownRotationColumns,
} from './redshift-syntax.js';
import { cloneTree, sameTree } from './render.js';
import type { SourceMap } from './source-map.js';

type AnyNode = Record<string, unknown>;

const DERIVED_ALIAS = 'spectra_qualified';
const QUALIFY_COLUMN = 'spectra_qualify';

const str = (sval: string) => ({ String: { sval } });
const column = (...names: string[]): AnyNode => ({ ColumnRef: { fields: names.map(str) } });
const lastString = (list: unknown): string | undefined => {
  const items = (list as AnyNode[] | undefined) ?? [];
  const last = items[items.length - 1]?.String as AnyNode | undefined;
  return typeof last?.sval === 'string' ? last.sval : undefined;
};

interface Rendering {
  sourceMap: SourceMap | undefined;
  /** Numbers of the `$n` compared with SUPER values (jsonb here): their values are bound as JSON. */
  jsonParams: Set<number>;
}

/**
 * Rewrites `tree` (canonical) into PostgreSQL in place and returns it; a refusal points at the
 * tenant's text through `sourceMap`. `jsonParams` collects the `$n` compared with SUPER values.
 */
export function toPostgres(
  tree: ParseResult,
  sourceMap?: SourceMap,
  jsonParams: Set<number> = new Set(),
): ParseResult {
  walk(tree.stmts, false, { sourceMap, jsonParams });
  return tree;
}

function walk(node: unknown, selectBody: boolean, rendering: Rendering): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, false, rendering);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as AnyNode;
  // One pass over the keys: a node wrapper has one key, its type, so the dispatch is by key name.
  let wrapped: string | undefined;
  for (const key in obj) {
    if (key === 'ResTarget') {
      sysdateName(obj.ResTarget as AnyNode);
      navigationName(obj.ResTarget as AnyNode);
    } else if (key === 'TypeCast') castOfNavigation(obj.TypeCast as AnyNode);
    else if (key === 'A_Expr') comparisonWithNavigation(obj.A_Expr as AnyNode, rendering.jsonParams);
    walk(obj[key], key === 'SelectStmt' || (selectBody && (key === 'larg' || key === 'rarg')), rendering);
    if (wrapped === undefined && WRAPPERS.has(key)) wrapped = key;
  }
  if (wrapped === 'FuncCall') funcCall(obj);
  else if (wrapped === 'A_Const') delete (obj.A_Const as AnyNode)[FLAG.datePart];
  else if (wrapped === 'SQLValueFunction') delete (obj.SQLValueFunction as AnyNode)[FLAG.sysdate];
  else if (wrapped === 'A_Indirection' && isNavigation(obj.A_Indirection as AnyNode)) {
    const navigation = navigate(obj.A_Indirection as AnyNode, false);
    delete obj.A_Indirection;
    Object.assign(obj, navigation);
  } else if (wrapped === 'RangeVar' && (obj.RangeVar as AnyNode)[FLAG.unnest] !== undefined) {
    unnest(obj);
  } else if (wrapped === 'RangeSubselect') {
    const rotation = ((obj.RangeSubselect as AnyNode)[FLAG.pivot] ??
      (obj.RangeSubselect as AnyNode)[FLAG.unpivot]) as PivotFlag | UnpivotFlag | undefined;
    if (rotation?.unknown !== undefined) throw unknownRotationColumns(rotation.unknown, rendering.sourceMap);
    delete (obj.RangeSubselect as AnyNode)[FLAG.pivot];
    delete (obj.RangeSubselect as AnyNode)[FLAG.unpivot];
  }
  if (selectBody && obj[FLAG.qualify] !== undefined) qualifyToDerivedTable(obj);
}

const WRAPPERS = new Set([
  'FuncCall',
  'A_Const',
  'SQLValueFunction',
  'RangeSubselect',
  'A_Indirection',
  'RangeVar',
]);

/** SUPER is jsonb here: `c.orders[0].id` → `c.orders -> 0 -> 'id'` (a missing step gives NULL, as on Redshift). */
function navigate(node: AnyNode, lastAsText: boolean): AnyNode {
  const steps = node.indirection as AnyNode[];
  let expr = node.arg as AnyNode;
  steps.forEach((step, k) => {
    const subscript = (step.A_Indices as AnyNode | undefined)?.uidx as AnyNode | undefined;
    const key =
      subscript === undefined
        ? { A_Const: { sval: { sval: (step.String as AnyNode).sval } } }
        : subscript.A_Const !== undefined
          ? subscript
          : {
              TypeCast: {
                arg: subscript,
                typeName: { names: [str('pg_catalog'), str('int4')], typemod: -1 },
              },
            };
    const op = lastAsText && k === steps.length - 1 ? '->>' : '->';
    expr = { A_Expr: { kind: 'AEXPR_OP', name: [str(op)], lexpr: expr, rexpr: key } };
  });
  return expr;
}

const navigationOf = (value: AnyNode | undefined): AnyNode | undefined => {
  const node = value?.A_Indirection as AnyNode | undefined;
  return node !== undefined && isNavigation(node) ? node : undefined;
};

/** The name PostgreSQL gives `(c.orders)[0].id` (`id`), kept when it becomes `->`. */
function navigationName(target: AnyNode): void {
  const node = navigationOf(target.val as AnyNode | undefined);
  if (node === undefined || target.name !== undefined) return;
  const attributes = (node.indirection as AnyNode[]).filter((s) => 'String' in s);
  target.name =
    lastString(attributes) ?? lastString(((node.arg as AnyNode).ColumnRef as AnyNode).fields) ?? '?column?';
}

const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'char', 'character', 'nvarchar']);

/** `o.name::varchar` is the string's value on Redshift, not its JSON text: the last step is `->>`. */
function castOfNavigation(cast: AnyNode): void {
  const node = navigationOf(cast.arg as AnyNode);
  const type = lastString((cast.typeName as AnyNode | undefined)?.names)?.toLowerCase();
  if (node !== undefined && type !== undefined && TEXT_TYPES.has(type)) cast.arg = navigate(node, true);
}

const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);

/**
 * A value compared with SUPER, as jsonb: a constant through to_jsonb (`'F'` is the string "F", not
 * JSON text to parse); a parameter is left as `$n`, recorded so that its value is bound as JSON.
 */
function asJsonb(value: AnyNode, jsonParams: Set<number>): AnyNode {
  const param = value.ParamRef as AnyNode | undefined;
  if (param !== undefined) {
    jsonParams.add(param.number as number);
    return value;
  }
  const constant = value.A_Const as AnyNode | undefined;
  if (constant === undefined || constant.isnull) return value;
  const arg =
    constant.sval !== undefined
      ? { TypeCast: { arg: value, typeName: { names: [str('text')], typemod: -1 } } }
      : value;
  return {
    FuncCall: {
      funcname: [str('pg_catalog'), str('to_jsonb')],
      args: [arg],
      funcformat: 'COERCE_EXPLICIT_CALL',
    },
  };
}

/** Redshift compares SUPER with a constant or a parameter (`o.status = 'F'`, `o.id IN (1, :id)`); jsonb compares with a jsonb. */
function comparisonWithNavigation(expr: AnyNode, jsonParams: Set<number>): void {
  const op = lastString(expr.name);
  if (expr.kind === 'AEXPR_IN' && navigationOf(expr.lexpr as AnyNode) !== undefined) {
    const list = (expr.rexpr as AnyNode | undefined)?.List as AnyNode | undefined;
    const items = list?.items as AnyNode[] | undefined;
    if (list !== undefined && Array.isArray(items))
      list.items = items.map((item) => asJsonb(item, jsonParams));
    return;
  }
  if (expr.kind !== 'AEXPR_OP' || op === undefined || !COMPARISONS.has(op)) return;
  for (const [side, other] of [
    ['lexpr', 'rexpr'],
    ['rexpr', 'lexpr'],
  ] as const) {
    if (navigationOf(expr[side] as AnyNode) !== undefined && expr[other] !== undefined) {
      expr[other] = asJsonb(expr[other] as AnyNode, jsonParams);
    }
  }
}

/**
 * `FROM t AS c, c.orders AS o AT i` → `FROM t AS c, LATERAL (SELECT spectra_element.value AS o,
 * spectra_element.ordinality - 1 AS i FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.orders) =
 * 'array' THEN c.orders END) WITH ORDINALITY AS spectra_element) AS o`: Redshift's index counts
 * from 0, and a value that is no array gives no rows instead of an error.
 */
function unnest(wrapper: AnyNode): void {
  const range = wrapper.RangeVar as AnyNode;
  const flag = range[FLAG.unnest] as UnnestFlag;
  const path = rangeParts(range);
  const keep = flag.element ? 1 : 2;
  const array =
    path.length > keep
      ? navigate({ arg: column(...path.slice(0, keep)), indirection: path.slice(keep).map(str) }, false)
      : column(...path);
  const isArray = {
    A_Expr: {
      kind: 'AEXPR_OP',
      name: [str('=')],
      lexpr: {
        FuncCall: {
          funcname: [str('pg_catalog'), str('jsonb_typeof')],
          args: [array],
          funcformat: 'COERCE_EXPLICIT_CALL',
        },
      },
      rexpr: { A_Const: { sval: { sval: 'array' } } },
    },
  };
  const elements = {
    FuncCall: {
      funcname: [str('pg_catalog'), str('jsonb_array_elements')],
      args: [{ CaseExpr: { args: [{ CaseWhen: { expr: isArray, result: cloneTree(array) } }] } }],
      funcformat: 'COERCE_EXPLICIT_CALL',
    },
  };
  const name =
    ((range.alias as AnyNode | undefined)?.aliasname as string | undefined) ?? (path.at(-1) as string);
  const targets: AnyNode[] = [{ ResTarget: { name, val: column(UNNEST_ROWS, 'value') } }];
  if (flag.at !== null) {
    targets.push({
      ResTarget: {
        name: flag.at,
        val: {
          A_Expr: {
            kind: 'AEXPR_OP',
            name: [str('-')],
            lexpr: column(UNNEST_ROWS, 'ordinality'),
            rexpr: { A_Const: { ival: { ival: 1 } } },
          },
        },
      },
    });
  }
  delete wrapper.RangeVar;
  wrapper.RangeSubselect = {
    lateral: true,
    subquery: {
      SelectStmt: {
        targetList: targets,
        fromClause: [
          {
            RangeFunction: {
              ...(flag.at !== null ? { ordinality: true } : {}),
              functions: [{ List: { items: [elements, {}] } }],
              alias: { aliasname: UNNEST_ROWS },
            },
          },
        ],
        limitOption: 'LIMIT_OPTION_DEFAULT',
        op: 'SETOP_NONE',
      },
    },
    alias: { aliasname: name },
  };
}

/** `SELECT SYSDATE` answers a column named `sysdate` on Redshift. */
function sysdateName(target: AnyNode): void {
  const value = target.val as AnyNode | undefined;
  if (target.name === undefined && (value?.SQLValueFunction as AnyNode | undefined)?.[FLAG.sysdate]) {
    target.name = 'sysdate';
  }
}

function funcCall(wrapper: AnyNode): void {
  const call = wrapper.FuncCall as AnyNode;
  delete call[FLAG.approximate];
  const distinct = call[FLAG.listaggDistinct] === true;
  delete call[FLAG.listaggDistinct];
  const funcname = call.funcname as AnyNode[];
  const name = funcname.length === 1 ? lastString(funcname)?.toLowerCase() : undefined;
  const args = (call.args as AnyNode[] | undefined) ?? [];
  if (name === 'nvl' && call.over === undefined && call.agg_order === undefined && args.length > 0) {
    delete wrapper.FuncCall;
    wrapper.CoalesceExpr = { args, location: call.location };
  } else if (name === 'listagg' && call.over === undefined && args.length >= 1 && args.length <= 2) {
    const value = args[0] as AnyNode;
    const asText = (expr: AnyNode) => ({
      TypeCast: { arg: expr, typeName: { names: [str('text')], typemod: -1 } },
    });
    const order = (call.agg_order as AnyNode[] | undefined)?.map((item) => {
      const sortBy = item.SortBy as AnyNode;
      // DISTINCT requires ORDER BY expressions among the (text-cast) arguments.
      return distinct && sameTree(sortBy.node, value)
        ? { SortBy: { ...sortBy, node: asText(cloneTree(value)) } }
        : item;
    });
    call.funcname = [str('string_agg')];
    call.args = [asText(value), args[1] ?? { A_Const: { sval: { sval: '' } } }];
    delete call.agg_within_group;
    if (order !== undefined) call.agg_order = order;
    if (distinct) call.agg_distinct = true;
  }
}

/** The column name PostgreSQL gives an unnamed select-list entry (its FigureColname, common cases). */
function figuredName(value: AnyNode): string {
  if ('ColumnRef' in value) return lastString((value.ColumnRef as AnyNode).fields) ?? '?column?';
  if ('FuncCall' in value) return lastString((value.FuncCall as AnyNode).funcname) ?? '?column?';
  if ('TypeCast' in value) {
    const cast = value.TypeCast as AnyNode;
    const inner = figuredName(cast.arg as AnyNode);
    if (inner !== '?column?') return inner;
    return lastString((cast.typeName as AnyNode).names) ?? '?column?';
  }
  if ('CoalesceExpr' in value) return 'coalesce';
  if ('CaseExpr' in value) return 'case';
  if ('MinMaxExpr' in value) return (value.MinMaxExpr as AnyNode).op === 'IS_GREATEST' ? 'greatest' : 'least';
  if ('NullIfExpr' in value) return 'nullif';
  return '?column?';
}

const isStar = (value: AnyNode | undefined): boolean => {
  const fields = (value?.ColumnRef as AnyNode | undefined)?.fields as AnyNode[] | undefined;
  return fields !== undefined && 'A_Star' in (fields[fields.length - 1] ?? {});
};

/** The name a whole-row reference can use for a FROM item, when it has one. */
function itemRowName(item: AnyNode): string | undefined {
  const range = item.RangeVar as AnyNode | undefined;
  if (range !== undefined)
    return ((range.alias as AnyNode | undefined)?.aliasname as string) ?? (range.relname as string);
  const aliased = (item.RangeSubselect ?? item.RangeFunction) as AnyNode | undefined;
  return (aliased?.alias as AnyNode | undefined)?.aliasname as string | undefined;
}

/**
 * The whole-row names that `*` stands for, FROM item by FROM item (joins left to right), or
 * undefined when `*` is not their concatenation (JOIN … USING and NATURAL merge columns) or an
 * item has no name.
 */
function starRowNames(from: AnyNode[] | undefined): string[] | undefined {
  const names: string[] = [];
  const add = (item: AnyNode): boolean => {
    const join = item.JoinExpr as AnyNode | undefined;
    if (join === undefined) {
      const name = itemRowName(item);
      if (name !== undefined) names.push(name);
      return name !== undefined;
    }
    if (join.isNatural === true || join.usingClause !== undefined || join.alias !== undefined) return false;
    return add(join.larg as AnyNode) && add(join.rarg as AnyNode);
  };
  return from !== undefined && from.length > 0 && from.every(add) ? names : undefined;
}

/** The whole-row names for `*` / `x.*` in a select list. */
function wholeRowNames(value: AnyNode, from: AnyNode[] | undefined): string[] | undefined {
  const fields = (value.ColumnRef as AnyNode).fields as AnyNode[];
  if (fields.length === 2) {
    const name = lastString(fields.slice(0, 1));
    return name === undefined ? undefined : [name];
  }
  return fields.length === 1 ? starRowNames(from) : undefined;
}

/**
 * `SELECT … QUALIFY q ORDER BY … LIMIT n` → `SELECT <outputs> FROM (SELECT …, q AS spectra_qualify
 * FROM …) AS spectra_qualified WHERE spectra_qualify ORDER BY … LIMIT n`. Redshift evaluates QUALIFY
 * after windows and before DISTINCT, ORDER BY and LIMIT, so those move to the outer query.
 */
function qualifyToDerivedTable(stmt: AnyNode): void {
  const condition = stmt[FLAG.qualify] as AnyNode;
  const targets = ((stmt.targetList as AnyNode[] | undefined) ?? []).map((t) => t.ResTarget as AnyNode);
  const aliases = new Map<string, AnyNode>();
  for (const t of targets) if (typeof t.name === 'string') aliases.set(t.name, t.val as AnyNode);

  const innerTargets: AnyNode[] = [];
  const outerTargets: AnyNode[] = [];
  targets.forEach((target, i) => {
    const inner = `spectra_c${i + 1}`;
    const value = target.val as AnyNode;
    if (isStar(value)) {
      const rows = wholeRowNames(value, stmt.fromClause as AnyNode[] | undefined);
      if (rows === undefined) {
        throw new ApiError(
          'UNSUPPORTED_SYNTAX',
          'QUALIFY with SELECT * over JOIN … USING, NATURAL JOIN or an unnamed FROM item cannot run on PostgreSQL',
          {
            construct: 'QUALIFY',
            reason: 'the columns of * are unknown to the guard',
            rewrite: 'name the columns, or write alias.* for each FROM item',
          },
        );
      }
      rows.forEach((row, k) => {
        const name = rows.length === 1 ? inner : `${inner}_${k + 1}`;
        innerTargets.push({ ResTarget: { name, val: column(row) } });
        outerTargets.push({
          ResTarget: {
            val: { A_Indirection: { arg: column(DERIVED_ALIAS, name), indirection: [{ A_Star: {} }] } },
          },
        });
      });
      return;
    }
    innerTargets.push({ ResTarget: { name: inner, val: value } });
    outerTargets.push({
      ResTarget: {
        name: (target.name as string | undefined) ?? figuredName(value),
        val: column(DERIVED_ALIAS, inner),
      },
    });
  });
  innerTargets.push({ ResTarget: { name: QUALIFY_COLUMN, val: substituteAliases(condition, aliases) } });

  const sort = (stmt.sortClause as AnyNode[] | undefined)?.map((item, k) => {
    const sortBy = item.SortBy as AnyNode;
    const expr = sortBy.node as AnyNode;
    const constant = expr.A_Const as AnyNode | undefined;
    const single = (expr.ColumnRef as AnyNode | undefined)?.fields as AnyNode[] | undefined;
    const outputNames = outerTargets.map((t) => (t.ResTarget as AnyNode).name);
    if (constant?.ival !== undefined) return item;
    if (single?.length === 1 && outputNames.includes(lastString(single))) return item;
    const same = targets.findIndex((t) => !isStar(t.val as AnyNode) && sameTree(t.val, expr));
    if (same >= 0) return { SortBy: { ...sortBy, node: column(DERIVED_ALIAS, `spectra_c${same + 1}`) } };
    const hidden = `spectra_o${k + 1}`;
    innerTargets.push({ ResTarget: { name: hidden, val: expr } });
    return { SortBy: { ...sortBy, node: column(DERIVED_ALIAS, hidden) } };
  });

  const inner: AnyNode = { ...stmt, targetList: innerTargets, limitOption: 'LIMIT_OPTION_DEFAULT' };
  for (const key of [FLAG.qualify, 'sortClause', 'limitCount', 'limitOffset', 'distinctClause'])
    delete inner[key];
  const outer: AnyNode = {
    ...(stmt.distinctClause !== undefined ? { distinctClause: stmt.distinctClause } : {}),
    targetList: outerTargets,
    fromClause: [
      { RangeSubselect: { subquery: { SelectStmt: inner }, alias: { aliasname: DERIVED_ALIAS } } },
    ],
    whereClause: column(DERIVED_ALIAS, QUALIFY_COLUMN),
    ...(sort !== undefined ? { sortClause: sort } : {}),
    ...(stmt.limitCount !== undefined ? { limitCount: stmt.limitCount } : {}),
    ...(stmt.limitOffset !== undefined ? { limitOffset: stmt.limitOffset } : {}),
    limitOption: stmt.limitOption ?? 'LIMIT_OPTION_DEFAULT',
    op: 'SETOP_NONE',
  };
  for (const key of Object.keys(stmt)) delete stmt[key];
  Object.assign(stmt, outer);
}

/** QUALIFY may name select-list aliases: each bare reference becomes a copy of the aliased expression. */
function substituteAliases(node: AnyNode, aliases: ReadonlyMap<string, AnyNode>): AnyNode {
  if (aliases.size === 0) return node;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const obj = value as AnyNode;
    const fields = (obj.ColumnRef as AnyNode | undefined)?.fields as AnyNode[] | undefined;
    const name = fields?.length === 1 ? lastString(fields) : undefined;
    if (name !== undefined && aliases.has(name)) {
      delete obj.ColumnRef;
      Object.assign(obj, cloneTree(aliases.get(name)));
      return;
    }
    for (const key in obj) if (key !== 'SelectStmt') visit(obj[key]);
  };
  const root = { wrapper: node };
  visit(root);
  return root.wrapper;
}
