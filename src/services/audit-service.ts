/**
 * Use cases of the audit trail: read it (admin API, `spectra audit`) and keep it within its
 * retention (a sweeper deleting entries older than SPECTRA_AUDIT_RETENTION_DAYS in bounded chunks).
 * Entries are written by observability/audit-writer.ts.
 */
import type { AuditEntry } from '../domain/audit-entry.js';
import { invalidRequest } from '../domain/errors.js';
import type { AuditStore, Page } from '../state/port.js';

/** Entries deleted per statement; a sweep loops until fewer are left. */
const SWEEP_CHUNK = 5000;

export interface AuditQuery {
  tenantId?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  order?: 'asc' | 'desc' | undefined;
  limit: number;
  cursor?: string | undefined;
}

export class AuditService {
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly deps: {
      store: AuditStore;
      retentionDays: number;
      onSweepError?: (err: unknown) => void;
    },
  ) {}

  /** Oldest first from `since` (default: the start of the retention window), or newest first from `until`. */
  list(q: AuditQuery): Promise<Page<AuditEntry>> {
    for (const [field, v] of [
      ['since', q.since],
      ['until', q.until],
    ] as const) {
      if (v !== undefined && Number.isNaN(Date.parse(v)))
        throw invalidRequest(`${field} must be an RFC 3339 time`, { field });
    }
    return this.deps.store.list(
      {
        tenantId: q.tenantId,
        since: q.since === undefined ? undefined : new Date(q.since).toISOString(),
        until: q.until === undefined ? undefined : new Date(q.until).toISOString(),
        order: q.order,
      },
      { limit: q.limit, cursor: q.cursor },
    );
  }

  /** Deletes entries past the retention; returns how many. One sweep at a time per process. */
  sweep(now: Date = new Date()): Promise<number> {
    this.sweeping ??= (async () => {
      const cutoff = new Date(now.getTime() - this.deps.retentionDays * 86_400_000).toISOString();
      let total = 0;
      for (;;) {
        const n = await this.deps.store.deleteBefore(cutoff, SWEEP_CHUNK);
        total += n;
        if (n < SWEEP_CHUNK) return total;
      }
    })().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  /** Sweeps now and then every `intervalMs` until `stop()`. */
  startSweeper(intervalMs: number): void {
    if (this.sweeper) return;
    const run = () => void this.sweep().catch((e) => this.deps.onSweepError?.(e));
    run();
    this.sweeper = setInterval(run, intervalMs);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.sweeping?.catch(() => 0);
  }
}
