/**
 * Streaming JSON record splitter for bulk imports: newline-delimited JSON (one value per line,
 * blank lines skipped) or one JSON array of values, told apart by the first non-blank byte (`[`).
 * Yields each record's text; parsing it is the caller's (so one malformed record fails alone).
 * Memory is bounded by the largest record, never by the file.
 */

export interface JsonRecordText {
  text: string;
  /** Why the record cannot be read, or null (e.g. an array left open at the end). */
  problem: string | null;
}

const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

type Mode = 'unknown' | 'lines' | 'array';

export class JsonRecordSplitter {
  private mode: Mode = 'unknown';
  private carry: Buffer[] = [];
  private carryLength = 0;
  // Array mode scanner state.
  private depth = 0;
  private inString = false;
  private escaped = false;
  private arrayDone = false;
  private trailing = false;

  push(chunk: Buffer): JsonRecordText[] {
    let buf = chunk;
    if (this.mode === 'unknown') {
      let i = 0;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
      while (i < buf.length && isBlank(buf[i]!)) i++;
      if (i === buf.length) return [];
      this.mode = buf[i] === 0x5b ? 'array' : 'lines';
      buf = buf.subarray(this.mode === 'array' ? i + 1 : i);
    }
    return this.mode === 'lines' ? this.lines(buf) : this.array(buf);
  }

  end(): JsonRecordText[] {
    const rest = this.take(Buffer.alloc(0));
    if (this.mode === 'lines') {
      const text = rest.toString('utf8').trim();
      return text ? [{ text, problem: null }] : [];
    }
    if (this.mode === 'array' && !this.arrayDone) {
      const text = rest.toString('utf8').trim();
      return [{ text, problem: 'the JSON array is not closed before the end of the file' }];
    }
    return [];
  }

  private lines(buf: Buffer): JsonRecordText[] {
    const out: JsonRecordText[] = [];
    let start = 0;
    for (let i = buf.indexOf(LF); i >= 0; i = buf.indexOf(LF, start)) {
      const text = this.take(buf.subarray(start, i)).toString('utf8').trim();
      if (text) out.push({ text, problem: null });
      start = i + 1;
    }
    this.keep(buf.subarray(start));
    return out;
  }

  /** Splits the array's elements at top-level commas; strings may hold any byte but an unescaped quote. */
  private array(buf: Buffer): JsonRecordText[] {
    const out: JsonRecordText[] = [];
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      if (this.arrayDone) {
        if (!isBlank(c)) this.trailing = true;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if ((c === 0x7d || c === 0x5d) && this.depth > 0) this.depth--;
      else if (this.depth === 0 && (c === 0x2c || c === 0x5d)) {
        const text = this.take(buf.subarray(start, i)).toString('utf8').trim();
        if (text || c === 0x2c) out.push({ text, problem: text ? null : 'an empty array element' });
        start = i + 1;
        if (c === 0x5d) this.arrayDone = true;
      }
    }
    if (!this.arrayDone) this.keep(buf.subarray(start));
    if (this.trailing) {
      this.trailing = false;
      out.push({ text: '', problem: 'data after the end of the JSON array' });
    }
    return out;
  }

  private keep(rest: Buffer): void {
    if (rest.length === 0) return;
    this.carry.push(rest);
    this.carryLength += rest.length;
  }

  private take(tail: Buffer): Buffer {
    if (this.carryLength === 0) return tail;
    const all = Buffer.concat([...this.carry, tail], this.carryLength + tail.length);
    this.carry = [];
    this.carryLength = 0;
    return all;
  }
}

const isBlank = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** A number literal needs 16+ of these characters, or a 3-digit exponent, to be inexact in a double. */
const MAYBE_INEXACT_NUMBER = /[0-9.eE+-]{16}|[eE][+-]?\d{3}/;
const NUMBER_LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * JSON.parse, except that a number a double cannot hold exactly (a 20-digit id, a decimal with
 * many digits) becomes the string of its literal, so no precision is lost on the way to the
 * warehouse (the rule docs/types.md gives for JSON values). Throws SyntaxError like JSON.parse.
 */
export function parseJsonRecord(text: string): unknown {
  if (!MAYBE_INEXACT_NUMBER.test(text)) return JSON.parse(text);
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < text.length && text.charCodeAt(i) !== QUOTE; i++)
        if (text.charCodeAt(i) === BACKSLASH) i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER_LITERAL.lastIndex = i;
      const m = NUMBER_LITERAL.exec(text);
      if (!m) continue;
      const literal = m[0];
      if (!sameNumber(literal, String(Number(literal)))) {
        out += `${text.slice(copied, i)}"${literal}"`;
        copied = i + literal.length;
      }
      i += literal.length - 1;
    }
  }
  return JSON.parse(copied === 0 ? text : out + text.slice(copied));
}

/** Whether two decimal literals denote the same value (compared as sign, digits, exponent). */
function sameNumber(a: string, b: string): boolean {
  if (!Number.isFinite(Number(a))) return false;
  return canonical(a) === canonical(b);
}

function canonical(text: string): string {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let exponent = Number(m[4] ?? 0) - (m[3] ?? '').length;
  digits = digits.replace(/^0+/, '');
  if (digits === '') return '0';
  const trimmed = digits.replace(/0+$/, '');
  exponent += digits.length - trimmed.length;
  return `${m[1]}${trimmed}e${exponent}`;
}
