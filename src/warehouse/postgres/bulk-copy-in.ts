/**
 * Bulk import into a table, inside ONE transaction as the tenant's role (row-level security and
 * the role's grants decide every write):
 *
 *   1. resolve the table in the catalog and check the role's privileges for the operation;
 *   2. create a TEMP staging table of text columns (as `spectra_stager` when it exists, so
 *      tenant roles need no right to create tables) and COPY the staged CSV into it;
 *   3. find the bad records in SQL and mark them, never aborting the transaction: type errors
 *      (`pg_input_is_valid`, PostgreSQL's own input functions), the tenant column, NOT NULL,
 *      CHECK constraints (the catalog's expressions over the typed values), keys repeated in the
 *      file, and for inserts keys that already exist;
 *   4. apply the rest with one statement: INSERT, UPDATE … FROM, INSERT … ON CONFLICT DO UPDATE
 *      or DELETE … USING (update and delete mark records whose key matches no row);
 *   5. stream the marked records to the failed-records sink, in record order, before COMMIT.
 *
 * Identifiers and types come from the catalog, quoted; the file's values only travel as data
 * (COPY), the caller's tenant as a quoted literal. Whatever fails (an error, an abort, a dropped
 * connection) rolls everything back.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import Cursor from 'pg-cursor';
import { planImportColumns, requireImportPrivileges } from '../../domain/bulk-import-rules.js';
import { ApiError } from '../../domain/errors.js';
import type { CopyInRequest, FailedRecord, FailedRecordSink, TableColumn } from '../port.js';
import { type CatalogTable, describeTableOn, qualifiedName, quoteIdent } from './bulk-catalog.js';

/** The role that owns staging tables (TEMPORARY on the database, nothing else): bootstrap migration 2. */
export const STAGER_ROLE = 'spectra_stager';
const STAGE = 'spectra_stage';
const FAILED_BATCH = 2000;
/** Types whose text needs no conversion (any value is valid). */
const TEXT_TYPES = new Set(['text', 'character varying']);

const lit = (s: string) => pg.escapeLiteral(s);

interface StagedColumn {
  /** Staging column name (`c1`…): never a client-supplied string. */
  stage: string;
  column: TableColumn;
}

export interface CopyInOutcomeCounts {
  processed: number;
  loaded: number;
  failed: number;
}

/**
 * Runs steps 1–5 on `client`, which is inside a transaction with `SET LOCAL ROLE <dbUser>`.
 * `guard(fn)` wraps calls into the caller's code (staged records, failed sink) so the adapter can
 * tell their errors from the warehouse's.
 */
export async function copyInRecords(
  client: pg.ClientBase,
  dbUser: string,
  req: CopyInRequest,
  staged: AsyncIterable<Uint8Array>,
  failed: FailedRecordSink,
  guard: (fn: () => void | Promise<void>) => Promise<void>,
  aborted: () => boolean,
): Promise<CopyInOutcomeCounts> {
  const table = await describeTableOn(client, req.object);
  requireImportPrivileges(table, req.operation, dbUser);
  const plan = planImportColumns(table, req.operation, req.columns, req.externalId);
  const staging: StagedColumn[] = plan.columns.map((name, i) => ({
    stage: `c${i + 1}`,
    column: table.columns.find((c) => c.name === name)!,
  }));
  const tenantColumn = table.tenantColumn;
  const stagedTenant = staging.find((s) => s.column.name === tenantColumn);
  const key = plan.keyColumns.map((name) => staging.find((s) => s.column.name === name));

  /** The caller's tenant (from the credential, never from the file) as a quoted literal. */
  const tenant = lit(req.tenantId);
  const stopIfAborted = () => {
    if (aborted()) throw new ApiError('QUERY_FAILED', 'the import was aborted', { reason: 'cancelled' });
  };

  // 2. Staging table and COPY.
  const stageColumns = ['_line bigint', '_error text', '_raw text', ...staging.map((s) => `${s.stage} text`)];
  const create = `CREATE TEMP TABLE ${STAGE} (${stageColumns.join(', ')}) ON COMMIT DROP`;
  const stager = await stagerAvailable(client);
  if (stager) {
    await client.query(
      `SET LOCAL ROLE ${quoteIdent(STAGER_ROLE)}; ${create}; ` +
        `GRANT SELECT, INSERT, UPDATE ON ${STAGE} TO ${quoteIdent(dbUser)}; SET LOCAL ROLE ${quoteIdent(dbUser)}`,
    );
  } else {
    try {
      await client.query(create);
    } catch (e) {
      if ((e as { code?: string }).code !== '42501') throw e;
      throw new ApiError(
        'FORBIDDEN',
        `bulk imports stage records in a temporary table: create the role ${STAGER_ROLE} (TEMPORARY on the database, SET granted to the authenticator) or grant TEMPORARY to the tenant roles (docs/bulk.md)`,
        { privilege: 'TEMPORARY' },
      );
    }
  }
  const delimiter = { ',': `','`, '|': `'|'`, '\t': `E'\\t'` }[req.delimiter];
  if (!delimiter)
    throw new ApiError('INVALID_REQUEST', 'unsupported column delimiter', { field: 'column_delimiter' });
  const copy = client.query(copyFrom(`COPY ${STAGE} FROM STDIN WITH (FORMAT csv, DELIMITER ${delimiter})`));
  // The caller's records failing (a corrupt file) is the caller's error, not the warehouse's.
  let sourceError: { error: unknown } | undefined;
  const source = async function* () {
    try {
      yield* staged;
    } catch (error) {
      sourceError = { error };
      throw error;
    }
  };
  try {
    await pipeline(Readable.from(source()), copy);
  } catch (e) {
    if (sourceError) {
      const { error } = sourceError;
      await guard(() => {
        throw error;
      });
    }
    throw e;
  }
  const processed = copy.rowCount;
  stopIfAborted();
  if (stager)
    await client.query(
      `SET LOCAL ROLE ${quoteIdent(STAGER_ROLE)}; ANALYZE ${STAGE}; SET LOCAL ROLE ${quoteIdent(dbUser)}`,
    );

  // 3. Mark bad records.
  const writes = req.operation !== 'delete';
  const checked = writes ? staging.filter((s) => s !== stagedTenant) : key.filter((s) => s !== undefined);
  const cases: string[] = [];
  if (stagedTenant) {
    cases.push(
      `WHEN ${stagedTenant.stage} IS NOT NULL AND ${stagedTenant.stage} <> ${tenant} THEN ${lit(`${tenantColumn}: `)} || ${stagedTenant.stage} || ' is not the tenant of this credential'`,
    );
  }
  for (const s of key) {
    if (s && s !== stagedTenant)
      cases.push(`WHEN ${s.stage} IS NULL THEN ${lit(`${s.column.name}: the external id is missing`)}`);
  }
  for (const s of checked) {
    if (TEXT_TYPES.has(s.column.sqlType)) continue;
    const type = lit(s.column.sqlType);
    cases.push(
      `WHEN ${s.stage} IS NOT NULL AND NOT pg_input_is_valid(${s.stage}, ${type}) THEN ${lit(`${s.column.name}: `)} || (pg_input_error_info(${s.stage}, ${type})).message`,
    );
  }
  if (writes) {
    for (const s of checked) {
      if (s.column.notNull)
        cases.push(
          `WHEN ${s.stage} IS NULL THEN ${lit(`${s.column.name}: null value violates the NOT NULL constraint`)}`,
        );
    }
  }
  if (cases.length > 0) {
    const verdict = `CASE ${cases.join(' ')} END`;
    await client.query(
      `UPDATE ${STAGE} SET _error = ${verdict} WHERE _error IS NULL AND (${verdict}) IS NOT NULL`,
    );
  }
  stopIfAborted();

  /** A staged column as the table's type; the tenant column (staged or not) as the caller's tenant. */
  const typed = (s: StagedColumn, alias = '') => {
    const ref = `${alias}${s.stage}`;
    if (s === stagedTenant) return `COALESCE(${ref}, ${tenant})`;
    return TEXT_TYPES.has(s.column.sqlType) ? ref : `CAST(${ref} AS ${s.column.sqlType})`;
  };
  const typedRow = () =>
    [
      ...staging.map((s) => `${typed(s)} AS ${quoteIdent(s.column.name)}`),
      ...(tenantColumn && !stagedTenant ? [`${tenant}::text AS ${quoteIdent(tenantColumn)}`] : []),
    ].join(', ');

  // CHECK constraints whose columns are all in the file (plus the tenant column), on typed values.
  const writable = new Set([...staging.map((s) => s.column.name), ...(tenantColumn ? [tenantColumn] : [])]);
  const checks = writes ? table.checks.filter((c) => c.columns.every((col) => writable.has(col))) : [];
  if (checks.length > 0) {
    const verdict = `CASE ${checks.map((c) => `WHEN NOT (${c.expression}) THEN ${lit(`violates check constraint "${c.name}"`)}`).join(' ')} END`;
    await client.query(
      `UPDATE ${STAGE} s SET _error = b.msg
         FROM (SELECT _line, ${verdict} AS msg FROM (SELECT _line, ${typedRow()} FROM ${STAGE} WHERE _error IS NULL) r) b
        WHERE s._line = b._line AND b.msg IS NOT NULL`,
    );
    stopIfAborted();
  }

  // Keys repeated in the file: the first record keeps the key, the later ones fail.
  const uniqueSets =
    req.operation === 'insert' ? insertKeys(table, staging, tenantColumn) : [plan.keyColumns];
  for (const keyColumns of uniqueSets) {
    const parts = keyColumns
      .map((name) => staging.find((s) => s.column.name === name))
      .filter((s): s is StagedColumn => s !== undefined && s !== stagedTenant);
    if (parts.length === 0) continue;
    const exprs = parts.map((s) => typed(s, 'x.'));
    const label = parts.map((s) => s.column.name).join(', ');
    const shown =
      parts.length === 1
        ? `x.${parts[0]!.stage}`
        : `concat_ws(', ', ${parts.map((s) => `x.${s.stage}`).join(', ')})`;
    const notNull = parts.map((s) => `x.${s.stage} IS NOT NULL`).join(' AND ');
    const cols = exprs.map((e, i) => `${e} AS k${i}`).join(', ');
    const join = exprs.map((e, i) => `${e} = d.k${i}`).join(' AND ');
    await client.query(
      `WITH d AS (SELECT ${cols} FROM ${STAGE} x WHERE x._error IS NULL AND ${notNull}
                  GROUP BY ${exprs.map((_, i) => i + 1).join(', ')} HAVING count(*) > 1)
       UPDATE ${STAGE} s SET _error = r.msg
         FROM (SELECT x._line, row_number() OVER w AS rn,
                      ${lit(`${label} `)} || ${shown} || ' appears more than once in the file (first in record ' || first_value(x._line) OVER w || ')' AS msg
                 FROM ${STAGE} x JOIN d ON ${join}
                WHERE x._error IS NULL
               WINDOW w AS (PARTITION BY ${exprs.join(', ')} ORDER BY x._line)) r
        WHERE s._line = r._line AND r.rn > 1`,
    );
    stopIfAborted();
  }

  // 4. Apply.
  const target = qualifiedName(table);
  const good = `FROM ${STAGE} WHERE _error IS NULL`;
  const insertColumns = [
    ...staging.map((s) => quoteIdent(s.column.name)),
    ...(tenantColumn && !stagedTenant ? [quoteIdent(tenantColumn)] : []),
  ];
  const insertValues = [
    ...staging.map((s) => typed(s)),
    ...(tenantColumn && !stagedTenant ? [`${tenant}::text`] : []),
  ];
  const keyMatch = (t: string, s: string) =>
    [
      ...plan.keyColumns
        .filter((name) => name !== tenantColumn)
        .map((name) => {
          const sc = staging.find((x) => x.column.name === name)!;
          return `${t}.${quoteIdent(name)} = ${typed(sc, `${s}.`)}`;
        }),
      ...(tenantColumn ? [`${t}.${quoteIdent(tenantColumn)} = ${tenant}`] : []),
    ].join(' AND ');
  const keyText = (s: string) => {
    const parts = plan.keyColumns.filter((n) => n !== tenantColumn);
    return parts.length === 1
      ? `${s}.${staging.find((x) => x.column.name === parts[0])!.stage}`
      : `concat_ws(', ', ${parts.map((n) => `${s}.${staging.find((x) => x.column.name === n)!.stage}`).join(', ')})`;
  };
  /** Applies `change` (a statement RETURNING s._line) and marks the good records it did not touch. */
  const applyAndMarkMissing = async (change: string) => {
    const missing = lit(`no row with ${plan.keyColumns.filter((n) => n !== tenantColumn).join(', ')} `);
    const r = await client.query(
      `WITH done AS (${change}),
            marked AS (UPDATE ${STAGE} m SET _error = ${missing} || ${keyText('m')}
                        WHERE m._error IS NULL AND NOT EXISTS (SELECT 1 FROM done WHERE done._line = m._line)
                        RETURNING 1)
       SELECT (SELECT count(*) FROM done)::bigint AS loaded, (SELECT count(*) FROM marked)::bigint AS missing`,
    );
    return Number(r.rows[0].loaded);
  };
  const settable = staging.filter((s) => s !== stagedTenant && !plan.keyColumns.includes(s.column.name));

  let loaded: number;
  switch (req.operation) {
    case 'insert': {
      for (const keyColumns of insertKeys(table, staging, tenantColumn)) {
        const match = keyColumns
          .map((name) => {
            const sc = staging.find((x) => x.column.name === name);
            return sc && sc !== stagedTenant
              ? `t.${quoteIdent(name)} = ${typed(sc, 's.')}`
              : `t.${quoteIdent(name)} = ${tenant}`;
          })
          .join(' AND ');
        const shown = keyColumns.filter((n) => n !== tenantColumn);
        await client.query(
          `UPDATE ${STAGE} s SET _error = ${lit(`a row with this ${shown.join(', ')} already exists`)}
            WHERE s._error IS NULL AND EXISTS (SELECT 1 FROM ${target} t WHERE ${match})`,
        );
        stopIfAborted();
      }
      const r = await client.query(
        `INSERT INTO ${target} (${insertColumns.join(', ')}) SELECT ${insertValues.join(', ')} ${good}`,
      );
      loaded = r.rowCount ?? 0;
      break;
    }
    case 'upsert': {
      const conflict = plan.keyColumns.map(quoteIdent).join(', ');
      const action =
        settable.length > 0
          ? `DO UPDATE SET ${settable.map((s) => `${quoteIdent(s.column.name)} = EXCLUDED.${quoteIdent(s.column.name)}`).join(', ')}`
          : 'DO NOTHING';
      const r = await client.query(
        `INSERT INTO ${target} (${insertColumns.join(', ')}) SELECT ${insertValues.join(', ')} ${good}
         ON CONFLICT (${conflict}) ${action}`,
      );
      loaded = r.rowCount ?? 0;
      break;
    }
    case 'update': {
      const sets = settable.map((s) => `${quoteIdent(s.column.name)} = ${typed(s, 's.')}`).join(', ');
      loaded = await applyAndMarkMissing(
        `UPDATE ${target} t SET ${sets} FROM ${STAGE} s WHERE s._error IS NULL AND ${keyMatch('t', 's')} RETURNING s._line`,
      );
      break;
    }
    case 'delete': {
      loaded = await applyAndMarkMissing(
        `DELETE FROM ${target} t USING ${STAGE} s WHERE s._error IS NULL AND ${keyMatch('t', 's')} RETURNING s._line`,
      );
      break;
    }
  }
  stopIfAborted();

  // 5. The failed records, in record order.
  let failedCount = 0;
  const cursor = client.query(
    new Cursor(
      `SELECT _line, _error, _raw, ${staging.map((s) => s.stage).join(', ') || 'NULL'} FROM ${STAGE} WHERE _error IS NOT NULL ORDER BY _line`,
      [],
      { rowMode: 'array' },
    ),
  );
  try {
    for (;;) {
      const rows = await new Promise<unknown[][]>((resolve, reject) =>
        cursor.read(FAILED_BATCH, (err, r) => (err ? reject(err) : resolve(r as unknown[][]))),
      );
      if (rows.length === 0) break;
      failedCount += rows.length;
      const batch: FailedRecord[] = rows.map((r) => ({
        line: Number(r[0]),
        error: String(r[1]),
        raw: (r[2] as string | null) ?? null,
        values: r.slice(3) as (string | null)[],
      }));
      await guard(() => failed.write(batch));
    }
  } finally {
    await new Promise<void>((resolve) => cursor.close(() => resolve()));
  }
  await guard(() => failed.close());
  return { processed, loaded, failed: failedCount };
}

/** Unique keys an insert can check in advance: every column is in the file, or is the tenant column. */
function insertKeys(table: CatalogTable, staging: StagedColumn[], tenantColumn: string | null): string[][] {
  const present = new Set(staging.map((s) => s.column.name));
  return table.uniqueKeys.filter((k) => k.every((c) => present.has(c) || c === tenantColumn));
}

async function stagerAvailable(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>(
    `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                 THEN pg_has_role(session_user, $1, 'MEMBER') ELSE false END AS ok`,
    [STAGER_ROLE],
  );
  return r.rows[0]?.ok === true;
}
