/**
 * Parquet output for bulk exports, written in row groups as rows arrive: each batch of rows (JSON-
 * ready values, docs/types.md) becomes an Arrow record batch (apache-arrow), handed to
 * parquet-wasm's streaming writer (`transformParquetStream`), which emits a row group's bytes as
 * soon as it is full. Memory: one row group inside the writer plus the batch being converted.
 *
 * Column types come from the warehouse type names:
 *
 *   SMALLINT → INT16, INTEGER → INT32, BIGINT/OID → INT64, REAL → FLOAT, DOUBLE PRECISION → DOUBLE,
 *   BOOLEAN → BOOLEAN, DECIMAL(p,s) (p ≤ 38, s ≥ 0) → DECIMAL(p,s), DATE → DATE,
 *   TIMESTAMP → TIMESTAMP(µs), TIMESTAMPTZ → TIMESTAMP(µs, UTC), VARBYTE → BINARY,
 *   everything else (text, unconstrained DECIMAL, TIME, INTERVAL, UUID, SUPER as JSON text,
 *   arrays as JSON text, …) → STRING.
 *
 * Values a Parquet type cannot hold (a NaN DECIMAL, an infinite date) fail the export with a
 * message naming the column, rather than being written as something else.
 */
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { ApiError } from '../domain/errors.js';
import type { ColumnInfo, Row } from '../warehouse/port.js';
import { uniqueColumnNames } from './column-names.js';

export interface ParquetOptions {
  /** Rows per row group (a row group is held in memory until it is written). */
  rowGroupRows: number;
}

/** Dictionary pages beyond this fall back to plain encoding (measured: keeps high-cardinality columns fast). */
const DICTIONARY_PAGE_LIMIT = 64 * 1024;
/** Record batches waiting for the writer. */
const QUEUE_LIMIT = 2;

type ColumnWriter = (values: unknown[], n: number) => arrow.Data;

interface ColumnPlan {
  field: arrow.Field;
  build: ColumnWriter;
}

/** The Parquet type a warehouse type name maps to, as an Arrow type. */
export function parquetTypeOf(typeName: string): arrow.DataType {
  const t = typeName.toUpperCase();
  if (t.endsWith('[]')) return new arrow.Utf8();
  switch (t) {
    case 'SMALLINT':
      return new arrow.Int16();
    case 'INTEGER':
      return new arrow.Int32();
    case 'BIGINT':
    case 'OID':
      return new arrow.Int64();
    case 'REAL':
      return new arrow.Float32();
    case 'DOUBLE PRECISION':
      return new arrow.Float64();
    case 'BOOLEAN':
      return new arrow.Bool();
    case 'DATE':
      return new arrow.DateDay();
    case 'TIMESTAMP':
      return new arrow.TimestampMicrosecond();
    case 'TIMESTAMPTZ':
      return new arrow.TimestampMicrosecond('UTC');
    case 'VARBYTE':
      return new arrow.Binary();
  }
  const dec = /^DECIMAL\((\d+),(-?\d+)\)$/.exec(t);
  if (dec) {
    const precision = Number(dec[1]);
    const scale = Number(dec[2]);
    if (precision >= 1 && precision <= 38 && scale >= 0 && scale <= precision)
      return new arrow.Decimal(scale, precision, 128);
  }
  return new arrow.Utf8();
}

/**
 * Streams rows into Parquet bytes. `write` resolves once the batch is queued for the writer (await
 * it: that is the backpressure); `bytes` yields the file's bytes and must be consumed concurrently.
 */
export class ParquetStreamWriter {
  readonly bytes: AsyncIterable<Uint8Array>;
  private readonly plans: ColumnPlan[];
  private readonly schema: arrow.Schema;
  private readonly queue: parquet.RecordBatch[] = [];
  private closed = false;
  private written = false;
  private failure: unknown;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  constructor(columns: readonly ColumnInfo[], opts: ParquetOptions) {
    const names = uniqueColumnNames(columns);
    this.plans = columns.map((c, i) => planColumn(names[i]!, c));
    this.schema = new arrow.Schema(this.plans.map((p) => p.field));
    const source = new ReadableStream<parquet.RecordBatch>(
      {
        pull: async (controller) => {
          while (this.queue.length === 0 && !this.closed) {
            await new Promise<void>((resolve) => {
              this.wakeReader = resolve;
            });
          }
          const next = this.queue.shift();
          this.wakeWriter?.();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const props = new parquet.WriterPropertiesBuilder()
      .setCompression(parquet.Compression.SNAPPY)
      .setDictionaryPageSizeLimit(DICTIONARY_PAGE_LIMIT)
      .setMaxRowGroupSize(opts.rowGroupRows)
      .setCreatedBy('redshift-spectra')
      .build();
    const output = parquet.transformParquetStream(source, props);
    const self = this;
    this.bytes = (async function* () {
      try {
        const reader = (await output).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value as Uint8Array;
        }
      } catch (e) {
        self.failure = e;
        self.wakeWriter?.();
        throw e;
      }
    })();
  }

  async write(rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    while (this.queue.length >= QUEUE_LIMIT && this.failure === undefined) {
      await new Promise<void>((resolve) => {
        this.wakeWriter = resolve;
      });
    }
    if (this.failure !== undefined) throw this.failure;
    this.queue.push(this.toWasmBatch(rows));
    this.wakeReader?.();
  }

  /** No more rows: the writer finishes the last row group and the footer. */
  end(): void {
    // A file needs its schema even without rows: one empty batch carries it.
    if (!this.written) this.queue.push(this.toWasmBatch([]));
    this.closed = true;
    this.wakeReader?.();
  }

  /** Stops early (the export failed or was aborted): the writer finishes with what it has. */
  abort(): void {
    for (const batch of this.queue.splice(0)) batch.free();
    if (!this.written) this.queue.push(this.toWasmBatch([]));
    this.closed = true;
    this.wakeReader?.();
  }

  private toWasmBatch(rows: readonly Row[]): parquet.RecordBatch {
    const n = rows.length;
    const children = this.plans.map((p, col) => {
      const values = new Array<unknown>(n);
      for (let i = 0; i < n; i++) values[i] = rows[i]![col];
      return p.build(values, n);
    });
    const struct = arrow.makeData({
      type: new arrow.Struct(this.schema.fields),
      length: n,
      nullCount: 0,
      children,
    });
    const batch = new arrow.RecordBatch(this.schema, struct);
    const table = parquet.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table(batch), 'stream'));
    try {
      const rb = table.recordBatch(0);
      if (!rb) throw new Error('parquet: empty IPC table');
      this.written = true;
      return rb;
    } finally {
      table.free();
    }
  }
}

function planColumn(name: string, column: ColumnInfo): ColumnPlan {
  const type = parquetTypeOf(column.type);
  const fail = (value: unknown): never => {
    throw new ApiError(
      'QUERY_FAILED',
      `column "${name}" (${column.type}) holds ${JSON.stringify(value)}, which Parquet cannot represent as ${type}`,
      { column: name },
    );
  };
  // JSON values (SUPER) and arrays are written as their JSON text, strings included (`"s"`).
  const json = column.type.toUpperCase() === 'SUPER' || column.type.endsWith('[]');
  return { field: new arrow.Field(name, type, true), build: builderFor(type, fail, json) };
}

/** Validity bitmap (bit set = value present) and null count. */
function validity(values: unknown[], n: number): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (values[i] === null || values[i] === undefined) nullCount++;
    else nullBitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { nullBitmap, nullCount };
}

function builderFor(type: arrow.DataType, fail: (v: unknown) => never, json: boolean): ColumnWriter {
  const fixed =
    <A extends { [i: number]: number | bigint; length: number }>(
      make: (n: number) => A,
      convert: (v: unknown) => A[number],
    ): ColumnWriter =>
    (values, n) => {
      const data = make(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null && v !== undefined) data[i] = convert(v);
      }
      return arrow.makeData({ type, length: n, ...validity(values, n), data } as never);
    };
  if (type instanceof arrow.Int16)
    return fixed(
      (n) => new Int16Array(n),
      (v) => Number(v),
    );
  if (type instanceof arrow.Int32)
    return fixed(
      (n) => new Int32Array(n),
      (v) => Number(v),
    );
  if (type instanceof arrow.Int64)
    return fixed(
      (n) => new BigInt64Array(n),
      (v) => BigInt(v as number | string),
    );
  const toFloat = (v: unknown) => (typeof v === 'number' ? v : Number(v));
  if (type instanceof arrow.Float32) return fixed((n) => new Float32Array(n), toFloat);
  if (type instanceof arrow.Float64) return fixed((n) => new Float64Array(n), toFloat);
  if (type instanceof arrow.Bool) {
    return (values, n) => {
      const data = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (values[i] === true) data[i >> 3]! |= 1 << (i & 7);
      return arrow.makeData({ type, length: n, ...validity(values, n), data } as never);
    };
  }
  if (type instanceof arrow.DateDay)
    return fixed(
      (n) => new Int32Array(n),
      (v) => epochDays(v, fail),
    );
  if (type instanceof arrow.TimestampMicrosecond)
    return fixed(
      (n) => new BigInt64Array(n),
      (v) => epochMicros(v, fail),
    );
  if (type instanceof arrow.Decimal) {
    const scale = type.scale;
    return (values, n) => {
      const data = new Uint32Array(n * 4);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null && v !== undefined) writeDecimal(data, i * 4, String(v), scale, fail);
      }
      return arrow.makeData({ type, length: n, ...validity(values, n), data } as never);
    };
  }
  if (type instanceof arrow.Binary) {
    return (values, n) => {
      const parts: Buffer[] = [];
      const valueOffsets = new Int32Array(n + 1);
      let size = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null && v !== undefined) {
          const b = Buffer.from(String(v), 'base64');
          parts.push(b);
          size += b.length;
        }
        valueOffsets[i + 1] = size;
      }
      const data = new Uint8Array(Buffer.concat(parts, size));
      return arrow.makeData({ type, length: n, ...validity(values, n), valueOffsets, data } as never);
    };
  }
  // STRING: strings as they are, JSON values and arrays (and anything not a string) as JSON text.
  return (values, n) => {
    const texts = new Array<string>(n);
    const valueOffsets = new Int32Array(n + 1);
    let size = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      const s = v === null || v === undefined ? '' : typeof v === 'string' && !json ? v : JSON.stringify(v);
      texts[i] = s;
      size += Buffer.byteLength(s, 'utf8');
      valueOffsets[i + 1] = size;
    }
    const data = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < n; i++) at += data.write(texts[i]!, at, 'utf8');
    return arrow.makeData({
      type,
      length: n,
      ...validity(values, n),
      valueOffsets,
      data: new Uint8Array(data.buffer, data.byteOffset, size),
    } as never);
  };
}

const DAY_MS = 86_400_000;
const DATE_TEXT = /^(-?\d{4,})-(\d\d)-(\d\d)/;
const TIME_TEXT = /^(-?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z?$/;

/** Milliseconds of a proleptic Gregorian date-time; `setUTCFullYear` keeps years 0–99 as they are. */
function utcMs(year: number, month: number, day: number, h = 0, m = 0, s = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(h, m, s, 0);
  return d.getTime();
}

function epochDays(v: unknown, fail: (v: unknown) => never): number {
  const m = DATE_TEXT.exec(String(v));
  if (!m) return fail(v);
  return Math.round(utcMs(Number(m[1]), Number(m[2]), Number(m[3])) / DAY_MS);
}

function epochMicros(v: unknown, fail: (v: unknown) => never): bigint {
  const m = TIME_TEXT.exec(String(v));
  if (!m) return fail(v);
  const ms = utcMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const micros = m[7] ? Number(m[7].padEnd(6, '0')) : 0;
  return BigInt(ms) * 1000n + BigInt(micros);
}

const TWO_32 = 2 ** 32;

/** A decimal string with `scale` fraction digits → 128-bit two's complement, little-endian words. */
function writeDecimal(
  out: Uint32Array,
  at: number,
  text: string,
  scale: number,
  fail: (v: unknown) => never,
): void {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[2] === '' && !m[3])) fail(text);
  const fraction = (m![3] ?? '').padEnd(scale, '0');
  if (fraction.length > scale) fail(text);
  const digits = (m![2] ?? '') + fraction;
  const negative = m![1] === '-';
  if (digits.length <= 15) {
    // Exact in a double: split into words without BigInt.
    let mag = Number(digits);
    if (negative && mag !== 0) {
      // Two's complement of a magnitude below 2^53: invert and add one, word by word.
      const lo = mag % TWO_32;
      const hi = Math.floor(mag / TWO_32);
      const nlo = (TWO_32 - lo) % TWO_32;
      out[at] = nlo;
      out[at + 1] = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
      out[at + 2] = 0xffffffff;
      out[at + 3] = 0xffffffff;
      return;
    }
    out[at] = mag % TWO_32;
    mag = Math.floor(mag / TWO_32);
    out[at + 1] = mag;
    out[at + 2] = 0;
    out[at + 3] = 0;
    return;
  }
  let v = BigInt.asUintN(128, BigInt((negative ? '-' : '') + digits));
  for (let w = 0; w < 4; w++) {
    out[at + w] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
}
