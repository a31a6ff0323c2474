import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEncoder, encodeRowObjectsJson, uniqueColumnNames } from '../../../src/formats/index.js';
import type { ColumnInfo, Row } from '../../../src/warehouse/port.js';

const cols = (...names: string[]): ColumnInfo[] => names.map((name) => ({ name, type: 'VARCHAR' }));

const ROWS: Row[] = [
  [1, 'a "quoted"\nline', '12.50', '2024-01-02T03:04:05.5Z', true, 0.1, null, { k: [1, 'x', null] }],
  [2, '', '-0.01', 'infinity', false, 'NaN', 'ä\u2028', [1, [2, 3]]],
];
const COLUMNS = cols('id', 'name', 'amount', 'at', 'ok', 'score', 'note', 'meta');

function run(format: 'json-array' | 'ndjson', columns: ColumnInfo[], batches: Row[][]): string {
  const encoder = createEncoder(format);
  return encoder.begin(columns) + batches.map((b) => encoder.encode(b)).join('') + encoder.end();
}

describe('encodeRowObjectsJson', () => {
  it('writes an array of objects keyed by column name, like JSON.stringify', () => {
    const text = encodeRowObjectsJson(COLUMNS, ROWS);
    expect(JSON.parse(text)).toEqual([
      {
        id: 1,
        name: 'a "quoted"\nline',
        amount: '12.50',
        at: '2024-01-02T03:04:05.5Z',
        ok: true,
        score: 0.1,
        note: null,
        meta: { k: [1, 'x', null] },
      },
      {
        id: 2,
        name: '',
        amount: '-0.01',
        at: 'infinity',
        ok: false,
        score: 'NaN',
        note: 'ä\u2028',
        meta: [1, [2, 3]],
      },
    ]);
    expect(text.startsWith('[{"id":1,"name":"a \\"quoted\\"\\nline","amount":"12.50",')).toBe(true);
  });

  it('an empty batch is []', () => {
    expect(encodeRowObjectsJson(COLUMNS, [])).toBe('[]');
  });

  it('duplicate column names keep every value, under suffixed keys', () => {
    expect(encodeRowObjectsJson(cols('a', 'a'), [[1, 2]])).toBe('[{"a":1,"a_2":2}]');
  });

  it('keeps column order even for integer-like names, which JS objects would move first', () => {
    expect(encodeRowObjectsJson(cols('b', '1', '0'), [['x', 'y', 'z']])).toBe('[{"b":"x","1":"y","0":"z"}]');
  });

  it('a column named __proto__ is data, not a prototype', () => {
    const text = encodeRowObjectsJson(cols('__proto__', 'x'), [[{ polluted: true }, 1]]);
    expect(text).toBe('[{"__proto__":{"polluted":true},"x":1}]');
    expect(Object.keys(JSON.parse(text)[0])).toEqual(['__proto__', 'x']);
  });

  it('a missing or undefined value is null, never a dropped key', () => {
    expect(encodeRowObjectsJson(cols('a', 'b'), [[undefined], [1, undefined]])).toBe(
      '[{"a":null,"b":null},{"a":1,"b":null}]',
    );
  });

  it('any names and values: the same text as writing each member in column order', () => {
    const value = fc.oneof(
      fc.string(),
      // Any UTF-16 code units: quotes, backslashes, controls, lone and paired surrogates.
      fc.string({ unit: 'binary' }),
      fc.string({
        unit: fc.constantFrom('"', '\\', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udc00', 'a'),
      }),
      fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 5e-324, undefined),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.jsonValue(),
    );
    const name = fc.oneof(
      fc.string(),
      fc.nat().map(String),
      fc.constantFrom('__proto__', 'constructor', 'a', 'a_2'),
    );
    fc.assert(
      fc.property(
        fc.array(name, { minLength: 1, maxLength: 6 }),
        fc.array(fc.array(value, { minLength: 6, maxLength: 6 }), { maxLength: 4 }),
        (names, rows) => {
          const columns = cols(...names);
          const keys = uniqueColumnNames(columns);
          const member = (row: Row, i: number) =>
            `${JSON.stringify(keys[i])}:${JSON.stringify(row[i]) ?? 'null'}`;
          const expected = `[${rows.map((row) => `{${keys.map((_, i) => member(row, i)).join(',')}}`).join(',')}]`;
          expect(encodeRowObjectsJson(columns, rows)).toBe(expected);
        },
      ),
    );
  });
});

describe('json-array encoder', () => {
  it('streams batches into one JSON array', () => {
    const text = run('json-array', COLUMNS, [[ROWS[0]!], [], [ROWS[1]!, ROWS[0]!]]);
    expect(JSON.parse(text)).toEqual(
      JSON.parse(encodeRowObjectsJson(COLUMNS, [ROWS[0]!, ROWS[1]!, ROWS[0]!])),
    );
  });

  it('no rows is []', () => {
    expect(run('json-array', COLUMNS, [])).toBe('[]');
    expect(run('json-array', COLUMNS, [[], []])).toBe('[]');
  });

  it('is application/json', () => {
    expect(createEncoder('json-array').contentType).toBe('application/json; charset=utf-8');
  });
});

describe('ndjson encoder', () => {
  it('writes one object per line, each line ending in \\n', () => {
    const text = run('ndjson', cols('a', 'b'), [[[1, 'x\ny']], [[2, null]]]);
    expect(text).toBe('{"a":1,"b":"x\\ny"}\n{"a":2,"b":null}\n');
  });

  it('keeps column order and duplicates on the slow path too', () => {
    expect(run('ndjson', cols('2', 'a', 'a'), [[[1, 2, 3]]])).toBe('{"2":1,"a":2,"a_2":3}\n');
  });

  it('no rows is an empty document', () => {
    expect(run('ndjson', COLUMNS, [[]])).toBe('');
  });

  it('is application/x-ndjson', () => {
    expect(createEncoder('ndjson').contentType).toBe('application/x-ndjson; charset=utf-8');
  });

  it('refuses rows before the columns', () => {
    expect(() => createEncoder('ndjson').encode([[1]])).toThrow(/before begin/);
  });
});
