/**
 * Positions. The parser reports AST locations and token offsets in UTF-8 bytes and error cursors
 * in characters, all in the text it parsed (placeholders already replaced). Tenants need positions
 * in the text they sent: 1-based characters (as PostgreSQL reports them), plus line and column.
 */

export interface SourcePosition {
  /** 1-based character (code point) offset into the SQL the tenant sent. */
  position: number;
  line: number;
  column: number;
  /** Up to 30 characters of the SQL from that point. */
  near: string;
}

/** One replaced span: [originalStart, originalEnd) in the tenant's text became [start, end) in ours. */
export interface Replacement {
  originalStart: number;
  originalEnd: number;
  start: number;
  end: number;
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** Maps a UTF-8 byte offset into `text` to a UTF-16 string index. */
export function byteOffsetMapper(text: string): (byteOffset: number) => number {
  if (ASCII_ONLY.test(text)) return (b) => Math.min(Math.max(b, 0), text.length);
  const indexOfByte: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i) ?? 0;
    const bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < bytes; k++) indexOfByte.push(i);
    if (cp >= 0x10000) i++;
  }
  indexOfByte.push(text.length);
  return (b) => indexOfByte[Math.min(Math.max(b, 0), indexOfByte.length - 1)] ?? text.length;
}

function codePointToIndex(text: string, codePoints: number): number {
  let i = 0;
  for (let n = 0; n < codePoints && i < text.length; n++) i += (text.codePointAt(i) ?? 0) >= 0x10000 ? 2 : 1;
  return i;
}

export class SourceMap {
  constructor(
    readonly original: string,
    readonly rewritten: string,
    readonly replacements: readonly Replacement[] = [],
    /** The map of an earlier rewrite whose output is `original` (positions are reported in its original). */
    readonly parent?: SourceMap,
  ) {}

  /** Position of a parser error cursor (0-based characters in the rewritten text). */
  fromCursor(cursor: number): SourcePosition {
    return this.resolve(this.toOriginalIndex(codePointToIndex(this.rewritten, cursor)));
  }

  /** Position of an AST `location` (UTF-8 bytes in the rewritten text). */
  fromLocation(location: number | undefined): SourcePosition | undefined {
    if (location === undefined || location < 0) return undefined;
    return this.resolve(this.toOriginalIndex(byteOffsetMapper(this.rewritten)(location)));
  }

  private resolve(index: number): SourcePosition {
    return this.parent === undefined
      ? this.locate(index)
      : this.parent.resolve(this.parent.toOriginalIndex(index));
  }

  private toOriginalIndex(index: number): number {
    let shift = 0;
    for (const r of this.replacements) {
      if (index < r.start) break;
      if (index < r.end) return r.originalStart;
      shift = r.originalEnd - r.end;
    }
    return index + shift;
  }

  private locate(index: number): SourcePosition {
    const before = this.original.slice(0, index);
    const lines = before.split('\n');
    const lastLine = lines[lines.length - 1] ?? '';
    return {
      position: Array.from(before).length + 1,
      line: lines.length,
      column: Array.from(lastLine).length + 1,
      near: Array.from(this.original.slice(index, index + 60))
        .slice(0, 30)
        .join(''),
    };
  }
}
