/**
 * The catalog API over the Data API (`listTables`): three statements run as the tenant's database
 * user through ExecuteStatement. Redshift shows every table in its catalog views to every user
 * (SVV_TABLES, ListTables) unless metadata security is on, so readability is decided by
 * `has_table_privilege(…, 'SELECT')` for that user, never by names. Column types get the names
 * query metadata gives them (catalog.ts); row estimates are not offered: Redshift's counts ignore
 * row-level security and would tell one tenant how much the others store.
 */
import type { CatalogTable } from '../port.js';
import { type CatalogQuery, informationSchemaTypeName } from './catalog.js';

const READABLE = (alias: string) =>
  `has_table_privilege(quote_ident(${alias}.table_schema) || '.' || quote_ident(${alias}.table_name), 'SELECT')`;
const USER_SCHEMA = (alias: string) =>
  `substring(CAST(${alias}.table_schema AS VARCHAR), 1, 3) <> 'pg_'
  AND substring(CAST(${alias}.table_schema AS VARCHAR), 1, 8) <> 'spectra_'
  AND CAST(${alias}.table_schema AS VARCHAR) <> 'information_schema'`;

const TABLES_SQL = `SELECT t.table_schema, t.table_name, t.table_type, d.description
FROM information_schema.tables t
LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = t.table_schema
LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.objsubid = 0
WHERE t.table_type IN ('BASE TABLE', 'VIEW') AND ${USER_SCHEMA('t')} AND ${READABLE('t')}
ORDER BY t.table_schema, t.table_name`;

const COLUMNS_SQL = `SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.udt_name,
  c.character_maximum_length, c.numeric_precision, c.numeric_scale, c.is_nullable
FROM information_schema.columns c
WHERE ${USER_SCHEMA('c')} AND ${READABLE('c')}
ORDER BY c.table_schema, c.table_name, c.ordinal_position`;

/** key_column_usage does not say which constraint is the primary key; pg_constraint does. */
const PRIMARY_KEYS_SQL = `SELECT k.table_schema, k.table_name, k.column_name
FROM information_schema.key_column_usage k
JOIN pg_catalog.pg_namespace n ON n.nspname = k.constraint_schema
JOIN pg_catalog.pg_constraint con ON con.connamespace = n.oid AND con.conname = k.constraint_name
WHERE con.contype = 'p' AND ${USER_SCHEMA('k')} AND ${READABLE('k')}
ORDER BY k.table_schema, k.table_name, k.ordinal_position`;

const keyOf = (schema: unknown, table: unknown) => `${String(schema)}\u0000${String(table)}`;

export async function listTablesOverDataApi(query: CatalogQuery): Promise<CatalogTable[]> {
  const [tables, columns, keys] = [
    await query(TABLES_SQL, []),
    await query(COLUMNS_SQL, []),
    await query(PRIMARY_KEYS_SQL, []),
  ];
  const byKey = new Map<string, CatalogTable>();
  for (const [schema, name, type, description] of tables) {
    byKey.set(keyOf(schema, name), {
      schema: String(schema),
      name: String(name),
      kind: type === 'VIEW' ? 'view' : 'table',
      columns: [],
      primaryKey: [],
      rowEstimate: null,
      description: description === null || description === undefined ? null : String(description),
    });
  }
  for (const [schema, table, column, dataType, udt, length, precision, scale, nullable] of columns) {
    byKey.get(keyOf(schema, table))?.columns.push({
      name: String(column),
      type: informationSchemaTypeName(String(column), dataType, udt, length, precision, scale),
      nullable: String(nullable) !== 'NO',
    });
  }
  for (const [schema, table, column] of keys)
    byKey.get(keyOf(schema, table))?.primaryKey.push(String(column));
  return [...byKey.values()];
}
