/** The contract every streaming row encoder follows. */
import type { ColumnInfo, Row } from '../warehouse/port.js';

/**
 * Turns a result into text chunk by chunk: `begin` once, `encode` per batch, `end` once; the
 * concatenation of the returned strings is the whole document. It keeps no rows between calls,
 * so memory is bounded by the largest batch, never by the row count. One encoder per result.
 */
export interface RowEncoder {
  /** The HTTP `Content-Type` of the document. */
  readonly contentType: string;
  begin(columns: readonly ColumnInfo[]): string;
  encode(batch: readonly Row[]): string;
  end(): string;
}
