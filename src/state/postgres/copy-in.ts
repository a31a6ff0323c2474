/**
 * Batches written with one `COPY … FROM STDIN` in PostgreSQL's text format: the cheapest way to
 * append many rows (measured on the sync job records, 30 columns: 0.077 ms of PostgreSQL CPU per
 * row in batches of 5 against 0.133 ms through `jsonb_populate_recordset`; 0.033 ms against
 * 0.103 ms in batches of 20). Used by the audit trail and the sync job records.
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ApiError } from '../../domain/errors.js';

export type CopyValue = string | number | boolean | null | undefined;

/** A value in COPY's text format: backslash escapes, `\N` for NULL. NUL is not escaped: PostgreSQL refuses it. */
export function copyField(v: CopyValue): string {
  if (v === null || v === undefined) return '\\N';
  const s = String(v);
  return /[\\\t\n\r]/.test(s)
    ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : s;
}

/** The store is unreachable (connection refused or lost, server shutting down). */
export function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === undefined || code.startsWith('08') || code.startsWith('57P');
}

export function controlStoreUnavailable(e: unknown): ApiError {
  return new ApiError(
    'WAREHOUSE_UNAVAILABLE',
    'control state store unavailable',
    { cause: (e as Error).message },
    5,
  );
}

/** Sends `text` (lines, each ending in a newline) through `copySql` on a pooled connection; one whose COPY failed half-way is not reused. */
export async function copyIn(
  connect: () => Promise<pg.PoolClient>,
  copySql: string,
  text: string,
): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await connect();
  } catch (e) {
    throw controlStoreUnavailable(e);
  }
  let broken: Error | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const stream = client.query(copyFrom(copySql));
      stream.on('finish', resolve);
      stream.on('error', reject);
      stream.end(text);
    });
  } catch (e) {
    broken = e as Error;
    throw isUnreachable(e) ? controlStoreUnavailable(e) : e;
  } finally {
    client.release(broken);
  }
}
