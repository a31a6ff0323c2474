/**
 * The Bulk API: retention, upload size, statement timeout and the encoders of exports.
 */
import { type ConfigOf, int, type Setting } from '../setting.js';

export const BULK_SETTINGS = {
  bulkJobTtlDays: {
    env: 'SPECTRA_BULK_JOB_TTL_DAYS',
    schema: int(1),
    default: 30,
    doc: 'Days a bulk job record and its files (upload, export, failed results) are kept.',
  },
  bulkMaxFileSizeMb: {
    env: 'SPECTRA_BULK_MAX_FILE_SIZE_MB',
    schema: int(1, 1_000_000),
    default: 150,
    doc: 'Largest bulk import upload, in MB as sent (compressed or not); a larger PUT is refused with 413.',
  },
  bulkJobTimeoutHours: {
    env: 'SPECTRA_BULK_JOB_TIMEOUT_HOURS',
    // Node timers hold at most 2^31 − 1 ms (~24.8 days); the watchdog of a statement is one.
    schema: int(1, 168),
    default: 24,
    doc: 'Statement timeout of a bulk export or import in the warehouse (at most 168).',
  },
  bulkGzipLevel: {
    env: 'SPECTRA_BULK_GZIP_LEVEL',
    schema: int(1, 9),
    default: 6,
    doc: 'gzip level of GZIP bulk exports (1 fastest … 9 smallest).',
  },
  bulkParquetRowGroupRows: {
    env: 'SPECTRA_BULK_PARQUET_ROW_GROUP_ROWS',
    schema: int(1000, 10_000_000),
    default: 100_000,
    doc: 'Rows per Parquet row group of a bulk export or an async job’s Parquet download; a row group is the unit held in memory while writing.',
  },
} satisfies Record<string, Setting>;

export type BulkConfig = ConfigOf<typeof BULK_SETTINGS>;
