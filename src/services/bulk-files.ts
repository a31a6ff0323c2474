/**
 * Files of a bulk job in the ResultStore, all under the tenant's prefix (`{tenant}/{job}/…`):
 *
 *   upload.csv | upload.json          the import file as PUT (gzip or not)
 *   result-{attempt}.{ext}[.gz]       an export's data, one file per attempt
 *   failed-{attempt}.csv              an import's failed records
 *
 * and the output pipeline every written file goes through: optional gzip, SHA-256 and size of the
 * stored bytes, backpressure from the store.
 */
import { createHash } from 'node:crypto';
import { createGzip } from 'node:zlib';
import type { BulkCompression, BulkContentType, BulkJob, JsonFormat } from '../domain/bulk-job.js';
import type { ResultStore, ResultWriter } from '../storage/port.js';

export const bulkFolder = (job: Pick<BulkJob, 'tenantId' | 'jobId'>) => `${job.tenantId}/${job.jobId}/`;

export const uploadKey = (job: Pick<BulkJob, 'tenantId' | 'jobId' | 'contentType'>) =>
  `${bulkFolder(job)}upload.${job.contentType === 'JSON' ? 'json' : 'csv'}`;

/** File extension of an export: `.csv`, `.ndjson`, `.json`, `.parquet`, plus `.gz`. */
export function exportExtension(
  format: BulkContentType,
  jsonFormat: JsonFormat,
  compression: BulkCompression,
): string {
  const base =
    format === 'CSV'
      ? '.csv'
      : format === 'PARQUET'
        ? '.parquet'
        : jsonFormat === 'ARRAY'
          ? '.json'
          : '.ndjson';
  return compression === 'GZIP' ? `${base}.gz` : base;
}

export const exportKey = (job: BulkJob) =>
  `${bulkFolder(job)}result-${job.attempts}${exportExtension(job.contentType, job.jsonFormat, job.compression)}`;

export const failedKey = (job: BulkJob) => `${bulkFolder(job)}failed-${job.attempts}.csv`;

/** Keys of a job's earlier attempts (a worker died mid-run): deleted once an attempt succeeds. */
export const isAttemptFile = (key: string) => /\/(result|failed)-\d+\./.test(key);

export interface StoredFile {
  sizeBytes: number;
  sha256: string;
}

/** Bytes into a ResultStore object, optionally gzipped on the way, with size and SHA-256 of what is stored. */
export class FileOutput {
  private readonly hash = createHash('sha256');
  private readonly gzip: ReturnType<typeof createGzip> | undefined;
  private readonly drained: Promise<void> | undefined;
  private failure: unknown;

  private constructor(
    private readonly writer: ResultWriter,
    gzipLevel: number | null,
  ) {
    if (gzipLevel !== null) {
      const gz = createGzip({ level: gzipLevel });
      this.gzip = gz;
      // The compressed side is written to the store as it comes out, with the store's backpressure.
      this.drained = (async () => {
        for await (const chunk of gz as AsyncIterable<Buffer>) await this.store(chunk);
      })().catch((e) => {
        this.failure = e;
        throw e;
      });
      this.drained.catch(() => {});
    }
  }

  static async open(results: ResultStore, key: string, gzipLevel: number | null): Promise<FileOutput> {
    return new FileOutput(await results.createWriter(key), gzipLevel);
  }

  get bytesWritten(): number {
    return this.writer.bytesWritten;
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    if (this.failure) throw this.failure;
    const gz = this.gzip;
    if (!gz) return this.store(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    if (typeof chunk === 'string' ? chunk.length === 0 : chunk.byteLength === 0) return;
    if (!gz.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const done = (e?: unknown) => {
          gz.off('drain', done);
          gz.off('error', done);
          if (e) reject(e);
          else resolve();
        };
        gz.once('drain', done);
        gz.once('error', done);
      });
    }
  }

  async close(): Promise<StoredFile> {
    if (this.gzip) {
      this.gzip.end();
      await this.drained;
    }
    if (this.failure) throw this.failure;
    const { sizeBytes } = await this.writer.close();
    return { sizeBytes, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    this.gzip?.destroy();
    await this.drained?.catch(() => {});
    await this.writer.abort();
  }

  private async store(bytes: Uint8Array): Promise<void> {
    this.hash.update(bytes);
    await this.writer.write(bytes);
  }
}
