/**
 * Group commit for the records of finished sync queries: while one write is in flight, the
 * records that arrive wait and go out together in the next write (one statement, one commit).
 * Measured: one INSERT per request cost about a third of the small-query throughput.
 *
 * The statement already ran when its record is written, so a record is never dropped quietly:
 * a failed batch is retried row by row; a row that still fails is written with text PostgreSQL
 * cannot store (NUL, unpaired surrogates) replaced by U+FFFD, and failing that as a FAILED record
 * that says why. Each such fallback is reported; only a record that cannot be written in any
 * form (the database is down) rejects.
 */
import { ApiError } from '../../domain/errors.js';
import type { QueryJob } from '../../domain/query-job.js';

const MAX_BATCH = 500;
const UNSTORABLE_TEXT = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text PostgreSQL's text and jsonb types refuse: NUL, unpaired surrogates. */
export function hasUnstorableText(s: string): boolean {
  UNSTORABLE_TEXT.lastIndex = 0;
  return UNSTORABLE_TEXT.test(s);
}

export type JobRecordFallback = 'sanitised' | 'recorded_as_failed' | 'lost';

/** A record that could not be written as it was, and what was written instead. */
export interface JobRecordTrouble {
  jobId: string;
  tenantId: string;
  fallback: JobRecordFallback;
  error: unknown;
}

interface Pending {
  job: QueryJob;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** `value` with every string (keys too) stripped of text PostgreSQL's text and jsonb types refuse. */
function sanitised<T>(value: T): T {
  if (typeof value === 'string') return value.replace(UNSTORABLE_TEXT, '\uFFFD') as T;
  if (Array.isArray(value)) return value.map(sanitised) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [sanitised(k), sanitised(v)])) as T;
  }
  return value;
}

function failedRecord(job: QueryJob): QueryJob {
  const clean = sanitised(job);
  // Only what names the query is kept: any measured field may be what the store refused.
  return {
    ...clean,
    status: 'FAILED',
    rowCount: null,
    truncated: null,
    executionTimeMs: null,
    rowsFetched: null,
    sizeBytes: null,
    error: {
      code: 'INTERNAL_ERROR',
      message: 'the record of this query could not be stored as it was; the statement did run',
    },
    params: [],
    result: null,
  };
}

export class JobRecordWriter {
  private pending: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly write: (jobs: QueryJob[]) => Promise<void>,
    private readonly onTrouble: (trouble: JobRecordTrouble) => void = () => {},
  ) {}

  /**
   * Resolves once the record (or its fallback) is committed; rejects only if nothing could be.
   * The first record waits for the end of the event loop's I/O phase (setImmediate), so the records
   * of every query that finished in the same pass go out in one write.
   */
  add(job: QueryJob): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH);
        try {
          await this.write(batch.map((p) => p.job));
          for (const p of batch) p.resolve();
        } catch {
          // One bad record must not fail the others: write them one by one.
          for (const p of batch) await this.writeOne(p.job).then(p.resolve, p.reject);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async writeOne(job: QueryJob): Promise<void> {
    let error: unknown;
    try {
      return await this.write([job]);
    } catch (e) {
      error = e;
    }
    // Unreachable store: no other form of the record would fare better.
    const unreachable = error instanceof ApiError && error.code === 'WAREHOUSE_UNAVAILABLE';
    const clean = sanitised(job);
    const attempts: [JobRecordFallback, QueryJob][] = [];
    if (!unreachable) {
      if (JSON.stringify(clean) !== JSON.stringify(job)) attempts.push(['sanitised', clean]);
      attempts.push(['recorded_as_failed', failedRecord(job)]);
    }
    for (const [fallback, record] of attempts) {
      try {
        await this.write([record]);
        this.report({ jobId: job.jobId, tenantId: job.tenantId, fallback, error });
        return;
      } catch {
        // Try the next, plainer form.
      }
    }
    this.report({ jobId: job.jobId, tenantId: job.tenantId, fallback: 'lost', error });
    throw error;
  }

  private report(trouble: JobRecordTrouble): void {
    try {
      this.onTrouble(trouble);
    } catch {
      // A reporting hook must not turn a written record into a failure.
    }
  }
}
