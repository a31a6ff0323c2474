/**
 * Writes audit entries off the request path: `record()` only appends to a bounded in-memory buffer;
 * a timer (or a full batch) writes batches to the StateStore, one at a time, one round trip each.
 * When the store is unreachable the entries stay buffered and the write is retried (a batch the
 * store refuses for another reason is dropped and counted, so it cannot block the rest). When the
 * buffer is full, new entries are dropped and counted (`spectra_audit_entries_total{outcome=
 * "dropped"}`, an error log at most every 10 s) — or, with SPECTRA_AUDIT_ON_OVERFLOW=reject, the
 * audit middleware refuses new data requests with 503 until there is room again.
 */
import type { AuditEntry } from '../domain/audit-entry.js';
import { ApiError } from '../domain/errors.js';
import type { AuditStore } from '../state/port.js';
import type { Logger } from './logger.js';

const BATCH_SIZE = 500;

const isUnavailable = (err: unknown) => err instanceof ApiError && err.code === 'WAREHOUSE_UNAVAILABLE';
const DROP_LOG_INTERVAL_MS = 10_000;

export interface AuditWriterOptions {
  store: AuditStore;
  /** Entries held in memory at most. */
  bufferSize: number;
  /** Longest time an entry waits before its batch is written. */
  flushIntervalMs: number;
  log: Logger;
  onWritten?: (count: number) => void;
  onDropped?: (count: number) => void;
}

export class AuditWriter {
  private buffer: AuditEntry[] = [];
  private writing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private droppedSinceLog = 0;
  private lastDropLog = 0;
  private failing = false;
  private closed = false;

  constructor(private readonly opts: AuditWriterOptions) {
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Entries waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  /** True when the next entry would be dropped. */
  get full(): boolean {
    return this.buffer.length >= this.opts.bufferSize;
  }

  /** Buffers one entry; false when it was dropped (buffer full or writer closed). */
  record(entry: AuditEntry): boolean {
    if (this.closed || this.full) {
      this.dropped(1);
      return false;
    }
    this.buffer.push(entry);
    if (this.buffer.length >= BATCH_SIZE && !this.writing && !this.failing) void this.flush();
    return true;
  }

  /** Writes everything buffered so far; resolves when done or when the store fails. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, BATCH_SIZE);
      this.writing = this.opts.store.append(batch).then(
        () => {
          this.buffer.splice(0, batch.length);
          this.opts.onWritten?.(batch.length);
          if (this.failing) this.opts.log.info('audit trail writes resumed');
          this.failing = false;
        },
        (err) => {
          if (!isUnavailable(err)) {
            // The store refused these entries (not a connectivity problem): retrying would block the rest.
            this.buffer.splice(0, batch.length);
            this.opts.log.error({ err, lost: batch.length }, 'audit store refused a batch; entries dropped');
            this.opts.onDropped?.(batch.length);
            return;
          }
          if (!this.failing) this.opts.log.error({ err }, 'audit trail write failed; entries stay buffered');
          this.failing = true;
        },
      );
      try {
        await this.writing;
      } finally {
        this.writing = null;
      }
      if (this.failing) return;
    }
  }

  /** Stops the timer and writes what is buffered, giving up after `deadlineMs`. */
  async close(deadlineMs = 5000): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (this.buffer.length > 0) {
      this.opts.log.error({ lost: this.buffer.length }, 'audit entries not written before shutdown');
      this.opts.onDropped?.(this.buffer.length);
      this.buffer = [];
    }
  }

  private dropped(count: number): void {
    this.opts.onDropped?.(count);
    this.droppedSinceLog += count;
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
      this.opts.log.error(
        { dropped: this.droppedSinceLog, buffer_size: this.opts.bufferSize },
        'audit buffer full: entries dropped',
      );
      this.droppedSinceLog = 0;
      this.lastDropLog = now;
    }
  }
}
