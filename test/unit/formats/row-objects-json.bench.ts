/**
 * `npx vitest bench test/unit/formats`: 10,000 rows × 8 mixed columns.
 * Compares the shipped encoders with the JSON.stringify baseline and with a hand-written
 * member-by-member serialiser (the one json.ts keeps only for integer-like and __proto__ keys).
 */
import { bench, describe } from 'vitest';
import { createEncoder, encodeRowObjectsJson } from '../../../src/formats/index.js';
import type { ColumnInfo, Row } from '../../../src/warehouse/port.js';

const COLUMNS: ColumnInfo[] = ['id', 'name', 'amount', 'created_at', 'active', 'score', 'note', 'meta'].map(
  (name) => ({ name, type: 'VARCHAR' }),
);
const ROWS: Row[] = Array.from({ length: 10_000 }, (_, i) => [
  i,
  `customer "${i}" name`,
  (i * 1.25).toFixed(2),
  '2024-01-02T03:04:05.123456Z',
  i % 2 === 0,
  i / 7,
  i % 3 === 0 ? null : `note, ${i}`,
  i % 5 === 0 ? { a: i, b: [1, 2, 'x'] } : null,
]);

const names = COLUMNS.map((c) => c.name);
const toObject = (row: Row) => {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) o[names[i]!] = row[i];
  return o;
};
const prefixes = names.map((k, i) => (i === 0 ? '{' : ',') + JSON.stringify(k) + ':');
const handWritten = (rows: Row[]) => {
  let out = '[';
  for (let r = 0; r < rows.length; r++) {
    if (r > 0) out += ',';
    for (let i = 0; i < prefixes.length; i++) out += prefixes[i] + (JSON.stringify(rows[r]![i]) ?? 'null');
    out += '}';
  }
  return out + ']';
};

describe('10,000 rows × 8 columns as a JSON array of objects', () => {
  bench('baseline: JSON.stringify(rows.map(toObject))', () => {
    JSON.stringify(ROWS.map(toObject));
  });
  bench('encodeRowObjectsJson', () => {
    encodeRowObjectsJson(COLUMNS, ROWS);
  });
  bench('hand-written member-by-member serialiser', () => {
    handWritten(ROWS);
  });
});

describe('10,000 rows × 8 columns through the streaming encoders (one batch)', () => {
  for (const format of ['json-array', 'ndjson', 'csv'] as const) {
    bench(format, () => {
      const encoder = createEncoder(format);
      encoder.begin(COLUMNS);
      encoder.encode(ROWS);
      encoder.end();
    });
  }
});
