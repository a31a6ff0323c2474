import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CsvOptions, createEncoder } from '../../../src/formats/index.js';
import type { ColumnInfo, Row } from '../../../src/warehouse/port.js';

const cols = (...names: string[]): ColumnInfo[] => names.map((name) => ({ name, type: 'VARCHAR' }));

function csv(columns: ColumnInfo[], batches: Row[][], opts?: CsvOptions): string {
  const encoder = createEncoder('csv', opts);
  return encoder.begin(columns) + batches.map((b) => encoder.encode(b)).join('') + encoder.end();
}

/**
 * A strict RFC 4180 reader for the round trip: an unquoted empty field reads as null, a quoted one
 * as ''. Accepts CRLF or LF record ends; anything malformed throws.
 */
function parseCsv(text: string, delimiter = ','): (string | null)[][] {
  const records: (string | null)[][] = [];
  let record: (string | null)[] = [];
  let i = 0;
  while (i < text.length) {
    let field: string | null;
    if (text[i] === '"') {
      field = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else field += text[i++];
      }
    } else {
      let end = i;
      while (end < text.length && text[end] !== delimiter && text[end] !== '\r' && text[end] !== '\n') {
        if (text[end] === '"') throw new Error(`bare quote at ${end}`);
        end++;
      }
      field = end === i ? null : text.slice(i, end);
      i = end;
    }
    record.push(field);
    if (text[i] === delimiter) i++;
    else if (text.startsWith('\r\n', i) || text[i] === '\n') {
      i += text[i] === '\r' ? 2 : 1;
      records.push(record);
      record = [];
    } else throw new Error(`expected delimiter or line end at ${i}`);
  }
  if (record.length > 0) throw new Error('last record has no line end');
  return records;
}

describe('csv encoder', () => {
  it('writes a header and CRLF records; quotes only fields that need it', () => {
    const text = csv(cols('id', 'name', 'note'), [
      [
        [1, 'plain', 'a,b'],
        [2, 'say "hi"', 'line\nbreak'],
        [3, 'cr\r', ' spaced '],
      ],
    ]);
    expect(text).toBe(
      'id,name,note\r\n1,plain,"a,b"\r\n2,"say ""hi""","line\nbreak"\r\n3,"cr\r", spaced \r\n',
    );
  });

  it('NULL is an empty unquoted field, the empty string is ""', () => {
    expect(csv(cols('a', 'b', 'c'), [[[null, '', 'x']]])).toBe('a,b,c\r\n,"",x\r\n');
  });

  it('numbers and booleans as their JSON text, objects and arrays as quoted JSON', () => {
    const text = csv(cols('n', 'f', 'b', 'j', 'arr', 's'), [
      [[42, 0.1, true, { k: 'v', n: [1, 2] }, [1, null], '12.50']],
    ]);
    expect(text).toBe('n,f,b,j,arr,s\r\n42,0.1,true,"{""k"":""v"",""n"":[1,2]}","[1,null]",12.50\r\n');
  });

  it('a JSON value without delimiter or quotes is not quoted', () => {
    expect(csv(cols('a'), [[[[1]], [{}]]], { header: false })).toBe('[1]\r\n{}\r\n');
  });

  it('LF line endings on request', () => {
    expect(csv(cols('a', 'b'), [[[1, 'x\r\ny']]], { lineEnding: 'LF' })).toBe('a,b\n1,"x\r\ny"\n');
  });

  it('| and tab delimiters quote their own delimiter, not commas', () => {
    expect(csv(cols('a', 'b'), [[['x,y', 'p|q']]], { delimiter: '|' })).toBe('a|b\r\nx,y|"p|q"\r\n');
    expect(csv(cols('a', 'b'), [[['x,y', 'p\tq']]], { delimiter: '\t' })).toBe('a\tb\r\nx,y\t"p\tq"\r\n');
  });

  it('the header uses the unique column names and is quoted like data', () => {
    expect(csv(cols('a', 'a', 'x,y', ''), [])).toBe('a,a_2,"x,y",""\r\n');
  });

  it('header: false writes records only, and says so in the content type', () => {
    const encoder = createEncoder('csv', { header: false });
    expect(encoder.contentType).toBe('text/csv; charset=utf-8; header=absent');
    expect(encoder.begin(cols('a')) + encoder.encode([[1], [2]]) + encoder.end()).toBe('1\r\n2\r\n');
    expect(createEncoder('csv').contentType).toBe('text/csv; charset=utf-8; header=present');
  });

  it('batches concatenate into one document', () => {
    expect(csv(cols('a'), [[[1]], [], [[2], [3]]])).toBe('a\r\n1\r\n2\r\n3\r\n');
  });

  it('rejects a delimiter it cannot quote for', () => {
    expect(() => createEncoder('csv', { delimiter: ';' as ',' })).toThrow(/delimiter/);
  });

  it('any strings and NULLs round-trip through an RFC 4180 reader, for every delimiter and line ending', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<CsvOptions['delimiter']>(',', '|', '\t'),
        fc.constantFrom<CsvOptions['lineEnding']>('CRLF', 'LF'),
        fc.integer({ min: 1, max: 5 }).chain((width) =>
          fc.array(
            fc.array(
              fc.option(
                fc.string({ unit: fc.constantFrom('a', ',', '|', '\t', '"', '\r', '\n', ' ', 'é') }),
                { nil: null },
              ),
              {
                minLength: width,
                maxLength: width,
              },
            ),
            { maxLength: 6 },
          ),
        ),
        (delimiter, lineEnding, rows) => {
          const width = rows[0]?.length ?? 1;
          const names = Array.from({ length: width }, (_, i) => `c${i}`);
          const text = csv(cols(...names), [rows], { delimiter, lineEnding });
          expect(parseCsv(text, delimiter)).toEqual([names, ...rows]);
        },
      ),
    );
  });
});
