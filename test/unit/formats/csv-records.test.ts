/** The CSV record splitter of bulk imports: record boundaries and field counts as PostgreSQL's CSV reader sees them. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvRecordSplitter, csvFieldValues } from '../../../src/formats/csv-records.js';

/** Splits `text` fed in chunks of `size` bytes. */
function split(text: string | Buffer, size = 3, delimiter: ',' | '|' | '\t' = ',') {
  const s = new CsvRecordSplitter(delimiter);
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const out = [];
  for (let i = 0; i < buf.length; i += size) out.push(...s.push(buf.subarray(i, i + size)));
  out.push(...s.end());
  return out.map((r) => ({ text: r.bytes.toString('utf8'), fields: r.fields, problem: r.problem }));
}

describe('CsvRecordSplitter', () => {
  it('ends records at LF or CRLF outside quotes, whatever the chunking', () => {
    for (const size of [1, 2, 5, 100]) {
      expect(split('a,b\r\n"x\r\ny",2\n"say ""hi""",3', size)).toEqual([
        { text: 'a,b', fields: 2, problem: null },
        { text: '"x\r\ny",2', fields: 2, problem: null },
        { text: '"say ""hi""",3', fields: 2, problem: null },
      ]);
    }
  });

  it('counts delimiters outside quotes only, for each delimiter', () => {
    expect(split('a|"b|c"|d\n', 2, '|')).toEqual([{ text: 'a|"b|c"|d', fields: 3, problem: null }]);
    expect(split('a\t"b\tc"\n', 2, '\t')).toEqual([{ text: 'a\t"b\tc"', fields: 2, problem: null }]);
    expect(split('a,b|c\n', 2, '|')[0]!.fields).toBe(2);
  });

  it('drops a byte order mark, keeps blank lines as empty records', () => {
    expect(split('\uFEFFa,b\n\n1,2\n', 1)).toEqual([
      { text: 'a,b', fields: 2, problem: null },
      { text: '', fields: 1, problem: null },
      { text: '1,2', fields: 2, problem: null },
    ]);
  });

  it('reports malformed records: an unclosed quote, a bare CR, a NUL, invalid UTF-8', () => {
    expect(split('a,b\n"open,1\n2,3').at(-1)!.problem).toMatch(/not closed/);
    expect(split('a\rb,c\n')[0]!.problem).toMatch(/carriage return/);
    expect(split('"a\rb",c\n')[0]!.problem).toBeNull();
    expect(split(Buffer.from([0x61, 0x00, 0x2c, 0x62, 0x0a]))[0]!.problem).toMatch(/NUL/);
    expect(split(Buffer.from([0x61, 0xff, 0x2c, 0x62, 0x0a]))[0]!.problem).toMatch(/UTF-8/);
    // A multi-byte character split across chunks is still valid.
    expect(split('é,ü\n', 1)[0]).toEqual({ text: 'é,ü', fields: 2, problem: null });
  });

  it('agrees with a straightforward RFC 4180 writer on any fields (property)', () => {
    const field = fc.oneof(fc.string(), fc.constantFrom('', ',', '"', '\n', '\r\n', 'a"b', ' x '));
    const quote = (f: string) => (/[",\r\n]/.test(f) || f === '' ? `"${f.replaceAll('"', '""')}"` : f);
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 17 }),
        (rows, size) => {
          const text = rows.map((r) => `${r.map(quote).join(',')}\n`).join('');
          const recs = split(text.replaceAll('\0', ''), size);
          const clean = rows.map((r) => r.map((f) => f.replaceAll('\0', '')));
          expect(recs.map((r) => r.fields)).toEqual(clean.map((r) => r.length));
          expect(recs.map((r) => csvFieldValues(r.text, ','))).toEqual(clean);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('csvFieldValues', () => {
  it('unquotes, and tells NULL (empty, unquoted) from the empty string ("")', () => {
    expect(csvFieldValues('a,,"",  b ,"c""d",', ',')).toEqual(['a', null, '', '  b ', 'c"d', null]);
  });
});
