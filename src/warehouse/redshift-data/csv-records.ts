/**
 * Reads the CSV text of `GetStatementResultV2` (`Records[].CSVRecords`) into records of
 * `string | null`: an unquoted empty field is SQL NULL, a quoted empty field (`""`) is the empty
 * string (the convention of Redshift's UNLOAD … CSV and PostgreSQL's COPY … CSV; the API
 * reference does not spell it out, see docs/aws.md). Chunks and pages may end in the middle of a
 * record: the incomplete tail is kept and completed by the next chunk.
 */
import { ApiError } from '../../domain/errors.js';

export type CsvField = string | null;

const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

export class CsvRecordReader {
  private tail = '';

  constructor(private readonly columns: number) {}

  /** True when no incomplete record is pending (the next chunk starts a record). */
  get atRecordBoundary(): boolean {
    return this.tail === '';
  }

  /** Appends every complete record of `chunk` (after the tail kept from earlier chunks) to `out`. */
  read(chunk: string, out: CsvField[][]): void {
    const text = this.tail === '' ? chunk : this.tail + chunk;
    const consumed = parseRecords(text, false, out, this.columns);
    this.tail = consumed === text.length ? '' : text.slice(consumed);
  }

  /** End of the result: a kept tail (a last record without a line break) is a record too. */
  finish(out: CsvField[][]): void {
    if (this.tail === '') return;
    parseRecords(this.tail, true, out, this.columns);
    this.tail = '';
  }
}

/**
 * Parses records from `text`; returns how many characters were consumed. Without `final`, a
 * record that may continue in the next chunk is left unconsumed.
 */
function parseRecords(text: string, final: boolean, out: CsvField[][], columns: number): number {
  const n = text.length;
  let i = 0;
  let recordStart = 0;
  let row: CsvField[] = [];
  while (i < n) {
    let value: CsvField;
    if (text.charCodeAt(i) === QUOTE) {
      let pieces = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q < 0) {
          if (final) throw malformed('unterminated quoted field');
          return recordStart;
        }
        if (q + 1 >= n && !final) return recordStart; // the next chunk may start with a second quote
        if (text.charCodeAt(q + 1) === QUOTE) {
          pieces += text.slice(from, q + 1);
          from = q + 2;
          continue;
        }
        value = pieces + text.slice(from, q);
        i = q + 1;
        break;
      }
    } else {
      let j = i;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === COMMA || c === LF || c === CR) break;
      }
      if (j >= n && !final) return recordStart;
      value = j === i ? null : text.slice(i, j);
      i = j;
    }
    row.push(value);
    if (i >= n) break;
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      i++;
      if (i >= n) {
        if (!final) return recordStart;
        row.push(null);
      }
      continue;
    }
    if (c === CR) {
      if (i + 1 >= n && !final) return recordStart;
      i += text.charCodeAt(i + 1) === LF ? 2 : 1;
    } else if (c === LF) i++;
    else throw malformed('text after a closing quote');
    out.push(checked(row, columns));
    row = [];
    recordStart = i;
  }
  if (row.length > 0) out.push(checked(row, columns));
  return n;
}

function checked(row: CsvField[], columns: number): CsvField[] {
  if (row.length !== columns) throw malformed(`a record has ${row.length} fields; the result has ${columns}`);
  return row;
}

const malformed = (reason: string) =>
  new ApiError('INTERNAL_ERROR', 'the warehouse returned a malformed CSV result', { reason });
