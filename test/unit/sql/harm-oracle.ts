/**
 * The property tests' judge of harm: what the SQL the warehouse would run reads or calls that the
 * always-blocked table of docs/security.md forbids, read off PostgreSQL's parse tree. Not a regex
 * over the text, where `information_schema` may be a tenant table's name, a string or a column; and
 * written from the documented rules, not with src/sql's own walk, so a guard bug cannot vouch for itself.
 */
import { parseSql } from '../../../src/sql/parser.js';

type AnyNode = Record<string, unknown>;

/** pg_catalog, pg_toast, pg_temp_N, pg_internal, any pg_* schema, and information_schema. */
const SYSTEM_SCHEMA = /^(pg_|information_schema$)/i;
/** PostgreSQL catalogs (found unqualified through the search path) and Redshift system tables and views. */
const SYSTEM_RELATION = /^(pg_|stl_|stv_|svl_|svv_|svcs_|sys_|stcs_|stll_)/i;
const CATALOG_LOOKUP_TYPE =
  /^reg(class|collation|config|dictionary|namespace|oper|operator|proc|procedure|role|type)$/i;
/** PostgreSQL's grammar spells SQL syntax (COLLATION FOR) with this pg_* function: a value, not a catalog read. */
const SYNTAX_FUNCTION = /^pg_collation_for$/;
const BLOCKED_FUNCTION = new RegExp(
  [
    '^pg_', // sleeps, signals, files, advisory locks, and every other catalog reader
    '^(set_config|current_setting|setseed)$',
    '^lo_',
    '^(loread|lowrite)$',
    '^dblink',
    '^http_',
    '^postgres_fdw',
    '^inet_(server|client)_(addr|port)$',
    '^(query|cursor|table|schema|database)_to_xml',
    '^(ts_stat|ts_rewrite)$',
    '^(nextval|setval|currval|lastval)$',
    '^txid_',
    '^has_\\w*_privilege$',
    '^to_reg',
    '^(version|current_query|format_type)$',
    '_description$',
  ].join('|'),
);
const SAMPLE_METHODS = new Set(['bernoulli', 'system']);
const WRITES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

const names = (list: unknown): string[] =>
  Array.isArray(list) ? list.map((n) => (n as { String?: { sval?: string } }).String?.sval ?? '*') : [];

/**
 * Each harmful use in `sql` (which must parse), described; empty when the statement is harmless.
 * Harm is what the always-blocked rules and `allowedSchemas` forbid; the level's function allowlist
 * and the complexity limits are not judged here.
 */
export function harmfulUses(sql: string, allowedSchemas: readonly string[] = ['public']): string[] {
  const found: string[] = [];
  // The parser reads up to a NUL and ignores the rest (`SELECT 1\0; DROP …`).
  if (sql.includes('\0')) found.push('NUL character');
  const stmts = parseSql(sql).stmts ?? [];
  if (stmts.length !== 1) found.push(`${stmts.length} statements`);
  for (const { stmt } of stmts) {
    const kind = Object.keys(stmt ?? {})[0] ?? 'empty statement';
    if (kind !== 'SelectStmt') found.push(`statement ${kind}`);
  }
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [type, child] of Object.entries(value as AnyNode)) {
      const node = (child ?? {}) as AnyNode;
      if (WRITES.has(type)) found.push(`statement ${type}`);
      if (type === 'intoClause') found.push('SELECT INTO');
      if (type === 'lockingClause' && Array.isArray(child) && child.length > 0) found.push('locking clause');
      if (type === 'RangeVar') {
        const relation = [node.catalogname, node.schemaname, node.relname].filter(
          (p) => typeof p === 'string',
        );
        if (node.catalogname !== undefined) found.push(`cross-database relation ${relation.join('.')}`);
        if (typeof node.schemaname === 'string' && SYSTEM_SCHEMA.test(node.schemaname))
          found.push(`system schema ${relation.join('.')}`);
        if (SYSTEM_RELATION.test(String(node.relname))) found.push(`system relation ${relation.join('.')}`);
        if (typeof node.schemaname === 'string' && !allowedSchemas.includes(node.schemaname.toLowerCase()))
          found.push(`relation outside the allowed schemas ${relation.join('.')}`);
      }
      if (type === 'ColumnRef' && names(node.fields).length > 3)
        found.push(`cross-database column ${names(node.fields).join('.')}`);
      if (type === 'FuncCall') {
        const parts = names(node.funcname).map((p) => p.toLowerCase());
        const name = parts.at(-1) ?? '';
        const schema = parts.length > 1 ? parts.at(-2) : undefined;
        if (parts.length > 2) found.push(`cross-database function ${parts.join('.')}`);
        if (schema !== undefined && schema !== 'pg_catalog')
          found.push(`function outside pg_catalog ${parts.join('.')}`);
        if (BLOCKED_FUNCTION.test(name) && !SYNTAX_FUNCTION.test(name))
          found.push(`function ${parts.join('.')}`);
      }
      if (type === 'TypeName' || type === 'typeName') {
        const typeName = names(node.names).at(-1) ?? '';
        if (CATALOG_LOOKUP_TYPE.test(typeName)) found.push(`catalog look-up type ${typeName}`);
      }
      if (type === 'RangeTableSample') {
        const method = names(node.method).join('.').toLowerCase();
        if (!SAMPLE_METHODS.has(method)) found.push(`TABLESAMPLE ${method}`);
      }
      walk(child);
    }
  };
  walk(stmts);
  return found;
}
