/**
 * Reading a finished job's stored result (NDJSON, one JSON object per row): pages that resume at a
 * byte offset (the cursor), and downloadable exports (NDJSON, a JSON array, CSV, optionally gzip;
 * Parquet in row groups) converted from it as a stream. Memory is bounded by one page, one read
 * chunk or one Parquet row group, never by the result's size.
 */
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ApiError, invalidRequest } from '../domain/errors.js';
import type { JobResultLocation } from '../domain/query-job.js';
import { createEncoder, uniqueColumnNames } from '../formats/index.js';
import type { ResultStore } from '../storage/port.js';
import type { Row } from '../warehouse/port.js';

export type ExportFormat = 'ndjson' | 'json' | 'csv' | 'parquet';
export type ExportCompression = 'none' | 'gzip';

/** A page stops early past this many bytes, so a page of very wide rows stays bounded too. */
const MAX_PAGE_BYTES = 16 << 20;
const NEWLINE = 0x0a;
/** Rows handed to the Parquet writer at a time: read chunks hold a few hundred, too few per Arrow batch. */
const PARQUET_BATCH_ROWS = 8192;

export interface ExportOptions {
  /** Rows per Parquet row group (SPECTRA_BULK_PARQUET_ROW_GROUP_ROWS). */
  parquetRowGroupRows: number;
}

export interface ResultPage {
  /** Each row's JSON object text, in order. */
  rows: string[];
  nextCursor: string | null;
}

export function encodeResultCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeResultCursor(cursor: string): number {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (v && Number.isSafeInteger(v.o) && v.o >= 0) return v.o;
  } catch {}
  throw invalidRequest('malformed cursor', { field: 'cursor' });
}

const asBuffer = (chunk: Uint8Array) =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

/** Lines of an NDJSON object from `offset`, in batches (one per read chunk). */
async function* ndjsonLines(store: ResultStore, key: string, offset: number): AsyncGenerator<string[]> {
  let carry: Buffer | undefined;
  for await (const chunk of await store.read(key, { offset })) {
    const buf: Buffer = carry ? Buffer.concat([carry, asBuffer(chunk)]) : asBuffer(chunk);
    const lines: string[] = [];
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
      lines.push(buf.toString('utf8', start, nl));
      start = nl + 1;
    }
    carry = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined;
    if (lines.length > 0) yield lines;
  }
}

/** Up to `limit` rows from the cursor's position. A cursor must point at the start of a row. */
export async function readResultPage(
  store: ResultStore,
  result: JobResultLocation,
  sizeBytes: number,
  page: { cursor?: string | undefined; limit: number },
): Promise<ResultPage> {
  const offset = page.cursor ? decodeResultCursor(page.cursor) : 0;
  if (offset > sizeBytes) throw invalidRequest('cursor is past the end of the result', { field: 'cursor' });
  if (offset > 0) {
    let previous: number | undefined;
    for await (const chunk of await store.read(result.key, { offset: offset - 1, length: 1 }))
      previous = chunk[0];
    if (previous !== NEWLINE) throw invalidRequest('malformed cursor', { field: 'cursor' });
  }
  if (offset === sizeBytes || page.limit === 0) {
    return { rows: [], nextCursor: offset < sizeBytes ? encodeResultCursor(offset) : null };
  }
  const rows: string[] = [];
  let position = offset;
  let bytes = 0;
  outer: for await (const lines of ndjsonLines(store, result.key, offset)) {
    for (const line of lines) {
      rows.push(line);
      const lineBytes = Buffer.byteLength(line) + 1;
      position += lineBytes;
      bytes += lineBytes;
      if (rows.length >= page.limit || bytes >= MAX_PAGE_BYTES) break outer;
    }
  }
  return { rows, nextCursor: position < sizeBytes ? encodeResultCursor(position) : null };
}

const EXTENSIONS: Record<ExportFormat, string> = {
  ndjson: 'ndjson',
  json: 'json',
  csv: 'csv',
  parquet: 'parquet',
};

/** The ResultStore key of an export of `result` (beside it, under the job's prefix). */
export function exportKey(
  result: JobResultLocation,
  format: ExportFormat,
  compression: ExportCompression,
): string {
  if (format === 'ndjson' && compression === 'none') return result.key;
  const folder = result.key.slice(0, result.key.lastIndexOf('/') + 1);
  return `${folder}export.${EXTENSIONS[format]}${compression === 'gzip' ? '.gz' : ''}`;
}

export function exportFilename(jobId: string, format: ExportFormat, compression: ExportCompression): string {
  return `${jobId}.${EXTENSIONS[format]}${compression === 'gzip' ? '.gz' : ''}`;
}

/**
 * Writes the export (once; later calls reuse it) and returns its key and size. The stored NDJSON
 * is the `ndjson` export itself; the others are converted from it as a stream.
 */
export async function materializeExport(
  store: ResultStore,
  result: JobResultLocation,
  format: ExportFormat,
  compression: ExportCompression,
  opts: ExportOptions,
): Promise<{ key: string; sizeBytes: number }> {
  const key = exportKey(result, format, compression);
  const existing = await store.stat(key);
  if (existing) return { key, sizeBytes: existing.sizeBytes };
  if (key === result.key) throw new ApiError('NOT_FOUND', 'the job’s result file is gone');

  const writer = await store.createWriter(key);
  try {
    const source =
      format === 'parquet'
        ? parquetBytes(store, result, opts.parquetRowGroupRows)
        : convert(store, result, format);
    const text = Readable.from(source, { objectMode: false });
    const bytes = compression === 'gzip' ? text.pipe(createGzip()) : text;
    for await (const chunk of bytes) await writer.write(chunk as Uint8Array);
    const { sizeBytes } = await writer.close();
    return { key, sizeBytes };
  } catch (e) {
    await writer.abort().catch(() => {});
    throw e;
  }
}

async function* convert(
  store: ResultStore,
  result: JobResultLocation,
  format: ExportFormat,
): AsyncGenerator<Buffer> {
  if (format === 'ndjson') {
    for await (const chunk of await store.read(result.key)) yield asBuffer(chunk);
    return;
  }
  if (format === 'json') {
    let first = true;
    yield Buffer.from('[');
    for await (const lines of ndjsonLines(store, result.key, 0)) {
      const joined = lines.join(',');
      yield Buffer.from(first ? joined : `,${joined}`);
      first = false;
    }
    yield Buffer.from(']');
    return;
  }
  const encoder = createEncoder('csv');
  yield Buffer.from(encoder.begin(result.columns));
  for await (const rows of storedRows(store, result)) yield Buffer.from(encoder.encode(rows));
  yield Buffer.from(encoder.end());
}

/** The stored rows back as value arrays in column order, one batch per read chunk. */
async function* storedRows(store: ResultStore, result: JobResultLocation): AsyncGenerator<Row[]> {
  const keys = uniqueColumnNames(result.columns);
  for await (const lines of ndjsonLines(store, result.key, 0)) {
    yield lines.map((line) => {
      const o = JSON.parse(line) as Record<string, unknown>;
      return keys.map((k) => o[k] ?? null);
    });
  }
}

/** The result as a Parquet file, typed as bulk exports are (formats/parquet.ts), one row group at a time. */
async function* parquetBytes(
  store: ResultStore,
  result: JobResultLocation,
  rowGroupRows: number,
): AsyncGenerator<Uint8Array> {
  // Arrow and the Parquet WASM module load only in processes that write Parquet.
  const { ParquetStreamWriter } = await import('../formats/parquet.js');
  const writer = new ParquetStreamWriter(result.columns, { rowGroupRows });
  const feeding = (async () => {
    try {
      let pending: Row[] = [];
      for await (const rows of storedRows(store, result)) {
        for (const r of rows) pending.push(r);
        if (pending.length >= PARQUET_BATCH_ROWS) {
          await writer.write(pending);
          pending = [];
        }
      }
      await writer.write(pending);
      writer.end();
    } catch (e) {
      writer.abort();
      throw e;
    }
  })();
  // Observed after the bytes end; a writer failure also ends `bytes` with it.
  feeding.catch(() => {});
  yield* writer.bytes;
  await feeding;
}
