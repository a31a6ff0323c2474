/**
 * Bulk export as CSV through `COPY (<guarded SQL>) TO STDOUT`, inside the caller's transaction
 * (after `SET LOCAL ROLE`: row-level security applies to the query as to any SELECT). PostgreSQL
 * writes the CSV itself, so a multi-million-row export costs the server's COPY and nothing per
 * row in Node. Values are PostgreSQL's own text forms under the adapter's session settings (UTC
 * timestamps, ISO dates, ISO 8601 intervals, hex bytea, `{…}` arrays), which import again
 * unchanged; booleans are rewritten to `true`/`false`. NULL is an empty unquoted field, the empty
 * string `""`, quoting as RFC 4180 (fields with the delimiter, a quote, CR or LF).
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { ApiError } from '../../domain/errors.js';
import { columnTypeName, PG_OID, type PgFieldInfo } from '../column-types.js';
import type { ColumnInfo, CopyOutOptions, CopyOutSink, StatementInput } from '../port.js';
import { rowTooLarge } from './row-too-large.js';

const DELIMITER_LITERAL: Record<CopyOutOptions['delimiter'], string> = {
  ',': `','`,
  '|': `'|'`,
  '\t': `E'\\t'`,
};

/**
 * Runs on a client inside a tenant transaction; resolves with the row count COPY reports. COPY
 * streams each record in pieces, so a long one costs no memory here; it is still refused past
 * `maxRowBytes` (measured between line feeds), like a result row, so no export holds a line that
 * no other delivery would.
 */
export async function copyOutCsv(
  client: pg.ClientBase,
  statement: StatementInput,
  opts: CopyOutOptions,
  sink: CopyOutSink,
  deliver: (fn: () => void | Promise<void>) => Promise<void>,
  limits: { maxRowBytes: number; beforeCopy: () => void },
): Promise<number> {
  if (statement.params.length > 0) {
    // COPY takes no bind parameters, and values are never spliced into SQL text.
    throw new ApiError('INVALID_REQUEST', 'bulk export queries take no parameters', { field: 'query' });
  }
  const delimiter = DELIMITER_LITERAL[opts.delimiter];
  if (!delimiter)
    throw new ApiError('INVALID_REQUEST', 'unsupported column delimiter', { field: 'column_delimiter' });
  // The result's columns (and types) without reading a row: LIMIT 0 stops the executor at once.
  const described = await client.query({
    text: `SELECT * FROM (${statement.sql}) AS q LIMIT 0`,
    rowMode: 'array',
  });
  const fields = described.fields as unknown as PgFieldInfo[];
  const columns: ColumnInfo[] = fields.map((f) => ({ name: f.name, type: columnTypeName(f) }));
  await deliver(() => sink.columns(columns));

  let source = statement.sql;
  if (fields.some((f) => f.dataTypeID === PG_OID.bool)) {
    const alias = fields.map((_, i) => `c${i + 1}`);
    const select = fields.map((f, i) =>
      f.dataTypeID === PG_OID.bool
        ? `CASE WHEN c${i + 1} THEN 'true' WHEN NOT c${i + 1} THEN 'false' END`
        : `c${i + 1}`,
    );
    source = `SELECT ${select.join(', ')} FROM (${statement.sql}) AS q(${alias.join(', ')})`;
  }
  limits.beforeCopy();
  const stream = client.query(copyTo(`COPY (${source}) TO STDOUT WITH (FORMAT csv, DELIMITER ${delimiter})`));
  let lineBytes = 0;
  // Async iteration pauses the stream while the sink's promise is pending: that is the backpressure.
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    lineBytes = longestLineEnd(chunk, lineBytes, limits.maxRowBytes);
    await deliver(() => sink.data(chunk));
  }
  return stream.rowCount;
}

/** Bytes of the unfinished line after `chunk`; throws when any line passes `max`. */
function longestLineEnd(chunk: Buffer, carried: number, max: number): number {
  let start = 0;
  let length = carried;
  for (let lf = chunk.indexOf(0x0a); lf !== -1; lf = chunk.indexOf(0x0a, start)) {
    if (length + lf - start > max) throw rowTooLarge(max);
    start = lf + 1;
    length = 0;
  }
  length += chunk.length - start;
  if (length > max) throw rowTooLarge(max);
  return length;
}
