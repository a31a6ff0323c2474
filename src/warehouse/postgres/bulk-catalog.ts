/**
 * The catalog as a tenant's role sees it, for the Bulk API: resolve a table the client named
 * (matched against pg_class by value, never interpolated), its columns, unique keys, CHECK
 * constraints and the role's privileges. Runs inside the caller's transaction, after
 * `SET LOCAL ROLE`, so `has_table_privilege` answers for the tenant.
 */
import type pg from 'pg';
import { ApiError } from '../../domain/errors.js';
import { columnTypeName } from '../column-types.js';
import type { TableColumn, TableDescription } from '../port.js';

/** `table` or `schema.table`, unquoted identifiers only. */
const OBJECT_NAME = /^(?:([A-Za-z_][A-Za-z0-9_$]{0,62})\.)?([A-Za-z_][A-Za-z0-9_$]{0,62})$/;
/** Schemas a bulk import may never name. */
const SYSTEM_SCHEMA = /^(pg_|information_schema$|spectra_)/;
/** The column tenant tables carry; RLS policies compare it with the caller's tenant. */
export const TENANT_COLUMN = 'tenant_id';

export interface CheckConstraint {
  name: string;
  /** The constraint's expression as the catalog prints it. */
  expression: string;
  columns: string[];
}

export interface CatalogTable extends TableDescription {
  oid: number;
  checks: CheckConstraint[];
}

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
export const qualifiedName = (t: { schema: string; name: string }) =>
  `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;

function notVisible(object: string): ApiError {
  return new ApiError(
    'INVALID_REQUEST',
    `table ${JSON.stringify(object)} does not exist or is not accessible`,
    {
      field: 'object',
    },
  );
}

export async function describeTableOn(client: pg.ClientBase, object: string): Promise<CatalogTable> {
  const m = OBJECT_NAME.exec(object.trim());
  if (!m) {
    throw new ApiError(
      'INVALID_REQUEST',
      'object must be a table name, optionally schema-qualified (`schema.table`)',
      {
        field: 'object',
      },
    );
  }
  const schema = m[1] ?? 'public';
  const name = m[2]!;
  if (SYSTEM_SCHEMA.test(schema.toLowerCase())) throw notVisible(object);
  // Unquoted names fold to lower case in SQL; an exact match wins over the folded one.
  const found = await client.query<{
    oid: number;
    nspname: string;
    relname: string;
    sel: boolean;
    ins: boolean;
    upd: boolean;
    del: boolean;
  }>(
    `SELECT c.oid::int AS oid, n.nspname, c.relname,
            has_table_privilege(c.oid, 'SELECT') AS sel, has_table_privilege(c.oid, 'INSERT') AS ins,
            has_table_privilege(c.oid, 'UPDATE') AS upd, has_table_privilege(c.oid, 'DELETE') AS del
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname::text IN ($1::text, lower($1::text)) AND c.relname::text IN ($2::text, lower($2::text))
        AND c.relkind IN ('r', 'p') AND has_schema_privilege(n.oid, 'USAGE')
      ORDER BY (n.nspname::text = $1::text AND c.relname::text = $2::text) DESC
      LIMIT 1`,
    [schema, name],
  );
  const t = found.rows[0];
  if (!t || !(t.sel || t.ins || t.upd || t.del)) throw notVisible(object);

  const cols = await client.query<{
    attname: string;
    sql_type: string;
    atttypid: number;
    atttypmod: number;
    attnotnull: boolean;
    has_default: boolean;
    generated: boolean;
  }>(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS sql_type, a.atttypid::int AS atttypid, a.atttypmod,
            a.attnotnull, (a.atthasdef OR a.attidentity = 'd') AS has_default,
            (a.attgenerated <> '' OR a.attidentity = 'a') AS generated
       FROM pg_attribute a
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [t.oid],
  );
  const columns: TableColumn[] = cols.rows.map((c) => ({
    name: c.attname,
    sqlType: c.sql_type,
    typeName: columnTypeName({ name: c.attname, dataTypeID: c.atttypid, dataTypeModifier: c.atttypmod }),
    notNull: c.attnotnull,
    hasDefault: c.has_default,
    generated: c.generated,
  }));

  // Unique indexes usable as ON CONFLICT targets: valid, immediate, no expressions, no predicate.
  const keys = await client.query<{ cols: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid AND i.indimmediate
        AND i.indpred IS NULL AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts
      GROUP BY i.indexrelid
      ORDER BY bool_or(i.indisprimary) DESC, i.indexrelid`,
    [t.oid],
  );
  const checks = await client.query<{ conname: string; expr: string; cols: string[] }>(
    `SELECT c.conname, pg_get_expr(c.conbin, c.conrelid) AS expr,
            array(SELECT a.attname::text FROM pg_attribute a
                   WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)) AS cols
       FROM pg_constraint c
      WHERE c.conrelid = $1 AND c.contype = 'c'
      ORDER BY c.conname`,
    [t.oid],
  );
  return {
    oid: t.oid,
    schema: t.nspname,
    name: t.relname,
    columns,
    uniqueKeys: keys.rows.map((k) => k.cols),
    privileges: { select: t.sel, insert: t.ins, update: t.upd, delete: t.del },
    tenantColumn: columns.some((c) => c.name === TENANT_COLUMN) ? TENANT_COLUMN : null,
    checks: checks.rows.map((c) => ({ name: c.conname, expression: c.expr, columns: c.cols })),
  };
}
