/**
 * Streaming row encoders for query results, job results and bulk exports. See README.md beside
 * this file; value encodings come from docs/types.md.
 */
import { type CsvOptions, createCsvEncoder } from './csv.js';
import type { RowEncoder } from './encoder.js';
import { createJsonArrayEncoder, createNdjsonEncoder } from './json.js';

export { uniqueColumnNames } from './column-names.js';
export type { CsvDelimiter, CsvOptions } from './csv.js';
export type { RowEncoder } from './encoder.js';
export { encodeRowObjectsJson } from './json.js';

export type StreamFormat = 'json-array' | 'ndjson' | 'csv';

/** A fresh encoder for one result. `opts` applies to `csv` only. */
export function createEncoder(format: StreamFormat, opts?: CsvOptions): RowEncoder {
  switch (format) {
    case 'json-array':
      return createJsonArrayEncoder();
    case 'ndjson':
      return createNdjsonEncoder();
    case 'csv':
      return createCsvEncoder(opts);
    default:
      throw new Error(`unknown encoder format ${JSON.stringify(format satisfies never)}`);
  }
}
