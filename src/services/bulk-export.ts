/**
 * Runs a bulk export (`operation: "query"`) into the ResultStore, as the job's tenant role, with
 * memory bounded whatever the row count:
 *
 *   CSV      `COPY (<guarded SQL>) TO STDOUT` through the warehouse's `copyOut` (PostgreSQL writes
 *            the CSV; values in its text forms), our header row, LF or CRLF records;
 *            adapters without `copyOut` stream rows through the CSV encoder instead.
 *   JSON     rows through the NDJSON or JSON-array encoder: values as in the Query API.
 *   PARQUET  rows into Arrow batches and Parquet row groups (formats/parquet.ts).
 *
 * Every path asks for a result of any size (`resultOfAnySize`): on the Data API the rows then come
 * from UNLOAD's parts in S3, not from GetStatementResult and its 100 MB cap.
 *
 * GZIP compresses on the way to the store; the result records size, rows, SHA-256 and columns.
 */
import type { BulkJob, BulkResult } from '../domain/bulk-job.js';
import { ApiError } from '../domain/errors.js';
import { createCsvEncoder } from '../formats/csv.js';
import { createEncoder } from '../formats/index.js';
import type { ParquetStreamWriter } from '../formats/parquet.js';
import type { ResultStore } from '../storage/port.js';
import type { ColumnInfo, ExecutionContext, Row, Warehouse } from '../warehouse/port.js';
import { exportKey, FileOutput } from './bulk-files.js';

/** Counters the worker reports while the job runs. */
export interface BulkProgress {
  processed: number;
  failed: number;
}

export interface BulkRunContext {
  warehouse: Warehouse;
  results: ResultStore;
  /** Execution context of the job's statements (tenant role, timeout, abort signal, label). */
  execution: ExecutionContext;
  progress: BulkProgress;
  gzipLevel: number;
  parquetRowGroupRows: number;
  maxFileBytes: number;
}

const LF = 0x0a;
const QUOTE = 0x22;

export async function runBulkExport(job: BulkJob, ctx: BulkRunContext): Promise<BulkResult> {
  if (!job.plannedSql) throw new ApiError('INTERNAL_ERROR', 'bulk export without a planned statement');
  const key = exportKey(job);
  const out = await FileOutput.open(ctx.results, key, job.compression === 'GZIP' ? ctx.gzipLevel : null);
  let columns: ColumnInfo[] = [];
  try {
    let rowCount: number;
    const statement = { sql: job.plannedSql, params: [] };
    if (job.contentType === 'CSV' && ctx.warehouse.copyOut) {
      const header = createCsvEncoder({ delimiter: job.columnDelimiter, lineEnding: job.lineEnding });
      const crlf = job.lineEnding === 'CRLF' ? new CrlfRecords() : null;
      const r = await ctx.warehouse.copyOut(
        ctx.execution,
        statement,
        { delimiter: job.columnDelimiter },
        {
          columns: (cols) => {
            columns = cols;
            return out.write(header.begin(cols));
          },
          data: (chunk) => {
            // Records so far, for the counters: LF count (a quoted newline may overcount until the end).
            ctx.progress.processed += countByte(chunk, LF);
            return out.write(crlf ? crlf.convert(chunk) : chunk);
          },
        },
      );
      rowCount = r.rowCount;
    } else if (job.contentType === 'PARQUET') {
      rowCount = await exportParquet(job, ctx, out, (cols) => {
        columns = cols;
      });
    } else {
      const encoder =
        job.contentType === 'CSV'
          ? createCsvEncoder({ delimiter: job.columnDelimiter, lineEnding: job.lineEnding })
          : createEncoder(job.jsonFormat === 'ARRAY' ? 'json-array' : 'ndjson');
      const r = await ctx.warehouse.execute({ ...ctx.execution, resultOfAnySize: true }, statement, {
        columns: (cols) => {
          columns = cols;
          return out.write(encoder.begin(cols));
        },
        rows: (batch) => {
          ctx.progress.processed += batch.length;
          return out.write(encoder.encode(batch));
        },
      });
      await out.write(encoder.end());
      rowCount = r.rowCount;
    }
    ctx.progress.processed = rowCount;
    const stored = await out.close();
    return {
      key,
      format: job.contentType,
      compression: job.compression,
      sizeBytes: stored.sizeBytes,
      rowCount,
      sha256: stored.sha256,
      failedKey: null,
      columns: columns.map((c) => ({ name: c.name, type: c.type })),
    };
  } catch (e) {
    await out.abort().catch(() => {});
    throw e;
  }
}

async function exportParquet(
  job: BulkJob,
  ctx: BulkRunContext,
  out: FileOutput,
  onColumns: (cols: ColumnInfo[]) => void,
): Promise<number> {
  // Arrow and the Parquet WASM module (~50 MB resident) load only in processes that write Parquet.
  const { ParquetStreamWriter } = await import('../formats/parquet.js');
  let writer: ParquetStreamWriter | undefined;
  let drained: Promise<void> | undefined;
  const open = (cols: ColumnInfo[]) => {
    const w = new ParquetStreamWriter(cols, { rowGroupRows: ctx.parquetRowGroupRows });
    writer = w;
    drained = (async () => {
      for await (const bytes of w.bytes) await out.write(bytes);
    })();
    // Observed through `await drained` below; a writer failure also fails the next `write`.
    drained.catch(() => {});
  };
  try {
    const r = await ctx.warehouse.execute(
      { ...ctx.execution, resultOfAnySize: true },
      { sql: job.plannedSql!, params: [] },
      {
        columns: (cols) => {
          onColumns(cols);
          open(cols);
        },
        rows: (batch: Row[]) => {
          ctx.progress.processed += batch.length;
          return writer!.write(batch);
        },
      },
    );
    writer!.end();
    await drained;
    return r.rowCount;
  } catch (e) {
    writer?.abort();
    await drained?.catch(() => {});
    throw e;
  }
}

function countByte(chunk: Uint8Array, byte: number): number {
  let n = 0;
  for (let i = chunk.indexOf(byte); i !== -1; i = chunk.indexOf(byte, i + 1)) n++;
  return n;
}

/**
 * LF record ends → CRLF. The warehouse quotes every field holding CR or LF, so an LF outside
 * quotes always ends a record; quote state carries across chunks.
 */
class CrlfRecords {
  private inQuotes = false;

  convert(chunk: Uint8Array): Buffer {
    const src = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const parts: Buffer[] = [];
    let start = 0;
    let inQuotes = this.inQuotes;
    for (let i = 0; i < src.length; i++) {
      const c = src[i]!;
      if (c === QUOTE) inQuotes = !inQuotes;
      else if (c === LF && !inQuotes) {
        parts.push(src.subarray(start, i), CRLF);
        start = i + 1;
      }
    }
    this.inQuotes = inQuotes;
    parts.push(src.subarray(start));
    return Buffer.concat(parts);
  }
}

const CRLF = Buffer.from('\r\n');
