/**
 * A table as the catalog describes it to the tenant, over the Data API (`describeTable`): the name
 * is matched against information_schema with bind parameters (never interpolated), the caller's
 * privileges come from `has_table_privilege`, unique keys from table_constraints +
 * key_column_usage (informational on Redshift: it does not enforce them). The same
 * TableDescription as the PostgreSQL adapter's for the same table.
 */
import { ApiError } from '../../domain/errors.js';
import { columnTypeName } from '../column-types.js';
import type { TableColumn, TableDescription } from '../port.js';
import { pgFieldOf } from './types.js';

/** `table` or `schema.table`, unquoted identifiers only (as the PostgreSQL adapter accepts). */
const OBJECT_NAME = /^(?:([A-Za-z_][A-Za-z0-9_$]{0,126})\.)?([A-Za-z_][A-Za-z0-9_$]{0,126})$/;
const SYSTEM_SCHEMA = /^(pg_|information_schema$|spectra_)/;
export const TENANT_COLUMN = 'tenant_id';

/** Runs one catalog query as the tenant (`$n` placeholders) and returns its rows. */
export type CatalogQuery = (sql: string, params: string[]) => Promise<unknown[][]>;

const TABLE_SQL = `SELECT table_schema, table_name,
  has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'SELECT') AS sel,
  has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'INSERT') AS ins,
  has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'UPDATE') AS upd,
  has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'DELETE') AS del
FROM information_schema.tables
WHERE CAST(table_schema AS VARCHAR) IN (CAST($1 AS VARCHAR), lower(CAST($1 AS VARCHAR)))
  AND CAST(table_name AS VARCHAR) IN (CAST($2 AS VARCHAR), lower(CAST($2 AS VARCHAR)))
  AND table_type = 'BASE TABLE'
ORDER BY CASE WHEN CAST(table_schema AS VARCHAR) = CAST($1 AS VARCHAR) AND CAST(table_name AS VARCHAR) = CAST($2 AS VARCHAR) THEN 0 ELSE 1 END
LIMIT 1`;

const COLUMNS_SQL = `SELECT column_name, data_type, udt_name, character_maximum_length, numeric_precision, numeric_scale,
  datetime_precision, is_nullable, column_default, is_identity, identity_generation, is_generated
FROM information_schema.columns
WHERE CAST(table_schema AS VARCHAR) = CAST($1 AS VARCHAR) AND CAST(table_name AS VARCHAR) = CAST($2 AS VARCHAR)
ORDER BY ordinal_position`;

/**
 * key_column_usage lists a key's columns to anyone with a privilege on the table (table_constraints
 * only to those who may change it): a column of a foreign key has a position_in_unique_constraint.
 */
const KEYS_SQL = `SELECT k.constraint_name, tc.constraint_type, k.column_name
FROM information_schema.key_column_usage k
LEFT JOIN information_schema.table_constraints tc
  ON tc.constraint_schema = k.constraint_schema AND tc.constraint_name = k.constraint_name
 AND tc.table_schema = k.table_schema AND tc.table_name = k.table_name
WHERE CAST(k.table_schema AS VARCHAR) = CAST($1 AS VARCHAR) AND CAST(k.table_name AS VARCHAR) = CAST($2 AS VARCHAR)
  AND k.position_in_unique_constraint IS NULL
  AND (tc.constraint_type IS NULL OR tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE'))
ORDER BY CASE WHEN tc.constraint_type = 'PRIMARY KEY' THEN 0 ELSE 1 END, k.constraint_name, k.ordinal_position`;

/** information_schema's `udt_name` of an array's element → its `format_type` spelling. */
const ELEMENT_SQL_TYPES: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  numeric: 'numeric',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  text: 'text',
  varchar: 'character varying',
  bpchar: 'character',
  date: 'date',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  uuid: 'uuid',
  json: 'json',
  jsonb: 'jsonb',
  bytea: 'bytea',
};

function notVisible(object: string): ApiError {
  return new ApiError(
    'INVALID_REQUEST',
    `table ${JSON.stringify(object)} does not exist or is not accessible`,
    {
      field: 'object',
    },
  );
}

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));
const yes = (v: unknown) => v === true || v === 't' || v === 'true';

export async function describeTableOverDataApi(
  query: CatalogQuery,
  object: string,
): Promise<TableDescription> {
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
  const wanted = [m[1] ?? 'public', m[2]!];
  if (SYSTEM_SCHEMA.test(wanted[0]!.toLowerCase())) throw notVisible(object);
  const found = (await query(TABLE_SQL, wanted))[0];
  if (!found) throw notVisible(object);
  const [schema, name, sel, ins, upd, del] = [
    String(found[0]),
    String(found[1]),
    yes(found[2]),
    yes(found[3]),
    yes(found[4]),
    yes(found[5]),
  ];
  if (!(sel || ins || upd || del)) throw notVisible(object);

  const columns: TableColumn[] = (await query(COLUMNS_SQL, [schema, name])).map((r) => {
    const [
      col,
      dataType,
      udt,
      charLength,
      precision,
      scale,
      dtPrecision,
      nullable,
      dflt,
      identity,
      identityGen,
      generated,
    ] = r;
    const column = String(col);
    const udtName = String(udt);
    const length = num(charLength);
    const numericPrecision = dataType === 'numeric' ? num(precision) : null;
    const defaultText = str(dflt);
    return {
      name: column,
      sqlType: sqlTypeOf(String(dataType), udtName, length, numericPrecision, num(scale), num(dtPrecision)),
      typeName: informationSchemaTypeName(column, dataType, udt, charLength, precision, scale),
      notNull: str(nullable) === 'NO',
      // Redshift reports an IDENTITY column as a default `"identity"(…)`.
      hasDefault: defaultText !== null || str(identityGen) === 'BY DEFAULT',
      generated:
        str(generated) === 'ALWAYS' ||
        ((yes(identity) || str(identity) === 'YES') && str(identityGen) === 'ALWAYS'),
    };
  });

  const keys: string[][] = [];
  let current: string | null = null;
  for (const [constraint, , column] of await query(KEYS_SQL, [schema, name])) {
    if (constraint !== current) {
      keys.push([]);
      current = String(constraint);
    }
    keys.at(-1)!.push(String(column));
  }
  return {
    schema,
    name,
    columns,
    uniqueKeys: keys,
    privileges: { select: sel, insert: ins, update: upd, delete: del },
    tenantColumn: columns.some((c) => c.name === TENANT_COLUMN) ? TENANT_COLUMN : null,
  };
}

/** information_schema.columns' type parts → the Redshift-style name query metadata gives the column. */
export function informationSchemaTypeName(
  column: string,
  dataType: unknown,
  udt: unknown,
  charLength: unknown,
  precision: unknown,
  scale: unknown,
): string {
  const udtName = String(udt);
  const numericPrecision = dataType === 'numeric' ? num(precision) : null;
  const typeName = columnTypeName(
    pgFieldOf({
      name: column,
      typeName: udtName,
      precision: num(charLength) ?? numericPrecision ?? 0,
      scale: dataType === 'numeric' ? (num(scale) ?? 0) : 0,
    }) ?? { name: column, dataTypeID: 0, dataTypeModifier: -1 },
  );
  return typeName === 'UNKNOWN' && udtName === 'super' ? 'SUPER' : typeName;
}

/** information_schema's parts → the type as `format_type` spells it (`character varying(40)`, `numeric(6,2)`). */
export function sqlTypeOf(
  dataType: string,
  udtName: string,
  length: number | null,
  precision: number | null,
  scale: number | null,
  datetimePrecision: number | null,
): string {
  if (dataType === 'ARRAY')
    return `${ELEMENT_SQL_TYPES[udtName.replace(/^_/, '')] ?? udtName.replace(/^_/, '')}[]`;
  if (dataType === 'USER-DEFINED') return udtName;
  if ((dataType === 'character varying' || dataType === 'character') && length !== null)
    return `${dataType}(${length})`;
  if (dataType === 'numeric' && precision !== null) return `numeric(${precision},${scale ?? 0})`;
  const zoned = /^(timestamp|time) (with(?:out)? time zone)$/.exec(dataType);
  if (zoned && datetimePrecision !== null && datetimePrecision !== 6)
    return `${zoned[1]}(${datetimePrecision}) ${zoned[2]}`;
  return dataType;
}
