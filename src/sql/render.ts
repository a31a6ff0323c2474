/**
 * The SQL the warehouse runs is always written by us: deparse the checked tree, parse the result
 * again, and require the same tree back (source locations aside). A deparser that drops or changes
 * anything (it once wrote `FETCH … WITH TIES` as a plain LIMIT) is caught here instead of running.
 */
import { ApiError } from '../domain/errors.js';
import { deparseSql, ParseFailure, type ParseResult, parseSql } from './parser.js';

/** Source positions, which legitimately differ between the tenant's text and ours. */
const POSITION_KEYS = new Set([
  'location',
  'name_location',
  'list_start',
  'list_end',
  'rexpr_list_start',
  'rexpr_list_end',
  'stmt_location',
  'stmt_len',
]);

/** A copy of a parse tree (plain objects, arrays, scalars); several times faster than structuredClone here. */
export function cloneTree<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneTree) as T;
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const key in value) copy[key] = cloneTree((value as Record<string, unknown>)[key]);
  return copy as T;
}

/** Equality of two parse trees, ignoring source positions (the fast path: no paths built). */
export function sameTree(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameTree(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let keysA = 0;
  for (const key in ra) {
    if (POSITION_KEYS.has(key)) continue;
    keysA++;
    if (!sameTree(ra[key], rb[key])) return false;
  }
  let keysB = 0;
  for (const key in rb) if (!POSITION_KEYS.has(key)) keysB++;
  return keysA === keysB;
}

/** The path of the first difference between two trees, ignoring source positions; undefined if equal. */
export function firstDifference(a: unknown, b: unknown, path = '$'): string | undefined {
  if (a === b) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return path;
  if (Array.isArray(a) !== Array.isArray(b)) return path;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}.length`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const key of keys) {
    if (POSITION_KEYS.has(key)) continue;
    const d = firstDifference(ra[key], rb[key], `${path}.${key}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

const cannotRewrite = (reason: string, extra: Record<string, unknown> = {}) =>
  new ApiError('UNSUPPORTED_SYNTAX', `the statement cannot be re-written faithfully: ${reason}`, {
    construct: typeof extra.construct === 'string' ? extra.construct : 'statement',
    reason,
    rewrite: 'express this part with other SQL (see docs/security.md "SQL guard")',
    ...extra,
  });

/** Deparsed SQL for `tree`, verified to parse back to the same tree. */
export function renderVerified(tree: ParseResult): string {
  let sql: string;
  try {
    sql = deparseSql(tree);
  } catch (error) {
    if (error instanceof RangeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const nodeType = /node type: (\w+)/.exec(message)?.[1];
    throw cannotRewrite(nodeType ? `${nodeType} is not supported` : 'the deparser failed', {
      construct: nodeType ?? 'statement',
    });
  }
  let reparsed: ParseResult;
  try {
    reparsed = parseSql(sql);
  } catch (error) {
    if (error instanceof ParseFailure && error.tooDeep) throw error;
    throw cannotRewrite('the re-written statement does not parse');
  }
  const difference = sameTree(tree.stmts, reparsed.stmts)
    ? undefined
    : firstDifference(tree.stmts, reparsed.stmts);
  if (difference !== undefined) {
    const nodeTypes = difference.match(/\.[A-Z]\w*/g) ?? [];
    throw cannotRewrite('the re-written statement differs from the validated one', {
      construct: nodeTypes.at(-1)?.slice(1) ?? 'statement',
      path: difference,
    });
  }
  return sql;
}
