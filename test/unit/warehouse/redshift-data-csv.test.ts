/** The Data API CSV reader (NULL vs '', quoting, records split across chunks) and type mapping. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CsvField, CsvRecordReader } from '../../../src/warehouse/redshift-data/csv-records.js';
import { resultColumn } from '../../../src/warehouse/redshift-data/types.js';

function readAll(chunks: string[], columns: number): CsvField[][] {
  const reader = new CsvRecordReader(columns);
  const out: CsvField[][] = [];
  for (const c of chunks) reader.read(c, out);
  reader.finish(out);
  return out;
}

/** How Redshift (and the fake) write a field: NULL unquoted empty, '' as "", quotes when needed. */
const encode = (v: CsvField) =>
  v === null ? '' : v === '' ? '""' : /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;

describe('CSV records', () => {
  it('an unquoted empty field is NULL, a quoted one the empty string', () => {
    expect(readAll(['1,,""\n,"",x\n'], 3)).toEqual([
      ['1', null, ''],
      [null, '', 'x'],
    ]);
  });

  it('a one-column NULL row is an empty line, and is kept', () => {
    expect(readAll(['a\n\n""\n'], 1)).toEqual([['a'], [null], ['']]);
  });

  it('quoted fields keep delimiters, doubled quotes, CR and LF; CRLF and LF both end records', () => {
    expect(readAll(['"a,b","say ""hi""","l1\r\nl2"\r\nx,y,z'], 3)).toEqual([
      ['a,b', 'say "hi"', 'l1\r\nl2'],
      ['x', 'y', 'z'],
    ]);
  });

  it('a record cut anywhere between chunks reads the same', () => {
    const text = '1,"a ""q"", b",\n"",x,\r\n,"\n",\n';
    const whole = readAll([text], 3);
    expect(whole).toEqual([
      ['1', 'a "q", b', null],
      ['', 'x', null],
      [null, '\n', null],
    ]);
    for (let cut = 0; cut <= text.length; cut++) {
      for (let cut2 = cut; cut2 <= text.length; cut2 += 3) {
        expect(readAll([text.slice(0, cut), text.slice(cut, cut2), text.slice(cut2)], 3)).toEqual(whole);
      }
    }
  });

  it('property: any table of strings and NULLs survives encoding and arbitrary chunking', () => {
    const field = fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.constantFrom('', '"', ',', '\n', '\r\n', ' x '),
    );
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 4 })
          .chain((cols) =>
            fc.tuple(
              fc.constant(cols),
              fc.array(fc.array(field, { minLength: cols, maxLength: cols }), { maxLength: 8 }),
              fc.array(fc.nat(), { maxLength: 6 }),
              fc.boolean(),
            ),
          ),
        ([cols, rows, cuts, crlf]) => {
          const text = rows.map((r) => r.map(encode).join(',') + (crlf ? '\r\n' : '\n')).join('');
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks: string[] = [];
          let from = 0;
          for (const p of points) {
            chunks.push(text.slice(from, p));
            from = p;
          }
          chunks.push(text.slice(from));
          expect(readAll(chunks, cols)).toEqual(rows);
        },
      ),
    );
  });

  it('refuses a record with the wrong number of fields instead of dropping it', () => {
    expect(() => readAll(['1,2\n3\n'], 2)).toThrow(/malformed CSV/);
    expect(() => readAll(['"open'], 1)).toThrow(/malformed CSV/);
  });
});

describe('column metadata → type names and values (the PostgreSQL adapter’s rules)', () => {
  const col = (typeName: string, extra: Record<string, number> = {}) =>
    resultColumn({ name: 'c', typeName, ...extra }, 0);

  it.each([
    ['int2', {}, 'SMALLINT', '7', 7],
    ['int4', {}, 'INTEGER', '42', 42],
    ['int8', {}, 'BIGINT', '9007199254740993', '9007199254740993'],
    ['int8', {}, 'BIGINT', '12', 12],
    ['numeric', { precision: 12, scale: 2 }, 'DECIMAL(12,2)', '1.50', '1.50'],
    ['numeric', {}, 'DECIMAL', 'NaN', 'NaN'],
    ['float8', {}, 'DOUBLE PRECISION', '0.1', 0.1],
    ['float4', {}, 'REAL', 'Infinity', 'Infinity'],
    ['bool', {}, 'BOOLEAN', 't', true],
    ['bool', {}, 'BOOLEAN', 'false', false],
    ['varchar', { precision: 64 }, 'VARCHAR(64)', 'x', 'x'],
    ['varchar', {}, 'VARCHAR', 'x', 'x'],
    ['text', {}, 'VARCHAR', 'x', 'x'],
    ['bpchar', { precision: 5 }, 'CHAR(5)', 'x    ', 'x    '],
    ['date', {}, 'DATE', '0044-03-15 BC', '-0043-03-15'],
    ['timestamp', {}, 'TIMESTAMP', '2024-01-02 03:04:05.12', '2024-01-02T03:04:05.12'],
    ['timestamptz', {}, 'TIMESTAMPTZ', '2024-01-02 03:04:05.5+00', '2024-01-02T03:04:05.5Z'],
    ['super', {}, 'SUPER', '{"id": 12345678901234567890}', { id: '12345678901234567890' }],
    ['varbyte', {}, 'VARBYTE', '00ff10', 'AP8Q'],
    ['bytea', {}, 'VARBYTE', '\\x00ff10', 'AP8Q'],
    ['_int4', {}, 'INTEGER[]', '{1,NULL,3}', [1, null, 3]],
    ['_varchar', { precision: 3 }, 'VARCHAR(3)[]', '{a,"b c"}', ['a', 'b c']],
    ['intervald2s', {}, 'INTERVAL', 'P1DT2H', 'P1DT2H'],
    ['inet', {}, 'INET', '10.0.0.1', '10.0.0.1'],
    ['geometry', {}, 'GEOMETRY', '0101', '0101'],
    ['mood', {}, 'UNKNOWN', 'happy', 'happy'],
  ])('%s %j → %s; %j → %j', (typeName, extra, type, text, value) => {
    const c = col(typeName, extra);
    expect(c.info.type).toBe(type);
    expect(c.decodeText(text)).toEqual(value);
  });

  it('typed JSON fields: NULL, numbers, booleans, blobs, and strings decoded by the column type', () => {
    expect(col('int4').decodeField({ isNull: true })).toBeNull();
    expect(col('int8').decodeField({ longValue: 5 })).toBe(5);
    expect(col('float8').decodeField({ doubleValue: Number.NaN })).toBe('NaN');
    expect(col('bool').decodeField({ booleanValue: false })).toBe(false);
    expect(col('varbyte').decodeField({ blobValue: new Uint8Array([0, 255, 16]) })).toBe('AP8Q');
    expect(col('timestamptz').decodeField({ stringValue: '2024-01-02 03:04:05+00' })).toBe(
      '2024-01-02T03:04:05Z',
    );
    expect(col('varchar').decodeField({ stringValue: '' })).toBe('');
  });
});
