/** The JSON record splitter of bulk imports (NDJSON or one array) and exact number reading. */
import { describe, expect, it } from 'vitest';
import { JsonRecordSplitter, parseJsonRecord } from '../../../src/formats/json-records.js';

function split(text: string, size = 4) {
  const s = new JsonRecordSplitter();
  const buf = Buffer.from(text);
  const out = [];
  for (let i = 0; i < buf.length; i += size) out.push(...s.push(buf.subarray(i, i + size)));
  out.push(...s.end());
  return out;
}

describe('JsonRecordSplitter', () => {
  it('reads NDJSON, skipping blank lines, in any chunking', () => {
    for (const size of [1, 3, 1000]) {
      expect(split('{"a":1}\n\n  {"a":"x\\ny"}\r\n{"a":[1,2]}', size).map((r) => r.text)).toEqual([
        '{"a":1}',
        '{"a":"x\\ny"}',
        '{"a":[1,2]}',
      ]);
    }
  });

  it('reads one JSON array, splitting only at top-level commas', () => {
    for (const size of [1, 5, 1000]) {
      const recs = split(' [ {"a":"],[,"}, {"b":{"c":[1,{"d":2}]}} ,{"e":"\\"}"} ]\n', size);
      expect(recs.map((r) => [r.text, r.problem])).toEqual([
        ['{"a":"],[,"}', null],
        ['{"b":{"c":[1,{"d":2}]}}', null],
        ['{"e":"\\"}"}', null],
      ]);
    }
    expect(split('[]')).toEqual([]);
  });

  it('reports an array left open and data after it', () => {
    expect(split('[{"a":1},{"b":').at(-1)).toMatchObject({ problem: /not closed/ });
    expect(split('[{"a":1}] x').at(-1)).toMatchObject({ problem: /after the end/ });
  });
});

describe('parseJsonRecord', () => {
  it('keeps numbers a double cannot hold as their exact text, others as numbers', () => {
    expect(
      parseJsonRecord('{"id": 12345678901234567890, "n": 1.5, "s": "12345678901234567890", "d": 0.1}'),
    ).toEqual({
      id: '12345678901234567890',
      n: 1.5,
      s: '12345678901234567890',
      d: 0.1,
    });
    expect(parseJsonRecord('{"x": 123456789012.3456789, "y": 1e400, "z": [9007199254740993]}')).toEqual({
      x: '123456789012.3456789',
      y: '1e400',
      z: ['9007199254740993'],
    });
    expect(() => parseJsonRecord('{"a":')).toThrow(SyntaxError);
  });
});
