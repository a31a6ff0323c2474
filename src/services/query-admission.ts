/**
 * Overload protection for synchronous queries: at most `maxConcurrent` run at once (all tenants)
 * and at most `perTenant` for one tenant; the rest wait in one bounded queue for at most
 * `maxWaitMs`. A full queue or an expired wait answers at once — 503 WAREHOUSE_UNAVAILABLE when
 * the service is saturated, 429 RATE_LIMITED when the tenant is over its own share — instead of
 * letting latency grow without bound in the connection pool's queue.
 */
import { ApiError } from '../domain/errors.js';

export interface QueryAdmissionOptions {
  /** Concurrent sync queries of all tenants (usually the warehouse pool size). */
  maxConcurrent: number;
  /** Concurrent sync queries of one tenant; 0 = only the global cap. */
  perTenant: number;
  /** Requests that may wait for a slot; beyond it, refused at once. */
  queueSize: number;
  /** Longest wait for a slot before the request is refused. */
  maxWaitMs: number;
}

export type ReleaseSlot = () => void;

export type AdmissionRefusal = 'global' | 'tenant';

interface Waiter {
  tenantId: string;
  grant: (release: ReleaseSlot) => void;
  timer: NodeJS.Timeout;
}

export class QueryAdmission {
  private running = 0;
  private readonly byTenant = new Map<string, number>();
  private readonly queue: Waiter[] = [];
  /** Called once per refused request (metrics). */
  onRefused: ((why: AdmissionRefusal) => void) | undefined;

  constructor(readonly opts: QueryAdmissionOptions) {}

  get stats() {
    return { running: this.running, queued: this.queue.length };
  }

  /**
   * Resolves with a release function once the query may run; rejects with a 503/429 ApiError.
   * Aborting `signal` (the client went away) gives up the place in the queue.
   */
  acquire(tenantId: string, signal?: AbortSignal): Promise<ReleaseSlot> {
    if (this.canRun(tenantId)) return Promise.resolve(this.start(tenantId));
    if (this.queue.length >= this.opts.queueSize) return Promise.reject(this.refusal(tenantId, 'queue full'));
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const leave = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        leave();
        reject(new ApiError('QUERY_FAILED', 'the client went away while waiting', { reason: 'cancelled' }));
      };
      const waiter: Waiter = {
        tenantId,
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        timer: setTimeout(() => {
          leave();
          reject(this.refusal(tenantId, 'waited too long'));
        }, this.opts.maxWaitMs),
      };
      this.queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private canRun(tenantId: string): boolean {
    return (
      this.running < this.opts.maxConcurrent &&
      (this.opts.perTenant <= 0 || (this.byTenant.get(tenantId) ?? 0) < this.opts.perTenant)
    );
  }

  private start(tenantId: string): ReleaseSlot {
    this.running++;
    this.byTenant.set(tenantId, (this.byTenant.get(tenantId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const n = (this.byTenant.get(tenantId) ?? 1) - 1;
      if (n === 0) this.byTenant.delete(tenantId);
      else this.byTenant.set(tenantId, n);
      this.grantWaiting();
    };
  }

  /** Oldest first, skipping waiters whose tenant is at its own cap. */
  private grantWaiting(): void {
    for (let i = 0; i < this.queue.length && this.running < this.opts.maxConcurrent; ) {
      const w = this.queue[i]!;
      if (!this.canRun(w.tenantId)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      clearTimeout(w.timer);
      w.grant(this.start(w.tenantId));
    }
  }

  private refusal(tenantId: string, why: string): ApiError {
    const retryAfter = Math.max(1, Math.ceil(this.opts.maxWaitMs / 1000));
    const tenantCapped = this.opts.perTenant > 0 && (this.byTenant.get(tenantId) ?? 0) >= this.opts.perTenant;
    if (tenantCapped && this.running < this.opts.maxConcurrent) {
      this.onRefused?.('tenant');
      return new ApiError(
        'RATE_LIMITED',
        `too many concurrent queries for this tenant (at most ${this.opts.perTenant}); retry later`,
        { reason: 'concurrency', limit: this.opts.perTenant },
        retryAfter,
      );
    }
    this.onRefused?.('global');
    return new ApiError(
      'WAREHOUSE_UNAVAILABLE',
      `the warehouse is saturated (${why}); retry later`,
      { reason: 'overloaded', max_concurrent: this.opts.maxConcurrent, queue_size: this.opts.queueSize },
      retryAfter,
    );
  }
}
