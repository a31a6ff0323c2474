/**
 * The Redshift dialect front end. PostgreSQL's grammar rejects a few Redshift constructs (`TOP n`,
 * `QUALIFY`, `APPROXIMATE`, `LISTAGG(DISTINCT …) WITHIN GROUP`, `CONVERT(type, x)`); a pass over
 * the scanner's tokens (never the raw text: strings, comments and quoted names are single tokens)
 * turns each into PostgreSQL syntax that parses, remembering where it did so. The parse tree is
 * then made *canonical*: every Redshift construct becomes ordinary nodes (TOP → LIMIT, QUALIFY →
 * a `spectra_qualify` expression the analysis walks like any other) plus a `spectra_*` flag where
 * the Redshift rendering must write it differently (render-redshift.ts, render-postgres.ts).
 */
import type { Node } from 'libpg-query';
import { ApiError } from '../domain/errors.js';
import { type ParseResult, parseSql } from './parser.js';
import { type LexToken, lexSql } from './redshift-lexer.js';
import { type Replacement, SourceMap } from './source-map.js';

type AnyNode = Record<string, unknown>;

/** Names the rewrite writes into the text; a tenant's own use of them would be mistaken for ours. */
const TOP_MARKER = 'spectra_top';
const QUALIFY_MARKER = 'spectra_qualify';
const MARKER_NAMES = new Set([TOP_MARKER, QUALIFY_MARKER]);

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
} as const;

/** Text that holds none of these words needs no token pass (the common PostgreSQL-only case). */
const MAY_HOLD_REDSHIFT_SYNTAX = /top|qualify|approximate|listagg|convert|sysdate|spectra_/i;

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
}

interface Markers {
  convert: Set<number>;
  approximate: Set<number>;
  listaggDistinct: Set<number>;
  sysdate: Set<number>;
}

const word = (t: LexToken | undefined) =>
  t === undefined || t.kind === 'quoted' || t.kind === 'string' ? '' : t.text.toUpperCase();

/**
 * Redshift text (placeholders already `$n`) → canonical tree. `parent` maps the given text to the
 * tenant's; throws ParseFailure like parseSql.
 */
export function parseRedshift(text: string, parent: SourceMap): RedshiftParse {
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
  canonicalize(tree.stmts, markers, sourceMap);
  return { tree, sourceMap, text: rewritten };
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
    const name =
      token.kind === 'word' || token.kind === 'quoted' ? token.text.replace(/"/g, '').toLowerCase() : '';
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
function canonicalize(value: unknown, markers: Markers, sourceMap: SourceMap): void {
  const walk = (node: unknown, selectBody: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, false);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as AnyNode;
    if (selectBody) select(obj);
    if ('FuncCall' in obj) funcCall(obj);
    else if ('ColumnRef' in obj) columnRef(obj);
    for (const key in obj) {
      walk(obj[key], key === 'SelectStmt' || (selectBody && (key === 'larg' || key === 'rarg')));
    }
  };

  const select = (stmt: AnyNode) => {
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

  const columnRef = (wrapper: AnyNode) => {
    const ref = wrapper.ColumnRef as AnyNode;
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
