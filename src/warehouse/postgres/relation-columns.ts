/**
 * The columns of relations named in a tenant's statement, for the PostgreSQL rendering of a
 * PIVOT/UNPIVOT over a table or `SELECT *` (Redshift reads its own catalog; PostgreSQL needs them
 * spelled out). Runs inside the tenant's transaction, after `SET LOCAL ROLE`: names resolve on the
 * same search_path as the statement will, and only columns the role may SELECT are ever read back.
 */
import type pg from 'pg';
import { ApiError } from '../../domain/errors.js';
import { quoteIdent } from './bulk-catalog.js';

/**
 * One row per asked name, in order; the column names only of columns the role may SELECT. Readable
 * counts the table privilege too: a readable table without columns has no column to vouch for it.
 */
const RELATION_COLUMNS_SQL = `
SELECT r.ord::int AS ord, r.oid IS NOT NULL AS found,
       coalesce(has_table_privilege(r.oid, 'SELECT')
                OR bool_and(has_column_privilege(r.oid, a.attnum, 'SELECT')), false) AS readable,
       array_agg(a.attname::text ORDER BY a.attnum)
         FILTER (WHERE has_column_privilege(r.oid, a.attnum, 'SELECT')) AS columns
  FROM (SELECT n.ord, to_regclass(n.name) AS oid
          FROM unnest($1::text[]) WITH ORDINALITY AS n(name, ord)) r
  LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
 GROUP BY r.ord, r.oid
 ORDER BY r.ord`;

interface RelationRow {
  ord: number;
  found: boolean;
  readable: boolean;
  columns: string[] | null;
}

/** The messages PostgreSQL itself gives `SELECT * FROM name` in these two cases: nothing more is told. */
const missing = (name: string) =>
  new ApiError('QUERY_FAILED', `relation "${name}" does not exist`, { sqlstate: '42P01' });
const denied = (name: string) =>
  new ApiError('QUERY_FAILED', `permission denied for table ${name}`, { sqlstate: '42501' });

export async function relationColumnsOn(
  client: pg.ClientBase,
  relations: readonly string[][],
): Promise<string[][]> {
  const names = relations.map((parts) => parts.map(quoteIdent).join('.'));
  const { rows } = await client.query<RelationRow>(RELATION_COLUMNS_SQL, [names]);
  return relations.map((parts, i) => {
    const row = rows[i];
    const written = parts.join('.');
    if (row === undefined || !row.found) throw missing(written);
    if (!row.readable) throw denied(parts.at(-1) ?? written);
    return row.columns ?? [];
  });
}
