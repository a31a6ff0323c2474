/**
 * The catalog API's view of the warehouse (`listTables`): every table and view the tenant's role
 * may SELECT from, read from pg_catalog in ONE statement after `SET LOCAL ROLE`, so the
 * `has_*_privilege` functions answer for the tenant. Our own server-side query: tenant SQL still
 * cannot name pg_catalog or information_schema.
 */
import type pg from 'pg';
import { columnTypeName } from '../column-types.js';
import type { CatalogTable } from '../port.js';

/**
 * Column-level grants count: a table with SELECT on some columns is listed with those columns.
 * Partitions are reached through their parent; system, toast, temp and our own schemas are left out.
 */
const LIST_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
       c.relrowsecurity AS rls, c.reltuples::float8 AS reltuples, d.description,
       (SELECT coalesce(json_agg(json_build_array(a.attname, a.atttypid::int, a.atttypmod, a.attnotnull)
                                 ORDER BY a.attnum), '[]'::json)
          FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           AND has_column_privilege(c.oid, a.attnum, 'SELECT')) AS columns,
       (SELECT array_agg(a.attname::text ORDER BY k.ord)
          FROM pg_index i
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = c.oid AND i.indisprimary) AS primary_key
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_description d
    ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
   AND n.nspname !~ '^(pg_|spectra_)' AND n.nspname <> 'information_schema'
   AND has_schema_privilege(n.oid, 'USAGE')
   AND has_any_column_privilege(c.oid, 'SELECT')
 ORDER BY n.nspname, c.relname`;

const KINDS: Record<string, CatalogTable['kind']> = {
  r: 'table',
  p: 'table',
  v: 'view',
  m: 'materialized_view',
};

interface CatalogRow {
  schema: string;
  name: string;
  relkind: string;
  rls: boolean;
  reltuples: number;
  description: string | null;
  columns: [string, number, number, boolean][];
  primary_key: string[] | null;
}

export async function listTablesOn(client: pg.ClientBase): Promise<CatalogTable[]> {
  const { rows } = await client.query<CatalogRow>(LIST_TABLES_SQL);
  return rows.map((r) => {
    const kind = KINDS[r.relkind] ?? 'table';
    return {
      schema: r.schema,
      name: r.name,
      kind,
      columns: r.columns.map(([name, typeId, typmod, notNull]) => ({
        name,
        type: columnTypeName({ name, dataTypeID: typeId, dataTypeModifier: typmod }),
        nullable: !notNull,
      })),
      primaryKey: r.primary_key ?? [],
      // Under row-level security the planner's count is every tenant's rows: telling it would leak their volume.
      rowEstimate: kind === 'view' || r.rls || !(r.reltuples >= 0) ? null : Math.round(r.reltuples),
      description: r.description,
    };
  });
}
