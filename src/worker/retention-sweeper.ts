/**
 * Retention: deletes result files past their TTL, then expired job records (and anything left
 * under their prefix), then expired idempotency records and their spilled bodies. Reads already
 * hide expired items, so the sweeper only reclaims space; any number of processes may run it.
 */
import type { StateStore } from '../state/port.js';
import type { ResultStore } from '../storage/port.js';
import type { WorkerLog } from './job-kind.js';

const BATCH = 200;

export interface SweepCounts {
  results: number;
  jobs: number;
  idempotencyRecords: number;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepCounts> | undefined;

  constructor(
    private readonly deps: { state: StateStore; results: ResultStore; log: WorkerLog; intervalMs: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweepOnce().catch(() => {}), this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => {});
  }

  /** One full pass (batches until nothing expired is left). */
  sweepOnce(): Promise<SweepCounts> {
    this.running ??= this.sweep().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweep(): Promise<SweepCounts> {
    const { state, results, log } = this.deps;
    const counts: SweepCounts = { results: 0, jobs: 0, idempotencyRecords: 0 };
    try {
      for (;;) {
        const expired = await state.jobRetention.expiredResults(BATCH);
        for (const r of expired) {
          await results.deletePrefix(`${r.tenantId}/${r.jobId}/`);
          await state.jobRetention.clearResult(r.tenantId, r.jobId, r.key);
        }
        counts.results += expired.length;
        if (expired.length < BATCH) break;
      }
      for (;;) {
        const deleted = await state.jobRetention.deleteExpired(BATCH);
        for (const j of deleted) await results.deletePrefix(`${j.tenantId}/${j.jobId}/`);
        counts.jobs += deleted.length;
        if (deleted.length < BATCH) break;
      }
      // Bulk jobs keep their files (upload, export, failed results) as long as the job record.
      for (;;) {
        const deleted = (await state.bulk?.retention.deleteExpired(BATCH)) ?? [];
        for (const j of deleted) await results.deletePrefix(`${j.tenantId}/${j.jobId}/`);
        counts.jobs += deleted.length;
        if (deleted.length < BATCH) break;
      }
      for (;;) {
        const records = await state.idempotency.deleteExpired(BATCH);
        for (const r of records) if (r.response?.bodyKey) await results.delete(r.response.bodyKey);
        counts.idempotencyRecords += records.length;
        if (records.length < BATCH) break;
      }
    } catch (e) {
      log.warn({ err: e }, 'retention sweep failed; it runs again later');
      throw e;
    }
    if (counts.results + counts.jobs + counts.idempotencyRecords > 0)
      log.info({ ...counts }, 'retention sweep');
    return counts;
  }
}
