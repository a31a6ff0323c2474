/**
 * The Redshift dialect front end. PostgreSQL's grammar rejects a few Redshift constructs (`TOP n`,
 * `QUALIFY`, `APPROXIMATE`, `LISTAGG(DISTINCT …) WITHIN GROUP`, `CONVERT(type, x)`, `AT i`); a pass over
 * the scanner's tokens (never the raw text: strings, comments and quoted names are single tokens)
 * turns each into PostgreSQL syntax that parses, remembering where it did so. The parse tree is
 * then made *canonical*: every Redshift construct becomes ordinary nodes (TOP → LIMIT, QUALIFY →
 * a `spectra_qualify` expression the analysis walks like any other) plus a `spectra_*` flag where
 * the Redshift rendering must write it differently (render-redshift.ts, render-postgres.ts). SUPER
 * navigation is canonical as an A_Indirection on the column (`c.orders[0].id`, `o.id`), unnesting
 * as a flagged RangeVar (`FROM t AS c, c.orders AS o`) that the relation check does not read.
 */
import type { Node } from 'libpg-query';
import { ApiError } from '../domain/errors.js';
import { type ParseResult, parseSql } from './parser.js';
import { type LexToken, lexSql } from './redshift-lexer.js';
import { cloneTree } from './render.js';
import { type Replacement, SourceMap } from './source-map.js';

type AnyNode = Record<string, unknown>;

/** Names the rewrite writes into the text; a tenant's own use of them would be mistaken for ours. */
const TOP_MARKER = 'spectra_top';
const QUALIFY_MARKER = 'spectra_qualify';
const PIVOT_MARKER = 'spectra_pivot';
const UNPIVOT_MARKER = 'spectra_unpivot';
/** The UNPIVOT rewrite's VALUES columns. */
const UNPIVOT_NAME = 'spectra_name';
const UNPIVOT_VALUE = 'spectra_value';
/** `c.orders AS o AT i` is read as the column list `o (spectra_at, i)`. */
const AT_MARKER = 'spectra_at';
/** The PostgreSQL rendering's name for jsonb_array_elements' rows (render-postgres.ts). */
export const UNNEST_ROWS = 'spectra_element';
const MARKER_NAMES = new Set([
  AT_MARKER,
  UNNEST_ROWS,
  TOP_MARKER,
  QUALIFY_MARKER,
  PIVOT_MARKER,
  UNPIVOT_MARKER,
  UNPIVOT_NAME,
  UNPIVOT_VALUE,
]);

/** Canonical-tree flags (keys the deparser ignores; both renderers read them). */
export const FLAG = {
  /** SelectStmt: the QUALIFY condition. */
  qualify: 'spectra_qualify',
  /** FuncCall: written `APPROXIMATE COUNT(DISTINCT …)` / `APPROXIMATE PERCENTILE_DISC`. */
  approximate: 'spectra_approximate',
  /** FuncCall: `LISTAGG(DISTINCT …)`. */
  listaggDistinct: 'spectra_distinct',
  /** A_Const: a date part written as a bare word (`DATEADD(day, …)`). */
  datePart: 'spectra_datepart',
  /** SQLValueFunction: written `SYSDATE`. */
  sysdate: 'spectra_sysdate',
  /** RangeSubselect: written `source PIVOT (…)`; holds only names and counts (PivotFlag). */
  pivot: 'spectra_pivot',
  /** RangeSubselect: written `source UNPIVOT (…)` (UnpivotFlag). */
  unpivot: 'spectra_unpivot',
  /** A_Indirection: SUPER navigation (`c.orders[0].id`, `o.id`), not PostgreSQL's `(composite).field`. */
  navigation: 'spectra_navigation',
  /** RangeVar: a SUPER array unnested from an earlier FROM item (UnnestFlag), not a table. */
  unnest: 'spectra_unnest',
} as const;

/**
 * `FROM t AS c, c.orders AS o [AT i]`: the RangeVar's name parts are the path. `element`: the path
 * starts at an unnested element (`o.items`), not at a FROM item's column (`c.orders`).
 */
export interface UnnestFlag {
  element: boolean;
  at: string | null;
}

/** What the Redshift rendering needs, beyond the canonical tree, to write a PIVOT back. */
export interface PivotFlag {
  /** Leading select-list entries that are the implicit grouping columns. */
  groups: number;
  aggregateAlias: string | null;
  valueAliases: Array<string | null>;
  /** The aggregate was `COUNT(*)` (canonical: `count(CASE WHEN … THEN 1 END)`). */
  star: boolean;
  /** The source's columns are not in the statement: only Redshift can run it as parsed (RotationUnknown). */
  unknown?: RotationUnknown;
}

export interface UnpivotFlag {
  includeNulls: boolean;
  aliases: Array<string | null>;
  unknown?: RotationUnknown;
}

/**
 * A rotation over a table or `SELECT *` whose columns no `SourceColumns` gave: Redshift knows the
 * columns it keeps, the guard does not, so the canonical tree rotates only what the statement names
 * (enough for every check, which reads relations and calls). For the PostgreSQL rendering the plan
 * asks for the catalog columns of `relations`, or is refused with unknownRotationColumns.
 */
export interface RotationUnknown {
  construct: 'PIVOT' | 'UNPIVOT';
  /** Where the rotation was written (a `location`, so the tree comparisons ignore it like every other). */
  location: number | undefined;
  /**
   * The relations (name parts as written) whose catalog columns would tell the source's columns;
   * undefined when no catalog can (a join, a function, `*` over JOIN … USING).
   */
  relations?: string[][];
}

/**
 * Columns of relations as the warehouse's catalog showed them to the tenant, keyed by
 * `relationKey(name parts)`: with them a rotation over a table or `SELECT *` is complete.
 */
export type SourceColumns = Readonly<Record<string, readonly string[]>>;

export const relationKey = (parts: readonly string[]): string => JSON.stringify(parts);

/** The PostgreSQL target's refusal of a rotation whose kept columns are unknown (and no catalog could tell them). */
export const unknownRotationColumns = (unknown: RotationUnknown, sourceMap?: SourceMap): ApiError =>
  new ApiError(
    'UNSUPPORTED_SYNTAX',
    `${unknown.construct} over this source runs on Redshift only; here it needs a subquery with an explicit column list as its source`,
    {
      construct: unknown.construct,
      reason: `the guard cannot tell this source's columns (a join, a function, or * over merged columns), and ${unknown.construct} keeps every column it does not rotate`,
      rewrite: `${unknown.construct} over (SELECT col1, col2, … FROM table) instead of over the table or SELECT *`,
      ...sourceMap?.fromLocation(unknown.location),
    },
  );

/** Text that holds none of these words needs no token pass (the common PostgreSQL-only case). */
const MAY_HOLD_REDSHIFT_SYNTAX = /top|qualify|approximate|listagg|convert|sysdate|pivot|spectra_|\bat\s/i;

/** Tokens after which `qualify` is a name (`SELECT qualify, …`), never the clause. */
const NOT_BEFORE_A_CLAUSE = new Set(['.', ',', '(', 'AS', 'SELECT', 'DISTINCT', 'ALL', '']);

/** Clauses that end a QUALIFY condition (at its parenthesis depth). */
const AFTER_QUALIFY = new Set([
  'ORDER',
  'LIMIT',
  'OFFSET',
  'FETCH',
  'UNION',
  'INTERSECT',
  'EXCEPT',
  'WINDOW',
]);

/** Redshift date parts and their abbreviations (SQL reference "Date parts for date or timestamp functions"). */
const DATE_PARTS: Readonly<Record<string, string>> = (() => {
  const table: Record<string, string[]> = {
    millennium: ['millennium', 'millennia', 'mil', 'mils'],
    century: ['century', 'centuries', 'c', 'cent', 'cents'],
    decade: ['decade', 'decades', 'dec', 'decs'],
    epoch: ['epoch'],
    year: ['year', 'years', 'y', 'yr', 'yrs'],
    quarter: ['quarter', 'quarters', 'qtr', 'qtrs'],
    month: ['month', 'months', 'mon', 'mons'],
    week: ['week', 'weeks', 'w'],
    dow: ['dayofweek', 'dow', 'dw', 'weekday'],
    doy: ['dayofyear', 'doy', 'dy', 'yearday'],
    day: ['day', 'days', 'd'],
    hour: ['hour', 'hours', 'h', 'hr', 'hrs'],
    minute: ['minute', 'minutes', 'm', 'min', 'mins'],
    second: ['second', 'seconds', 's', 'sec', 'secs'],
    millisecond: [
      'millisecond',
      'milliseconds',
      'ms',
      'msec',
      'msecs',
      'msecond',
      'mseconds',
      'millisec',
      'millisecs',
      'millisecon',
    ],
    microsecond: [
      'microsecond',
      'microseconds',
      'microsec',
      'microsecs',
      'microsecond',
      'usecond',
      'useconds',
      'us',
      'usec',
      'usecs',
    ],
    timezone: ['timezone'],
    timezone_hour: ['timezone_hour'],
    timezone_minute: ['timezone_minute'],
  };
  const out: Record<string, string> = {};
  for (const [canonical, spellings] of Object.entries(table)) for (const s of spellings) out[s] = canonical;
  return out;
})();

/** Functions whose first argument is a date part (bare word or string). */
const DATE_PART_FUNCTIONS = new Set([
  'dateadd',
  'datediff',
  'date_part',
  'datepart',
  'date_trunc',
  'extract',
]);

/** The canonical spelling of a Redshift date part, or undefined when `word` is none. */
export function canonicalDatePart(word: string): string | undefined {
  return Object.hasOwn(DATE_PARTS, word.toLowerCase()) ? DATE_PARTS[word.toLowerCase()] : undefined;
}

export interface RedshiftParse {
  tree: ParseResult;
  /** Maps positions in the parsed text back to the text given to `parseRedshift`. */
  sourceMap: SourceMap;
  /** The text the PostgreSQL parser read. */
  text: string;
  /** Rotations whose source columns the statement does not say (given `sourceColumns` included). */
  unknownRotations: RotationUnknown[];
}

interface Markers {
  convert: Set<number>;
  approximate: Set<number>;
  listaggDistinct: Set<number>;
  sysdate: Set<number>;
}

/** A token's keyword spelling, computed once per token (the pass looks at each up to four times). */
const word = (t: LexToken | undefined): string => {
  if (t === undefined || t.kind === 'quoted' || t.kind === 'string') return '';
  if (t.upper === undefined) t.upper = t.text.toUpperCase();
  return t.upper;
};

/** Marker names all start with `spectra_`: only such words and quoted names need the look-up. */
const mayBeMarker = (t: LexToken) =>
  (t.kind === 'word' && (t.text.charCodeAt(0) | 0x20) === 0x73) ||
  (t.kind === 'quoted' && (t.text.charCodeAt(1) | 0x20) === 0x73);

/**
 * Redshift text (placeholders already `$n`) → canonical tree. `parent` maps the given text to the
 * tenant's; throws ParseFailure like parseSql.
 */
export function parseRedshift(text: string, parent: SourceMap, sourceColumns?: SourceColumns): RedshiftParse {
  const markers: Markers = {
    convert: new Set(),
    approximate: new Set(),
    listaggDistinct: new Set(),
    sysdate: new Set(),
  };
  let rewritten = text;
  let sourceMap = parent;
  if (MAY_HOLD_REDSHIFT_SYNTAX.test(text)) {
    const pass = rewriteTokens(text, markers, parent);
    if (pass !== undefined) ({ text: rewritten, sourceMap } = pass);
  }
  const tree = parseSql(rewritten);
  const unknownRotations: RotationUnknown[] = [];
  canonicalize(tree.stmts, markers, sourceMap, sourceColumns, unknownRotations);
  return { tree, sourceMap, text: rewritten, unknownRotations };
}

function rewriteTokens(
  text: string,
  markers: Markers,
  parent: SourceMap,
): { text: string; sourceMap: SourceMap } | undefined {
  const tokens = lexSql(text);
  const edits: Array<{ start: number; end: number; text: string; marker?: keyof Markers }> = [];
  const qualifyEnds: number[] = [];

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as LexToken;
    const w = word(token);
    const name = mayBeMarker(token) ? token.text.replace(/"/g, '').toLowerCase() : '';
    if (MARKER_NAMES.has(name)) {
      throw new ApiError('INVALID_SQL', `${token.text} is a name reserved by the SQL guard`, {
        construct: token.text,
        reason: 'the guard writes this name itself when it reads Redshift syntax',
        hint: 'rename it',
        ...parent.fromLocation(Buffer.byteLength(text.slice(0, token.start))),
      });
    }
    const prev = word(tokens[i - 1]);
    const next = tokens[i + 1];
    if (w === 'TOP' && next?.kind === 'integer') {
      const afterSelect =
        prev === 'SELECT' || ((prev === 'DISTINCT' || prev === 'ALL') && word(tokens[i - 2]) === 'SELECT');
      const then = tokens[i + 2];
      if (prev === 'SELECT' && then !== undefined && (word(then) === 'DISTINCT' || word(then) === 'ALL')) {
        // Redshift's own order, `SELECT TOP n DISTINCT …`: the marker goes after DISTINCT.
        edits.push({ start: token.start, end: next.end, text: '' });
        edits.push({ start: then.end, end: then.end, text: ` ${TOP_MARKER}(${next.text}),` });
        i += 2;
      } else if (afterSelect) {
        edits.push({ start: token.start, end: next.end, text: `${TOP_MARKER}(${next.text}),` });
        i++;
      }
    } else if (w === 'QUALIFY' && next !== undefined && !NOT_BEFORE_A_CLAUSE.has(prev)) {
      edits.push({ start: token.start, end: token.end, text: `WINDOW ${QUALIFY_MARKER} AS (PARTITION BY (` });
      qualifyEnds.push(qualifyEnd(tokens, i + 1));
    } else if (
      w === 'APPROXIMATE' &&
      (word(next) === 'COUNT' || word(next) === 'PERCENTILE_DISC') &&
      tokens[i + 2]?.text === '('
    ) {
      edits.push({ start: token.start, end: token.end, text: ' '.repeat(token.end - token.start) });
      edits.push({ start: next!.start, end: next!.start, text: '', marker: 'approximate' });
    } else if (w === 'LISTAGG' && next?.text === '(' && word(tokens[i + 2]) === 'DISTINCT' && prev !== '.') {
      const distinct = tokens[i + 2] as LexToken;
      edits.push({ start: token.start, end: token.start, text: '', marker: 'listaggDistinct' });
      edits.push({
        start: distinct.start,
        end: distinct.end,
        text: ' '.repeat(distinct.end - distinct.start),
      });
    } else if (w === 'CONVERT' && next?.text === '(' && prev !== '.') {
      edits.push({ start: token.start, end: token.start, text: '', marker: 'convert' });
      edits.push({ start: next.end, end: next.end, text: 'NULL::' });
    } else if (w === 'SYSDATE' && next?.text !== '(' && prev !== '.') {
      edits.push({ start: token.start, end: token.start, text: '', marker: 'sysdate' });
    } else if ((w === 'PIVOT' || w === 'UNPIVOT') && endsFromItem(tokens[i - 1])) {
      i = rotation(tokens, i, edits) ?? i;
    } else if (
      w === 'AT' &&
      isName(next) &&
      word(next) !== 'TIME' &&
      word(next) !== 'LOCAL' &&
      followsPath(tokens, i)
    ) {
      edits.push({ start: token.start, end: next!.end, text: `(${AT_MARKER}, ${next!.text})` });
    }
  }
  for (const end of qualifyEnds) edits.push({ start: end, end, text: '))' });
  if (edits.length === 0) return undefined;
  edits.sort((a, b) => a.start - b.start || a.end - b.end);

  let out = '';
  let outBytes = 0;
  let copied = 0;
  const replacements: Replacement[] = [];
  const append = (s: string) => {
    out += s;
    outBytes += Buffer.byteLength(s);
  };
  for (const edit of edits) {
    const { start, end } = edit;
    append(text.slice(copied, start));
    if (edit.marker !== undefined) markers[edit.marker].add(outBytes);
    const outStart = out.length;
    append(edit.text);
    if (edit.text.length !== end - start) {
      replacements.push({ originalStart: start, originalEnd: end, start: outStart, end: out.length });
    }
    copied = end;
  }
  append(text.slice(copied));
  return { text: out, sourceMap: new SourceMap(text, out, replacements, parent) };
}

const isName = (t: LexToken | undefined) => t !== undefined && (t.kind === 'word' || t.kind === 'quoted');

/** `AT` at token `at` follows `x.y [AS] alias` (an unnesting FROM item), not an expression. */
function followsPath(tokens: readonly LexToken[], at: number): boolean {
  const alias = at - 1;
  const end = word(tokens[alias - 1]) === 'AS' ? alias - 2 : alias - 1;
  return isName(tokens[alias]) && isName(tokens[end]) && tokens[end - 1]?.text === '.';
}

/** Words after which PIVOT is a name or a call, never the clause. */
const NOT_A_FROM_ITEM = new Set([
  'SELECT',
  'FROM',
  'JOIN',
  'ON',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'BY',
  'AS',
  'DISTINCT',
]);

const endsFromItem = (t: LexToken | undefined) =>
  t !== undefined &&
  (t.text === ')' || t.kind === 'quoted' || (t.kind === 'word' && !NOT_A_FROM_ITEM.has(word(t))));

/**
 * `PIVOT ( agg [AS a] FOR col IN ( v [AS x], … ) )` → `CROSS JOIN LATERAL (SELECT agg [AS a],
 * spectra_pivot(col), v [AS x], …)`, and `UNPIVOT [INCLUDE|EXCLUDE NULLS] ( value FOR name IN ( c
 * [AS x], … ) )` → `CROSS JOIN LATERAL (SELECT spectra_unpivot(value, name, include), c [AS x], …)`:
 * PostgreSQL syntax whose tree canonicalize() turns into the rotation. Returns the last token
 * consumed, or undefined when the tokens do not have the shape (the parser then reports it).
 */
function rotation(
  tokens: readonly LexToken[],
  at: number,
  edits: Array<{ start: number; end: number; text: string }>,
): number | undefined {
  const keyword = tokens[at] as LexToken;
  let open = at + 1;
  let include = false;
  const pivot = word(keyword) === 'PIVOT';
  if (!pivot && ['INCLUDE', 'EXCLUDE'].includes(word(tokens[open])) && word(tokens[open + 1]) === 'NULLS') {
    include = word(tokens[open]) === 'INCLUDE';
    open += 2;
  }
  if (tokens[open]?.text !== '(') return undefined;
  let depth = 0;
  let forAt = -1;
  let inAt = -1;
  let inClose = -1;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i] as LexToken;
    if (t.text === '(' || t.text === '[') depth++;
    else if (t.text === ')' || t.text === ']') {
      depth--;
      if (depth === 1 && inAt >= 0 && inClose < 0) inClose = i;
      if (depth > 0) continue;
      if (forAt < 0 || inClose !== i - 1 || tokens[inAt + 1]?.text !== '(') return undefined;
      const inOpen = tokens[inAt + 1] as LexToken;
      edits.push({
        start: keyword.start,
        end: (tokens[open] as LexToken).end,
        text: `CROSS JOIN LATERAL (SELECT ${pivot ? '' : `${UNPIVOT_MARKER}(`}`,
      });
      const forToken = tokens[forAt] as LexToken;
      edits.push({ start: forToken.start, end: forToken.end, text: pivot ? `, ${PIVOT_MARKER}(` : ',' });
      edits.push({
        start: (tokens[inAt] as LexToken).start,
        end: inOpen.end,
        text: pivot ? '),' : `, ${include ? 'TRUE' : 'FALSE'}),`,
      });
      const close = tokens[inClose] as LexToken;
      edits.push({ start: close.start, end: close.end, text: '' });
      return i;
    } else if (depth === 1 && forAt < 0 && word(t) === 'FOR') forAt = i;
    else if (depth === 1 && forAt >= 0 && inAt < 0 && word(t) === 'IN') inAt = i;
  }
  return undefined;
}

/** Where a QUALIFY condition starting at token `from` ends. */
function qualifyEnd(tokens: readonly LexToken[], from: number): number {
  let depth = 0;
  let end = tokens[from - 1]?.end ?? 0;
  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i] as LexToken;
    if (token.text === '(' || token.text === '[') depth++;
    else if (token.text === ')' || token.text === ']') {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && (token.text === ';' || AFTER_QUALIFY.has(word(token)))) break;
    end = token.end;
  }
  return end;
}

const invalid = (message: string, construct: string, sourceMap: SourceMap, location?: number) =>
  new ApiError('INVALID_SQL', message, {
    construct,
    reason: message,
    ...sourceMap.fromLocation(location),
  });

const funcName = (call: AnyNode): string[] =>
  ((call.funcname as AnyNode[] | undefined) ?? []).map((n) =>
    String((n.String as AnyNode | undefined)?.sval ?? '').toLowerCase(),
  );

/** Rewrites the marked tree in place into the canonical tree. */
function canonicalize(
  value: unknown,
  markers: Markers,
  sourceMap: SourceMap,
  sourceColumns: SourceColumns | undefined,
  unknownRotations: RotationUnknown[],
): void {
  /**
   * FROM item names and unnested elements' names per SELECT, innermost last (navigation reads them):
   * a name means what the nearest SELECT that defines it makes it, as in SQL's own scoping.
   */
  const scopes: Array<{ items: Set<string>; elements: Set<string> }> = [];
  /** Whether any unnesting was seen yet: without one, a two-part name is always a column. */
  let unnesting = false;
  const scopeOf = (name: string) => {
    for (let i = scopes.length - 1; i >= 0; i--) {
      const scope = scopes[i] as { items: Set<string>; elements: Set<string> };
      if (scope.items.has(name) || scope.elements.has(name)) return scope;
    }
    return undefined;
  };
  /** The WITH lists enclosing the node being walked, innermost last (a rotation's source may name one). */
  const withScopes: AnyNode[][] = [];
  const sources: SourceResolver = {
    cte: (name) => {
      for (let i = withScopes.length - 1; i >= 0; i--) {
        const found = withScopes[i]?.find((c) => (c.CommonTableExpr as AnyNode).ctename === name);
        if (found !== undefined) return found.CommonTableExpr as AnyNode;
      }
      return undefined;
    },
    catalog: sourceColumns,
    unknown: unknownRotations,
  };
  const walk = (node: unknown, selectBody: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, false);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as AnyNode;
    if (selectBody) {
      scopes.push({ items: new Set(), elements: new Set() });
      select(obj);
    }
    if ('JoinExpr' in obj) rotate(obj, sourceMap, sources);
    if ('FuncCall' in obj) funcCall(obj);
    else if ('ColumnRef' in obj) columnRef(obj);
    else if ('A_Indirection' in obj) indirection(obj.A_Indirection as AnyNode);
    const ctes = selectBody
      ? ((obj.withClause as AnyNode | undefined)?.ctes as AnyNode[] | undefined)
      : undefined;
    if (ctes !== undefined) {
      withScopes.push(ctes);
      // The WITH list first, so that a rotation over a CTE reads the CTE's canonical select list.
      walk(obj.withClause, false);
    }
    for (const key in obj) {
      if (ctes !== undefined && key === 'withClause') continue;
      walk(obj[key], key === 'SelectStmt' || (selectBody && (key === 'larg' || key === 'rarg')));
    }
    if (ctes !== undefined) withScopes.pop();
    if (selectBody) scopes.pop();
  };

  const select = (stmt: AnyNode) => {
    const earlier = new Set<string>();
    for (const item of (stmt.fromClause as AnyNode[] | undefined) ?? []) {
      const range = item.RangeVar as AnyNode | undefined;
      const path = range === undefined ? [] : rangeParts(range);
      if (range !== undefined && path.length > 1 && isItemName(earlier, path[0] as string))
        unnest(range, path);
      fromItemNames(item, earlier);
    }
    const scope = scopes.at(-1);
    for (const name of earlier) scope?.items.add(name);
    const targets = stmt.targetList as AnyNode[] | undefined;
    const first = (targets?.[0]?.ResTarget as AnyNode | undefined)?.val as AnyNode | undefined;
    const top = first?.FuncCall as AnyNode | undefined;
    if (top !== undefined && funcName(top).join('.') === TOP_MARKER) {
      if (stmt.limitCount !== undefined) {
        throw invalid('TOP and LIMIT cannot be used together', 'TOP', sourceMap, top.location as number);
      }
      stmt.limitCount = (top.args as Node[])[0];
      stmt.limitOption = 'LIMIT_OPTION_COUNT';
      stmt.targetList = targets!.slice(1);
      if ((stmt.targetList as unknown[]).length === 0) {
        throw invalid('TOP needs a select list after it', 'TOP', sourceMap, top.location as number);
      }
    }
    const windows = stmt.windowClause as AnyNode[] | undefined;
    const qualifyIndex = windows?.findIndex((w) => (w.WindowDef as AnyNode)?.name === QUALIFY_MARKER) ?? -1;
    if (windows !== undefined && qualifyIndex >= 0) {
      const def = windows[qualifyIndex]?.WindowDef as AnyNode;
      stmt[FLAG.qualify] = (def.partitionClause as Node[])[0];
      const rest = windows.filter((_, i) => i !== qualifyIndex);
      if (rest.length > 0) stmt.windowClause = rest;
      else delete stmt.windowClause;
    }
  };

  const funcCall = (wrapper: AnyNode) => {
    const call = wrapper.FuncCall as AnyNode;
    const location = call.location as number;
    const name = funcName(call);
    if (markers.convert.has(location) && name.length === 1 && name[0] === 'convert') {
      const args = (call.args as AnyNode[] | undefined) ?? [];
      const typeCast = args[0]?.TypeCast as AnyNode | undefined;
      if (args.length !== 2 || typeCast === undefined) {
        throw invalid(
          'CONVERT takes a type and an expression: CONVERT(type, expression)',
          'CONVERT',
          sourceMap,
          location,
        );
      }
      delete wrapper.FuncCall;
      wrapper.TypeCast = { arg: args[1], typeName: typeCast.typeName, location };
      return;
    }
    if (markers.approximate.has(location)) call[FLAG.approximate] = true;
    if (markers.listaggDistinct.has(location)) call[FLAG.listaggDistinct] = true;
    const base = name[name.length - 1] ?? '';
    if (DATE_PART_FUNCTIONS.has(base) && (name.length === 1 || name[0] === 'pg_catalog')) {
      const args = call.args as AnyNode[] | undefined;
      const part = args?.[0];
      const column = part?.ColumnRef as AnyNode | undefined;
      const fields = column?.fields as AnyNode[] | undefined;
      const bare = fields?.length === 1 ? (fields[0]?.String as AnyNode | undefined)?.sval : undefined;
      const constant = part?.A_Const as AnyNode | undefined;
      const literal = (constant?.sval as AnyNode | undefined)?.sval;
      if (typeof bare === 'string' && base !== 'extract') {
        const canonical = canonicalDatePart(bare);
        if (canonical !== undefined && part !== undefined) {
          delete part.ColumnRef;
          part.A_Const = { sval: { sval: canonical }, location: column?.location, [FLAG.datePart]: true };
        }
      } else if (typeof literal === 'string' && constant !== undefined) {
        const canonical = canonicalDatePart(literal);
        if (canonical !== undefined) (constant.sval as AnyNode).sval = canonical;
      }
    }
  };

  /** A SUPER array named `alias.path` after the FROM item `alias`: an unnesting, not a table. */
  const unnest = (range: AnyNode, path: string[]) => {
    const alias = range.alias as AnyNode | undefined;
    const colnames = ((alias?.colnames as AnyNode[] | undefined) ?? []).map((c) =>
      String((c.String as AnyNode | undefined)?.sval ?? ''),
    );
    const at = colnames.length === 2 && colnames[0] === AT_MARKER ? (colnames[1] as string) : null;
    if (colnames.length > 0 && at === null) {
      throw invalid(
        'an unnested SUPER array takes an alias and AT index, not a column list',
        'unnesting',
        sourceMap,
        range.location as number,
      );
    }
    if (alias !== undefined) delete alias.colnames;
    const elements = scopes.at(-1)?.elements;
    const flag: UnnestFlag = { element: elements?.has(path[0] as string) === true, at };
    range[FLAG.unnest] = flag;
    elements?.add(typeof alias?.aliasname === 'string' ? alias.aliasname : (path.at(-1) as string));
    unnesting = true;
  };

  /** How many leading name parts are the column (the rest navigates into it): `o.x` 1, `c.orders.x` 2. */
  const columnParts = (fields: AnyNode[]): number => {
    if (fields.length < 2 || (fields.length === 2 && !unnesting)) return fields.length;
    const first = (fields[0]?.String as AnyNode | undefined)?.sval;
    if (typeof first !== 'string' || !fields.every((f) => 'String' in f)) return fields.length;
    const scope = scopeOf(first);
    if (scope?.elements.has(first)) return 1;
    return fields.length >= 3 && scope !== undefined && isItemName(scope.items, first) ? 2 : fields.length;
  };

  /** `c.orders[0].id`: the column part of the reference, the rest navigation (canonical form). */
  const indirection = (node: AnyNode) => {
    const ref = (node.arg as AnyNode | undefined)?.ColumnRef as AnyNode | undefined;
    const fields = ref?.fields as AnyNode[] | undefined;
    if (ref === undefined || fields === undefined || !navigable(node)) return;
    const keep = columnParts(fields);
    const steps = (node.indirection as AnyNode[] | undefined) ?? [];
    // `(s).field` written with parentheses and no subscript stays PostgreSQL's composite field access.
    if (keep === fields.length && !steps.some((step) => 'A_Indices' in step)) return;
    ref.fields = fields.slice(0, keep);
    node.indirection = [...fields.slice(keep), ...steps];
    node[FLAG.navigation] = true;
  };

  const columnRef = (wrapper: AnyNode) => {
    const ref = wrapper.ColumnRef as AnyNode;
    const fields = ref.fields as AnyNode[];
    const keep = columnParts(fields);
    if (keep < fields.length) {
      delete wrapper.ColumnRef;
      wrapper.A_Indirection = {
        arg: { ColumnRef: { fields: fields.slice(0, keep), location: ref.location } },
        indirection: fields.slice(keep),
        [FLAG.navigation]: true,
      };
      return;
    }
    if (!markers.sysdate.has(ref.location as number)) return;
    delete wrapper.ColumnRef;
    wrapper.SQLValueFunction = {
      op: 'SVFOP_LOCALTIMESTAMP',
      typmod: -1,
      location: ref.location,
      [FLAG.sysdate]: true,
    };
  };

  walk(value, false);
}

/** SUPER navigation in the canonical tree (flagged by the front end). */
export const isNavigation = (node: AnyNode): boolean => node[FLAG.navigation] === true;

/**
 * The shape navigation takes: attributes (`.id`) and single subscripts (`[0]`, `[i]`, never
 * slices) on a column reference.
 */
function navigable(node: AnyNode): boolean {
  const ref = (node.arg as AnyNode | undefined)?.ColumnRef as AnyNode | undefined;
  const fields = (ref?.fields as AnyNode[] | undefined) ?? [];
  const steps = (node.indirection as AnyNode[] | undefined) ?? [];
  return (
    fields.length > 0 &&
    fields.every((f) => 'String' in f) &&
    steps.length > 0 &&
    steps.every((s) => {
      const idx = s.A_Indices as AnyNode | undefined;
      return (
        'String' in s ||
        (idx !== undefined && idx.is_slice !== true && idx.lidx === undefined && idx.uidx !== undefined)
      );
    })
  );
}

/**
 * System schemas and the service's own (`spectra_…`, tenants' among them): an alias spelled like one
 * does not make `alias.x` a path, so `FROM sales AS spectra_globex, spectra_globex.sales` stays a
 * table reference the relation check judges, whichever way a warehouse would resolve it.
 */
const SCHEMA_LIKE = /^(pg_|information_schema$|spectra_)/i;

const isItemName = (names: ReadonlySet<string>, name: string) => names.has(name) && !SCHEMA_LIKE.test(name);

/** A RangeVar's name parts as written: `[catalog,] [schema,] name`. */
export const rangeParts = (range: AnyNode): string[] =>
  [range.catalogname, range.schemaname, range.relname].filter((p): p is string => typeof p === 'string');

/** The names by which later FROM items and expressions can refer to `item`. */
function fromItemNames(item: AnyNode, into: Set<string>): void {
  const join = item.JoinExpr as AnyNode | undefined;
  if (join !== undefined) {
    fromItemNames(join.larg as AnyNode, into);
    fromItemNames(join.rarg as AnyNode, into);
  }
  const node = (item.RangeVar ?? item.RangeSubselect ?? item.RangeFunction ?? join) as AnyNode | undefined;
  const alias = (node?.alias as AnyNode | undefined)?.aliasname;
  if (typeof alias === 'string') into.add(alias);
  else if (typeof node?.relname === 'string') into.add(node.relname);
}

const str = (sval: string) => ({ String: { sval } });
const column = (...names: string[]): AnyNode => ({ ColumnRef: { fields: names.map(str) } });
const singleName = (node: unknown): string | undefined => {
  const fields = ((node as AnyNode | undefined)?.ColumnRef as AnyNode | undefined)?.fields as
    | AnyNode[]
    | undefined;
  const name = fields?.length === 1 ? (fields[0]?.String as AnyNode | undefined)?.sval : undefined;
  return typeof name === 'string' ? name : undefined;
};

/** What a rotation needs to know to find its source's columns. */
interface SourceResolver {
  /** The CTE a one-part relation name refers to at the rotation, if any. */
  cte(name: string): AnyNode | undefined;
  /** Catalog columns looked up for this statement (PostgreSQL target), if any. */
  catalog: SourceColumns | undefined;
  /** Where a rotation whose columns stay unknown is recorded. */
  unknown: RotationUnknown[];
}

/** A FROM item's output columns: the names, the relations whose catalog columns would tell them, or undefined (unknowable). */
type SourceOutput = { names: string[] } | { relations: string[][] } | undefined;

/** CTEs that refer to CTEs nest at most this deep before the source counts as unknowable. */
const MAX_SOURCE_DEPTH = 8;

const isStarRef = (value: AnyNode | undefined): AnyNode[] | undefined => {
  const fields = (value?.ColumnRef as AnyNode | undefined)?.fields as AnyNode[] | undefined;
  return fields !== undefined && 'A_Star' in (fields.at(-1) ?? {}) ? fields : undefined;
};

/** A column alias list (`AS s(a, b)`) renames the leading columns. */
function renamed(output: SourceOutput, colnames: unknown): SourceOutput {
  const aliases = (colnames as AnyNode[] | undefined) ?? [];
  if (output === undefined || !('names' in output) || aliases.length === 0) return output;
  const names = [...output.names];
  aliases.forEach((c, i) => {
    names[i] = String((c.String as AnyNode | undefined)?.sval ?? names[i]);
  });
  return { names };
}

/** The output columns of a FROM item: a table or view (catalog), a CTE, or a subquery. */
function itemOutput(item: AnyNode, sources: SourceResolver, depth: number): SourceOutput {
  if (depth > MAX_SOURCE_DEPTH) return undefined;
  const range = item.RangeVar as AnyNode | undefined;
  if (range !== undefined) {
    if (range[FLAG.unnest] !== undefined) return undefined;
    const parts = rangeParts(range);
    const cte = parts.length === 1 ? sources.cte(parts[0] as string) : undefined;
    const colnames = (range.alias as AnyNode | undefined)?.colnames;
    if (cte !== undefined) {
      const query = (cte.ctequery as AnyNode | undefined)?.SelectStmt as AnyNode | undefined;
      const output = query === undefined ? undefined : queryOutput(query, sources, depth + 1);
      return renamed(renamed(output, cte.aliascolnames), colnames);
    }
    const known = sources.catalog?.[relationKey(parts)];
    return renamed(known === undefined ? { relations: [parts] } : { names: [...known] }, colnames);
  }
  const sub = item.RangeSubselect as AnyNode | undefined;
  const query = (sub?.subquery as AnyNode | undefined)?.SelectStmt as AnyNode | undefined;
  if (sub === undefined || query === undefined || sub.lateral === true) return undefined;
  return renamed(queryOutput(query, sources, depth + 1), (sub.alias as AnyNode | undefined)?.colnames);
}

/** The FROM items whose columns `*` concatenates, or undefined when a join merges columns (USING, NATURAL). */
function starItems(from: AnyNode[]): AnyNode[] | undefined {
  const items: AnyNode[] = [];
  const add = (item: AnyNode): boolean => {
    const join = item.JoinExpr as AnyNode | undefined;
    if (join === undefined) return items.push(item) > 0;
    if (join.isNatural === true || join.usingClause !== undefined || join.alias !== undefined) return false;
    return add(join.larg as AnyNode) && add(join.rarg as AnyNode);
  };
  return from.every(add) ? items : undefined;
}

/** The name `x.*` uses for a FROM item. */
const itemName = (item: AnyNode): string | undefined => {
  const node = (item.RangeVar ?? item.RangeSubselect) as AnyNode | undefined;
  const alias = (node?.alias as AnyNode | undefined)?.aliasname;
  return typeof alias === 'string' ? alias : typeof node?.relname === 'string' ? node.relname : undefined;
};

/** The output columns of a query: its select list's names, `*` and `x.*` expanded through its FROM items. */
function queryOutput(query: AnyNode, sources: SourceResolver, depth: number): SourceOutput {
  let stmt: AnyNode | undefined = query;
  while (stmt !== undefined && stmt.op !== undefined && stmt.op !== 'SETOP_NONE') stmt = stmt.larg as AnyNode;
  const names: string[] = [];
  const relations: string[][] = [];
  const from = (stmt?.fromClause as AnyNode[] | undefined) ?? [];
  const expand = (items: AnyNode[] | undefined): boolean => {
    if (items === undefined || items.length === 0) return false;
    for (const item of items) {
      const output = itemOutput(item, sources, depth);
      if (output === undefined) return false;
      if ('names' in output) names.push(...output.names);
      else relations.push(...output.relations);
    }
    return true;
  };
  for (const entry of (stmt?.targetList as AnyNode[] | undefined) ?? []) {
    const target = entry.ResTarget as AnyNode;
    const star = isStarRef(target.val as AnyNode);
    if (star !== undefined) {
      const qualifier = star.length === 2 ? (star[0]?.String as AnyNode | undefined)?.sval : undefined;
      const items = starItems(from);
      const chosen =
        star.length === 1
          ? items
          : qualifier === undefined
            ? undefined
            : items?.filter((i) => itemName(i) === qualifier);
      if (chosen?.length !== (star.length === 1 ? items?.length : 1) || !expand(chosen)) return undefined;
      continue;
    }
    const name = typeof target.name === 'string' ? target.name : singleName(target.val);
    const fields = (target.val as AnyNode).ColumnRef as AnyNode | undefined;
    const last = (fields?.fields as AnyNode[] | undefined)?.at(-1)?.String as AnyNode | undefined;
    const resolved = name ?? (typeof last?.sval === 'string' ? last.sval : undefined);
    if (resolved === undefined) return undefined;
    names.push(resolved);
  }
  if (relations.length > 0) return { relations };
  return names.length === 0 ? undefined : { names };
}

/** Column names referenced anywhere in `node` (their last part). */
function referencedColumns(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const item of node) referencedColumns(item, into);
  else if (node !== null && typeof node === 'object') {
    const ref = (node as AnyNode).ColumnRef as AnyNode | undefined;
    const last = (ref?.fields as AnyNode[] | undefined)?.at(-1)?.String as AnyNode | undefined;
    if (typeof last?.sval === 'string') into.add(last.sval);
    for (const key in node as AnyNode) referencedColumns((node as AnyNode)[key], into);
  }
  return into;
}

/** The column name Redshift gives a PIVOT value without an alias: the constant as written. */
function constantName(value: AnyNode): string | undefined {
  const cast = value.TypeCast as AnyNode | undefined;
  if (cast !== undefined) return constantName(cast.arg as AnyNode);
  const c = value.A_Const as AnyNode | undefined;
  if (c === undefined) return undefined;
  if (c.isnull === true) return 'null';
  if (c.sval !== undefined) return String((c.sval as AnyNode).sval ?? '').toLowerCase();
  if (c.ival !== undefined) return String((c.ival as AnyNode).ival ?? 0);
  if (c.fval !== undefined) return String((c.fval as AnyNode).fval);
  if (c.boolval !== undefined) return String((c.boolval as AnyNode).boolval === true);
  return undefined;
}

/**
 * The token pass's `source CROSS JOIN LATERAL (SELECT … spectra_pivot(col) …)` → the rotation as a
 * FROM subquery the guard analyses like any other:
 * PIVOT   → `(SELECT g…, agg(CASE WHEN col = v THEN x END) AS v… FROM source GROUP BY g…)`,
 * UNPIVOT → `(SELECT o…, spectra_name AS name, spectra_value AS value FROM source CROSS JOIN
 *            LATERAL (VALUES ('c', c), …) AS spectra_unpivot(spectra_name, spectra_value)
 *            [WHERE spectra_value IS NOT NULL])`.
 */
function rotate(wrapper: AnyNode, sourceMap: SourceMap, sources: SourceResolver): void {
  const join = wrapper.JoinExpr as AnyNode;
  const right = (join.rarg as AnyNode | undefined)?.RangeSubselect as AnyNode | undefined;
  const select = (right?.subquery as AnyNode | undefined)?.SelectStmt as AnyNode | undefined;
  const targets = ((select?.targetList as AnyNode[] | undefined) ?? []).map((t) => t.ResTarget as AnyNode);
  const markerAt = targets.findIndex((t) => {
    const name = funcName(((t.val as AnyNode | undefined)?.FuncCall as AnyNode | undefined) ?? {});
    return name.length === 1 && (name[0] === PIVOT_MARKER || name[0] === UNPIVOT_MARKER);
  });
  if (right === undefined || markerAt < 0) return;
  const marker = (targets[markerAt] as AnyNode).val as AnyNode;
  const call = marker.FuncCall as AnyNode;
  const pivot = funcName(call)[0] === PIVOT_MARKER;
  const construct = pivot ? 'PIVOT' : 'UNPIVOT';
  const left = join.larg as AnyNode;
  if ('JoinExpr' in left) rotate(left, sourceMap, sources);
  const output = itemOutput(left, sources, 0);
  const names = output !== undefined && 'names' in output ? output.names : [];
  const unknown: RotationUnknown | undefined =
    output !== undefined && 'names' in output
      ? undefined
      : {
          construct,
          location: typeof call.location === 'number' ? call.location : undefined,
          ...(output !== undefined ? { relations: output.relations } : {}),
        };
  if (unknown !== undefined) sources.unknown.push(unknown);
  const args = (call.args as AnyNode[] | undefined) ?? [];
  const base: AnyNode = { limitOption: 'LIMIT_OPTION_DEFAULT', op: 'SETOP_NONE' };
  let rotated: AnyNode;
  if (pivot) {
    const aggregates = targets.slice(0, markerAt);
    const values = targets.slice(markerAt + 1);
    const aggregate = aggregates[0];
    const aggCall = (aggregate?.val as AnyNode | undefined)?.FuncCall as AnyNode | undefined;
    const forName = singleName(args[0]);
    if (aggregates.length !== 1 || aggCall === undefined || aggCall.over !== undefined) {
      throw invalid(
        'PIVOT takes one aggregate call: PIVOT (SUM(x) FOR col IN (…))',
        construct,
        sourceMap,
        call.location as number,
      );
    }
    if (args.length !== 1 || forName === undefined) {
      throw invalid('PIVOT … FOR takes a column name', construct, sourceMap, call.location as number);
    }
    const star = aggCall.agg_star === true;
    const aggArgs = (aggCall.args as AnyNode[] | undefined) ?? [];
    if (!star && aggArgs.length === 0) {
      throw invalid(
        'the PIVOT aggregate needs an argument',
        construct,
        sourceMap,
        aggCall.location as number,
      );
    }
    const used = referencedColumns(aggArgs, new Set([forName]));
    const groups = names.filter((n) => !used.has(n));
    const pivoted = values.map((value) => {
      const valueName = constantName(value.val as AnyNode);
      if (valueName === undefined) {
        throw invalid('PIVOT … IN takes constants', construct, sourceMap, value.location as number);
      }
      const name = `${typeof value.name === 'string' ? value.name : valueName}${typeof aggregate?.name === 'string' ? `_${aggregate.name}` : ''}`;
      const when = {
        A_Expr: {
          kind: 'AEXPR_OP',
          name: [str('=')],
          lexpr: cloneTree(args[0]),
          rexpr: cloneTree(value.val),
        },
      };
      const result = star ? { A_Const: { ival: { ival: 1 } } } : cloneTree(aggArgs[0]);
      const cased = { CaseExpr: { args: [{ CaseWhen: { expr: when, result } }] } };
      const { agg_star: _, ...rest } = cloneTree(aggCall);
      return {
        ResTarget: {
          name,
          val: { FuncCall: { ...rest, args: [cased, ...cloneTree(aggArgs.slice(1))] } },
        },
      };
    });
    if (pivoted.length === 0)
      throw invalid('PIVOT … IN needs at least one value', construct, sourceMap, call.location as number);
    rotated = {
      targetList: [...groups.map((g) => ({ ResTarget: { val: column(g) } })), ...pivoted],
      fromClause: [left],
      ...(groups.length > 0 ? { groupClause: groups.map((g) => column(g)) } : {}),
      ...base,
    };
    const flag: PivotFlag = {
      groups: groups.length,
      aggregateAlias: typeof aggregate?.name === 'string' ? aggregate.name : null,
      valueAliases: values.map((v) => (typeof v.name === 'string' ? v.name : null)),
      star,
      ...(unknown ? { unknown } : {}),
    };
    right[FLAG.pivot] = flag;
  } else {
    const valueName = singleName(args[0]);
    const nameName = singleName(args[1]);
    const include =
      ((args[2]?.A_Const as AnyNode | undefined)?.boolval as AnyNode | undefined)?.boolval === true;
    const columns = targets.slice(markerAt + 1);
    if (markerAt !== 0 || valueName === undefined || nameName === undefined || columns.length === 0) {
      throw invalid(
        'UNPIVOT takes (value_column FOR name_column IN (column, …))',
        construct,
        sourceMap,
        call.location as number,
      );
    }
    const rotatedNames = columns.map((c) => {
      const name = singleName(c.val);
      if (name === undefined)
        throw invalid('UNPIVOT … IN takes column names', construct, sourceMap, c.location as number);
      return name;
    });
    const others = names.filter((n) => !rotatedNames.includes(n));
    const rows = columns.map((c, i) => ({
      List: {
        items: [
          { A_Const: { sval: { sval: typeof c.name === 'string' ? c.name : (rotatedNames[i] as string) } } },
          cloneTree(c.val),
        ],
      },
    }));
    const valuesItem = {
      RangeSubselect: {
        lateral: true,
        subquery: { SelectStmt: { valuesLists: rows, ...base } },
        alias: { aliasname: UNPIVOT_MARKER, colnames: [str(UNPIVOT_NAME), str(UNPIVOT_VALUE)] },
      },
    };
    rotated = {
      targetList: [
        ...others.map((o) => ({ ResTarget: { val: column(o) } })),
        { ResTarget: { name: nameName, val: column(UNPIVOT_MARKER, UNPIVOT_NAME) } },
        { ResTarget: { name: valueName, val: column(UNPIVOT_MARKER, UNPIVOT_VALUE) } },
      ],
      fromClause: [{ JoinExpr: { jointype: 'JOIN_INNER', larg: left, rarg: valuesItem } }],
      ...(include
        ? {}
        : {
            whereClause: {
              NullTest: { arg: column(UNPIVOT_MARKER, UNPIVOT_VALUE), nulltesttype: 'IS_NOT_NULL' },
            },
          }),
      ...base,
    };
    const flag: UnpivotFlag = {
      includeNulls: include,
      aliases: columns.map((c) => (typeof c.name === 'string' ? c.name : null)),
      ...(unknown ? { unknown } : {}),
    };
    right[FLAG.unpivot] = flag;
  }
  delete right.lateral;
  right.subquery = { SelectStmt: rotated };
  delete wrapper.JoinExpr;
  wrapper.RangeSubselect = right;
}
