/**
 * JSON encodings of row batches: an array of objects (`json-array`) and one object per line (`ndjson`).
 *
 * Objects are keyed by `uniqueColumnNames` and serialised with JSON.stringify. A hand-written
 * serialiser was measured 2× slower than building objects and calling JSON.stringify
 * (test/unit/formats/row-objects-json.bench.ts), so it is only used where plain objects cannot
 * keep the columns' order or data: names like "1" (JS orders integer keys first) and "__proto__".
 */
import type { ColumnInfo, Row } from '../warehouse/port.js';
import { uniqueColumnNames } from './column-names.js';
import type { RowEncoder } from './encoder.js';

/** Serialises batches of array-rows as JSON objects keyed by column name, in column order. */
interface RowObjectsSerializer {
  /** `[{…},{…}]` */
  array(rows: readonly Row[]): string;
  /** `{…}\n{…}\n` */
  lines(rows: readonly Row[]): string;
}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;
const isArrayIndexKey = (key: string) => ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1;

function rowObjectsSerializer(columns: readonly ColumnInfo[]): RowObjectsSerializer {
  const keys = uniqueColumnNames(columns);
  if (keys.some((k) => k === '__proto__' || isArrayIndexKey(k))) return concatSerializer(keys);
  const n = keys.length;
  const toObject = (row: Row) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) o[keys[i]!] = row[i] ?? null;
    return o;
  };
  return {
    array: (rows) => JSON.stringify(rows.map(toObject)),
    lines: (rows) => {
      let out = '';
      for (const row of rows) out += JSON.stringify(toObject(row)) + '\n';
      return out;
    },
  };
}

/** Writes the JSON text member by member; same output as JSON.stringify for JSON-ready values. */
function concatSerializer(keys: readonly string[]): RowObjectsSerializer {
  const prefixes = keys.map((k, i) => (i === 0 ? '{' : ',') + JSON.stringify(k) + ':');
  const n = prefixes.length;
  const object = (row: Row) => {
    if (n === 0) return '{}';
    let out = '';
    for (let i = 0; i < n; i++) out += prefixes[i] + jsonValue(row[i]);
    return out + '}';
  };
  return {
    array: (rows) => '[' + rows.map(object).join(',') + ']',
    lines: (rows) => {
      let out = '';
      for (const row of rows) out += object(row) + '\n';
      return out;
    },
  };
}

function jsonValue(v: unknown): string {
  // JSON.stringify returns undefined for undefined (and functions): those become null, as in arrays.
  return JSON.stringify(v) ?? 'null';
}

/**
 * The JSON text of an array of objects, one per row, keyed by the columns' unique names in column
 * order: `[{"id":1,"name":"a"},…]`. Values are written as JSON.stringify writes them.
 */
export function encodeRowObjectsJson(columns: readonly ColumnInfo[], rows: readonly Row[]): string {
  return rowObjectsSerializer(columns).array(rows);
}

/** `[` + rows as objects, comma-separated across batches + `]`. */
export function createJsonArrayEncoder(): RowEncoder {
  let serializer: RowObjectsSerializer | undefined;
  let first = true;
  return {
    contentType: 'application/json; charset=utf-8',
    begin(columns) {
      serializer = rowObjectsSerializer(columns);
      first = true;
      return '[';
    },
    encode(batch) {
      if (!serializer) throw new Error('json-array encoder: encode() before begin()');
      if (batch.length === 0) return '';
      const members = serializer.array(batch).slice(1, -1);
      if (first) {
        first = false;
        return members;
      }
      return ',' + members;
    },
    end: () => ']',
  };
}

/** One JSON object per row, each followed by `\n` (https://github.com/ndjson/ndjson-spec). */
export function createNdjsonEncoder(): RowEncoder {
  let serializer: RowObjectsSerializer | undefined;
  return {
    contentType: 'application/x-ndjson; charset=utf-8',
    begin(columns) {
      serializer = rowObjectsSerializer(columns);
      return '';
    },
    encode(batch) {
      if (!serializer) throw new Error('ndjson encoder: encode() before begin()');
      return serializer.lines(batch);
    },
    end: () => '',
  };
}
