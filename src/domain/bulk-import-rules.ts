/**
 * What a bulk import may do to a table, decided from the catalog's description of it (the
 * Warehouse port's `TableDescription`): the privileges an operation needs, which columns of the
 * file map to which columns of the table, and which unique key the external id names. Pure; the
 * API applies it when a job is created, the warehouse adapter again inside the load transaction.
 */
import { ApiError } from './errors.js';

export type ImportOperationName = 'insert' | 'update' | 'upsert' | 'delete';

/** The parts of a table description the rules read (structurally the Warehouse port's type). */
export interface ImportTable {
  schema: string;
  name: string;
  columns: { name: string; notNull: boolean; hasDefault: boolean; generated: boolean }[];
  uniqueKeys: string[][];
  privileges: { select: boolean; insert: boolean; update: boolean; delete: boolean };
  tenantColumn: string | null;
}

const PRIVILEGES: Record<ImportOperationName, ('insert' | 'update' | 'delete')[]> = {
  insert: ['insert'],
  update: ['update'],
  upsert: ['insert', 'update'],
  delete: ['delete'],
};

const tableName = (t: ImportTable) => `${t.schema}.${t.name}`;
const list = (names: string[]) => names.map((n) => `"${n}"`).join(', ');

/** FORBIDDEN naming the first privilege the role lacks (the database's grants decide). */
export function requireImportPrivileges(table: ImportTable, op: ImportOperationName, dbUser: string): void {
  for (const p of PRIVILEGES[op]) {
    if (!table.privileges[p]) {
      const privilege = p.toUpperCase();
      throw new ApiError(
        'FORBIDDEN',
        `permission denied: role ${dbUser} lacks the ${privilege} privilege on table ${tableName(table)}`,
        { privilege, table: tableName(table), operation: op },
      );
    }
  }
}

/**
 * The unique key the external id stands for: a unique key of exactly that column, or of that
 * column and the tenant column (one key per tenant). INVALID_REQUEST otherwise.
 */
export function externalIdKey(
  table: ImportTable,
  externalId: string | null,
  op: ImportOperationName,
): string[] {
  if (op === 'insert') return [];
  if (!externalId) {
    throw new ApiError('INVALID_REQUEST', `external_id_field is required for ${op}`, {
      field: 'external_id_field',
    });
  }
  const column = resolveColumn(table, externalId);
  if (!column) {
    throw new ApiError(
      'INVALID_REQUEST',
      `external_id_field "${externalId}" is not a column of ${tableName(table)}`,
      {
        field: 'external_id_field',
      },
    );
  }
  const wanted = new Set([column]);
  const withTenant = new Set(table.tenantColumn ? [column, table.tenantColumn] : [column]);
  const same = (key: string[], set: Set<string>) => key.length === set.size && key.every((c) => set.has(c));
  const key =
    table.uniqueKeys.find((k) => same(k, wanted)) ?? table.uniqueKeys.find((k) => same(k, withTenant));
  if (!key) {
    const keys = table.uniqueKeys.map((k) => `(${k.join(', ')})`).join(', ') || 'none';
    throw new ApiError(
      'INVALID_REQUEST',
      `external_id_field "${column}" is not a unique key of ${tableName(table)} (unique keys: ${keys})`,
      { field: 'external_id_field' },
    );
  }
  return key;
}

/** Checks done when a job is created: the table is writable for the operation, the external id is a key. */
export function validateImportTarget(
  table: ImportTable,
  op: ImportOperationName,
  externalId: string | null,
  dbUser: string,
): void {
  requireImportPrivileges(table, op, dbUser);
  externalIdKey(table, externalId, op);
}

export interface ImportColumns {
  /** Catalog names of the file's columns, in file order. */
  columns: string[];
  /** Columns of the unique key the external id stands for (empty for inserts). */
  keyColumns: string[];
}

/** A column by its name in the file: exact, else the one column equal ignoring case. */
function resolveColumn(table: ImportTable, name: string): string | undefined {
  const exact = table.columns.find((c) => c.name === name);
  if (exact) return exact.name;
  const folded = table.columns.filter((c) => c.name.toLowerCase() === name.toLowerCase());
  return folded.length === 1 ? folded[0]!.name : undefined;
}

/**
 * Maps a file's header onto the table's columns. INVALID_REQUEST, naming the offenders, for an
 * unknown, repeated or generated column, a missing external id, or a missing NOT NULL column
 * without a default (inserts and upserts).
 */
export function planImportColumns(
  table: ImportTable,
  op: ImportOperationName,
  header: string[],
  externalId: string | null,
): ImportColumns {
  if (header.length === 0) throw new ApiError('INVALID_REQUEST', 'the file has no header (no columns)');
  const unknown: string[] = [];
  const columns: string[] = [];
  for (const name of header) {
    const column = resolveColumn(table, name);
    if (column === undefined) unknown.push(name);
    else columns.push(column);
  }
  if (unknown.length > 0) {
    throw new ApiError(
      'INVALID_REQUEST',
      `unknown column${unknown.length > 1 ? 's' : ''} ${list(unknown)} in the file; ${tableName(table)} has ${list(table.columns.map((c) => c.name))}`,
      { unknown_columns: unknown, table: tableName(table) },
    );
  }
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c))
      throw new ApiError('INVALID_REQUEST', `column "${c}" appears more than once in the file`);
    seen.add(c);
  }
  const generated = table.columns.filter((c) => c.generated && seen.has(c.name)).map((c) => c.name);
  if (generated.length > 0) {
    throw new ApiError(
      'INVALID_REQUEST',
      `generated column${generated.length > 1 ? 's' : ''} ${list(generated)} cannot be written`,
      {
        generated_columns: generated,
      },
    );
  }
  const keyColumns = externalIdKey(table, externalId, op);
  const keyInFile = keyColumns.filter((c) => c !== table.tenantColumn);
  const missingKey = keyInFile.filter((c) => !seen.has(c));
  if (missingKey.length > 0) {
    throw new ApiError('INVALID_REQUEST', `the file lacks the external id column ${list(missingKey)}`, {
      field: 'external_id_field',
    });
  }
  if (op === 'insert' || op === 'upsert') {
    const required = table.columns
      .filter(
        (c) =>
          c.notNull && !c.hasDefault && !c.generated && c.name !== table.tenantColumn && !seen.has(c.name),
      )
      .map((c) => c.name);
    if (required.length > 0) {
      throw new ApiError(
        'INVALID_REQUEST',
        `the file lacks required column${required.length > 1 ? 's' : ''} ${list(required)} (NOT NULL without a default)`,
        { missing_columns: required },
      );
    }
  }
  if (op === 'update' && !columns.some((c) => !keyColumns.includes(c) && c !== table.tenantColumn)) {
    throw new ApiError('INVALID_REQUEST', 'an update needs at least one column besides the external id');
  }
  return { columns, keyColumns };
}
