/**
 * Streaming CSV record splitter for bulk imports. It finds where each record ends and how many
 * fields it has, without building a string per field: the values themselves are parsed by the
 * warehouse (PostgreSQL's `COPY … (FORMAT csv)`, the grammar that wrote our CSV exports), so
 * what is split here must be split the same way there:
 *
 *   - a double quote anywhere toggles quoting (`""` inside quotes is a literal quote, and toggles twice);
 *   - outside quotes, the delimiter ends a field, LF (or CRLF) ends a record;
 *   - inside quotes, delimiters, CR and LF are data.
 *
 * Records are returned as their bytes without the line ending; a bare CR outside quotes, a NUL
 * byte, invalid UTF-8 or a quote left open at the end make a record malformed (reported with the
 * reason, never passed on). A UTF-8 byte order mark before the first record is dropped.
 */
import { isUtf8 } from 'node:buffer';

export interface CsvRecord {
  /** The record's bytes, without its line ending. */
  bytes: Buffer;
  /** Number of fields (delimiters outside quotes + 1). */
  fields: number;
  /** Why the record cannot be loaded as is, or null. */
  problem: string | null;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

export class CsvRecordSplitter {
  private readonly delimiter: number;
  /** Bytes of an unfinished record carried over from earlier chunks. */
  private carry: Buffer[] = [];
  private carryLength = 0;
  private inQuotes = false;
  private fields = 1;
  private started = false;

  constructor(delimiter: ',' | '|' | '\t') {
    this.delimiter = delimiter.charCodeAt(0);
  }

  /** The records completed by `chunk` (the rest waits for the next chunk). */
  push(chunk: Buffer): CsvRecord[] {
    if (this.started) return this.scan(chunk);
    // The byte order mark needs the first three bytes.
    this.carry.push(chunk);
    this.carryLength += chunk.length;
    if (this.carryLength < 3) return [];
    return this.scan(this.start());
  }

  /** The last record, when the input does not end with a line ending. */
  end(): CsvRecord[] {
    const out = this.started ? [] : this.scan(this.start());
    if (this.carryLength === 0) return out;
    const bytes = this.takeCarry(Buffer.alloc(0));
    if (this.inQuotes) {
      out.push({
        bytes,
        fields: this.fields,
        problem: 'a quoted field is not closed before the end of the file',
      });
    } else {
      out.push(this.record(bytes[bytes.length - 1] === CR ? bytes.subarray(0, -1) : bytes, this.fields));
    }
    return out;
  }

  private start(): Buffer {
    this.started = true;
    const buf = this.takeCarry(Buffer.alloc(0));
    return buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? buf.subarray(3) : buf;
  }

  private scan(buf: Buffer): CsvRecord[] {
    const out: CsvRecord[] = [];
    const delimiter = this.delimiter;
    let start = 0;
    let inQuotes = this.inQuotes;
    let fields = this.fields;
    const n = buf.length;
    for (let i = 0; i < n; i++) {
      const c = buf[i]!;
      if (c === QUOTE) inQuotes = !inQuotes;
      else if (inQuotes) continue;
      else if (c === delimiter) fields++;
      else if (c === LF) {
        let bytes = this.takeCarry(buf.subarray(start, i));
        if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
        out.push(this.record(bytes, fields));
        start = i + 1;
        fields = 1;
      }
    }
    if (start < n) {
      this.carry.push(buf.subarray(start));
      this.carryLength += n - start;
    }
    this.inQuotes = inQuotes;
    this.fields = fields;
    return out;
  }

  private record(bytes: Buffer, fields: number): CsvRecord {
    let problem: string | null = null;
    if (bytes.includes(CR) && hasCrOutsideQuotes(bytes)) problem = 'a carriage return outside quotes';
    else if (bytes.includes(0)) problem = 'a NUL byte';
    else if (!isUtf8(bytes)) problem = 'bytes that are not valid UTF-8';
    return { bytes, fields, problem };
  }

  private takeCarry(tail: Buffer): Buffer {
    if (this.carryLength === 0) return tail;
    const all = Buffer.concat([...this.carry, tail], this.carryLength + tail.length);
    this.carry = [];
    this.carryLength = 0;
    return all;
  }
}

function hasCrOutsideQuotes(bytes: Buffer): boolean {
  let inQuotes = false;
  for (const c of bytes) {
    if (c === QUOTE) inQuotes = !inQuotes;
    else if (c === CR && !inQuotes) return true;
  }
  return false;
}

/**
 * The values of one record, as PostgreSQL's CSV reader sees them: quoted sections unquoted (`""`
 * → `"`), an empty unquoted field is NULL, `""` is the empty string. Used for the header row.
 */
export function csvFieldValues(record: Buffer | string, delimiter: ',' | '|' | '\t'): (string | null)[] {
  const text = typeof record === 'string' ? record : record.toString('utf8');
  const values: (string | null)[] = [];
  let value = '';
  let quoted = false;
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          value += '"';
          i++;
        } else inQuotes = false;
      } else value += ch;
    } else if (ch === '"') {
      inQuotes = true;
      quoted = true;
    } else if (ch === delimiter) {
      values.push(value === '' && !quoted ? null : value);
      value = '';
      quoted = false;
    } else value += ch;
  }
  values.push(value === '' && !quoted ? null : value);
  return values;
}
