/**
 * Admission for synchronous queries: work-conserving weighted fair sharing of the warehouse pool.
 * At most `maxConcurrent` run at once; a free slot always goes to a waiting request, so a tenant
 * alone may use every slot. When tenants contend, each free slot goes to the waiting tenant with the
 * fewest running queries per unit of weight (oldest request first on a tie), so running counts
 * converge to the weighted shares and a tenant over its share waits behind the others.
 *
 * True overload is refused, never queued without bound: the queue holds `queueSize` requests for at
 * most `maxWaitMs` each. When it is full, a newcomer from a tenant under its share takes the place
 * of the newest waiter of the tenant furthest over its share. A refusal is 429 RATE_LIMITED when
 * the tenant is over its share while others wait or run, else 503 WAREHOUSE_UNAVAILABLE, both with
 * Retry-After. `perTenant` > 0 adds an optional hard cap per tenant (off by default).
 *
 * A burst is absorbed; sustained overload is not queued deep. Once the queue has stayed longer than
 * `standingQueueSize` through a whole turnover — `queueSize` waiters granted a slot — more arrives
 * than the slots can run, and a deep queue only adds waiting (and memory: every waiting request is
 * held whole). The queue is then held to `standingQueueSize` places until it next empties:
 * newcomers beyond it are refused at once (or displace a waiter, as above); those already waiting
 * keep their places. A single burst of up to `queueSize` waiters falls back to `standingQueueSize`
 * within `queueSize - standingQueueSize` grants, before a turnover, and a steady load that keeps no
 * more than `standingQueueSize` waiting never starts the count, so neither is cut, whatever came
 * before. Counted in grants, not time: the rule holds the same on a slow machine.
 */
import { ApiError } from '../domain/errors.js';

export interface QueryAdmissionOptions {
  /** Concurrent sync queries of all tenants (usually the warehouse pool size). */
  maxConcurrent: number;
  /** Hard cap on one tenant's concurrent sync queries, even when slots are free; 0 = none. */
  perTenant: number;
  /** Requests that may wait for a slot; beyond it, refused at once. */
  queueSize: number;
  /** Longest wait for a slot before the request is refused. */
  maxWaitMs: number;
  /** Weight of a tenant's share under contention (default 1). */
  weights?: Readonly<Record<string, number>> | undefined;
  /** Places in the queue under sustained overload (see the file comment); default `queueSize`. */
  standingQueueSize?: number | undefined;
}

export type ReleaseSlot = () => void;

export type AdmissionRefusal = 'global' | 'tenant';

interface Waiter {
  tenantId: string;
  seq: number;
  grant: (release: ReleaseSlot) => void;
  refuse: (err: ApiError) => void;
  timer: NodeJS.Timeout | undefined;
}

interface TenantSlots {
  running: number;
  waiting: Waiter[];
  weight: number;
}

export class QueryAdmission {
  private running = 0;
  private queued = 0;
  private seq = 0;
  /** Waiters granted a slot since the queue was last no longer than `standingQueueSize`. */
  private grantsAbove = 0;
  /** More than `standingQueueSize` stayed waiting through a turnover: the queue is held to it. */
  private standing = false;
  /** Places in the queue now: `queueSize`, or `standingQueueSize` under sustained overload. */
  private capacity: number;
  private readonly tenants = new Map<string, TenantSlots>();
  /** Refusal errors by situation (`refusalError`). */
  private readonly refusals = new Map<string, ApiError>();
  /** Called once per refused request (metrics). */
  onRefused: ((why: AdmissionRefusal) => void) | undefined;
  /** Called when sustained overload begins (`true`: the queue is held short) and ends (logs). */
  onStanding: ((standing: boolean, places: number) => void) | undefined;

  constructor(readonly opts: QueryAdmissionOptions) {
    this.capacity = opts.queueSize;
  }

  get stats() {
    return { running: this.running, queued: this.queued };
  }

  /** Places in the queue now: `queueSize`, or `standingQueueSize` while overload is sustained. */
  get queuePlaces(): number {
    return this.capacity;
  }

  /** Every slot in use and the queue full: a newcomer is refused unless it displaces a waiter. */
  get saturated(): boolean {
    return this.running >= this.opts.maxConcurrent && this.queued >= this.capacity;
  }

  /** Whether `refusalNow` would refuse this tenant's request now; changes and counts nothing. */
  wouldRefuse(tenantId: string): boolean {
    if (!this.saturated) return false;
    const t = this.tenants.get(tenantId) ?? { running: 0, waiting: [], weight: this.weightOf(tenantId) };
    return !this.victimFor(t);
  }

  /**
   * While saturated, the refusal `acquire` would give a request of this tenant right now (a full
   * queue it may not displace anyone from), counted like one; undefined when it would queue, or
   * when the service is not saturated (a refusal by a tenant's hard cap alone is left to
   * `acquire`). Changes nothing else: the HTTP listener's overload shed (http/overload-shed.ts)
   * uses it to refuse before parsing the request further.
   */
  refusalNow(tenantId: string): ApiError | undefined {
    if (!this.saturated) return undefined;
    const t = this.slotsOf(tenantId);
    let err: ApiError | undefined;
    if (!this.victimFor(t)) err = this.refusal(tenantId, t, this.fullWhy());
    this.forget(tenantId, t);
    return err;
  }

  /** Running and waiting requests of one tenant. */
  tenantStats(tenantId: string): { running: number; queued: number } {
    const t = this.tenants.get(tenantId);
    return { running: t?.running ?? 0, queued: t?.waiting.length ?? 0 };
  }

  /**
   * Resolves with a release function once the query may run; rejects with a 503/429 ApiError.
   * Aborting `signal` (the client went away) gives up the place in the queue.
   */
  acquire(tenantId: string, signal?: AbortSignal): Promise<ReleaseSlot> {
    const t = this.slotsOf(tenantId);
    // Waiters left while a slot is free are all at their hard cap: a runnable newcomer passes them.
    if (this.running < this.opts.maxConcurrent && !this.capped(t))
      return Promise.resolve(this.start(tenantId, t));
    if (this.queued >= this.capacity) {
      const victim = this.victimFor(t);
      if (!victim) {
        const err = this.refusal(tenantId, t, this.fullWhy());
        this.forget(tenantId, t);
        return Promise.reject(err);
      }
      this.evictNewest(victim);
    }
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const onAbort = () => {
        this.leave(waiter);
        reject(new ApiError('QUERY_FAILED', 'the client went away while waiting', { reason: 'cancelled' }));
      };
      const waiter: Waiter = {
        tenantId,
        seq: this.seq++,
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        refuse: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
        timer: undefined,
      };
      waiter.timer = setTimeout(() => {
        const err = this.refusal(tenantId, t, 'waited too long');
        this.leave(waiter);
        waiter.refuse(err);
      }, this.opts.maxWaitMs);
      t.waiting.push(waiter);
      this.queued++;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private slotsOf(tenantId: string): TenantSlots {
    let t = this.tenants.get(tenantId);
    if (!t) {
      t = { running: 0, waiting: [], weight: this.weightOf(tenantId) };
      this.tenants.set(tenantId, t);
    }
    return t;
  }

  private weightOf(tenantId: string): number {
    const w = this.opts.weights?.[tenantId];
    return w !== undefined && w > 0 ? w : 1;
  }

  private forget(tenantId: string, t: TenantSlots): void {
    if (t.running === 0 && t.waiting.length === 0) this.tenants.delete(tenantId);
  }

  private capped(t: TenantSlots): boolean {
    return this.opts.perTenant > 0 && t.running >= this.opts.perTenant;
  }

  private start(tenantId: string, t: TenantSlots): ReleaseSlot {
    this.running++;
    t.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      t.running--;
      this.forget(tenantId, t);
      this.grantWaiting();
    };
  }

  private leave(w: Waiter): void {
    const t = this.tenants.get(w.tenantId);
    if (!t) return;
    const i = t.waiting.indexOf(w);
    if (i < 0) return;
    t.waiting.splice(i, 1);
    this.queued--;
    clearTimeout(w.timer);
    this.forget(w.tenantId, t);
    if (this.queued === 0) this.emptied();
  }

  /** The queue is empty: whatever overload there was has passed. */
  private emptied(): void {
    this.grantsAbove = 0;
    if (!this.standing) return;
    this.standing = false;
    this.capacity = this.opts.queueSize;
    this.onStanding?.(false, this.capacity);
  }

  /** One more waiter granted: has the queue stayed above its standing size through a turnover? */
  private grantedFromQueue(): void {
    if (this.queued === 0) {
      this.emptied();
      return;
    }
    const places = this.opts.standingQueueSize ?? this.opts.queueSize;
    if (this.standing || places >= this.opts.queueSize) return;
    if (this.queued <= places) {
      this.grantsAbove = 0;
      return;
    }
    if (++this.grantsAbove < this.opts.queueSize) return;
    this.standing = true;
    this.capacity = places;
    this.onStanding?.(true, places);
  }

  /** Each free slot to the waiting tenant with the fewest running per weight; oldest request on a tie. */
  private grantWaiting(): void {
    while (this.running < this.opts.maxConcurrent && this.queued > 0) {
      let best: TenantSlots | undefined;
      for (const t of this.tenants.values()) {
        if (t.waiting.length === 0 || this.capped(t)) continue;
        if (!best) {
          best = t;
          continue;
        }
        const d = t.running * best.weight - best.running * t.weight;
        if (d < 0 || (d === 0 && t.waiting[0]!.seq < best.waiting[0]!.seq)) best = t;
      }
      if (!best) return;
      const w = best.waiting.shift()!;
      this.queued--;
      clearTimeout(w.timer);
      this.grantedFromQueue();
      w.grant(this.start(w.tenantId, best));
    }
  }

  /**
   * Full queue: a newcomer whose tenant would hold less per weight than the tenant holding most
   * (running + waiting) takes the place of that tenant's newest waiter, who is refused with 429.
   * The tenant whose waiter would go, or none.
   */
  private victimFor(newcomer: TenantSlots): TenantSlots | undefined {
    const load = (t: TenantSlots) => (t.running + t.waiting.length) / t.weight;
    const mine = (newcomer.running + newcomer.waiting.length + 1) / newcomer.weight;
    let victim: TenantSlots | undefined;
    for (const t of this.tenants.values()) {
      if (t === newcomer || t.waiting.length === 0) continue;
      if (load(t) > mine && (!victim || load(t) > load(victim))) victim = t;
    }
    return victim;
  }

  private evictNewest(victim: TenantSlots): void {
    const w = victim.waiting[victim.waiting.length - 1]!;
    const err = this.tenantRefusal(victim);
    this.leave(w);
    w.refuse(err);
  }

  /** A tenant's fair number of slots among the tenants now running or waiting (and the one arriving). */
  private shareOf(t: TenantSlots): number {
    let total = 0;
    for (const o of this.tenants.values()) total += o.weight;
    return (this.opts.maxConcurrent * t.weight) / total;
  }

  private retryAfter(): number {
    return Math.min(30, Math.max(1, Math.ceil(this.opts.maxWaitMs / 1000)));
  }

  private tenantRefusal(t: TenantSlots): ApiError {
    this.onRefused?.('tenant');
    if (this.capped(t)) {
      return this.refusalError('capped', () =>
        ApiError.expected(
          'RATE_LIMITED',
          `too many concurrent queries for this tenant (at most ${this.opts.perTenant}); retry later`,
          { reason: 'concurrency', limit: this.opts.perTenant },
          this.retryAfter(),
        ),
      );
    }
    const share = Math.max(1, Math.floor(this.shareOf(t)));
    return this.refusalError(`share ${share}`, () =>
      ApiError.expected(
        'RATE_LIMITED',
        `this tenant is over its share of the warehouse (${share} concurrent queries) while others wait; retry later`,
        { reason: 'concurrency', share },
        this.retryAfter(),
      ),
    );
  }

  /**
   * The refusal for one situation, built once: under overload the same few errors answer thousands
   * of requests a second, and nothing changes an ApiError once built. Keys are bounded: a share is
   * at most `maxConcurrent`, and the other situations are a handful.
   */
  private refusalError(key: string, build: () => ApiError): ApiError {
    let err = this.refusals.get(key);
    if (!err) {
      err = build();
      this.refusals.set(key, err);
    }
    return err;
  }

  private fullWhy(): string {
    return this.standing ? `sustained overload, the queue is held to ${this.capacity} places` : 'queue full';
  }

  private refusal(tenantId: string, t: TenantSlots, why: string): ApiError {
    const others = this.tenants.size > (this.tenants.has(tenantId) ? 1 : 0);
    const hardCapped = this.capped(t) && this.running < this.opts.maxConcurrent;
    if (hardCapped || (others && t.running >= this.shareOf(t))) return this.tenantRefusal(t);
    this.onRefused?.('global');
    const places = this.capacity;
    return this.refusalError(`global ${places} ${why}`, () =>
      ApiError.expected(
        'WAREHOUSE_UNAVAILABLE',
        `the warehouse is saturated (${why}); retry later`,
        { reason: 'overloaded', max_concurrent: this.opts.maxConcurrent, queue_size: places },
        this.retryAfter(),
      ),
    );
  }
}
