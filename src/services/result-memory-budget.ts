/**
 * The process's budget of result bytes held in memory at once (SPECTRA_RESULT_MEMORY_BYTES). Every
 * running statement pays for result rows before the warehouse adapter reads them and gets the bytes
 * back once they left the process (written to the socket or the result store) — or, for a response
 * built whole (the JSON envelope), when that response was written. A statement that would overdraw
 * the budget waits, oldest first, for at most `maxWaitMs`; then it fails with 503
 * WAREHOUSE_UNAVAILABLE and Retry-After, so N concurrent large results queue instead of exhausting
 * the heap. Statements take their bytes a fetch at a time, so several can each hold part of the
 * budget while waiting for more (hold-and-wait): the oldest statement wins, and a younger waiter
 * that holds bytes is refused at once (wound-wait), so its bytes go to the older one instead of
 * every waiter timing out together.
 */
import { ApiError } from '../domain/errors.js';
import type { ResultMemory, ResultMemoryAccount } from '../warehouse/port.js';

export interface ResultMemoryBudgetOptions {
  /** Bytes of result all statements may hold at once. */
  capacityBytes: number;
  /** Longest wait for room before the statement fails with 503. */
  maxWaitMs: number;
}

/** A statement's fetch is sized to this share of the budget. */
const FETCHES_IN_FLIGHT = 8;

interface Waiter {
  bytes: number;
  /** When its statement opened its account: smaller is older. */
  age: number;
  holds: () => number;
  grant: () => void;
  wound: () => void;
}

export class ResultMemoryBudget implements ResultMemory {
  private used = 0;
  private readonly queue: Waiter[] = [];
  private opened = 0;
  /** Called once per statement refused for lack of memory (metrics). */
  onRefused: (() => void) | undefined;

  constructor(readonly opts: ResultMemoryBudgetOptions) {}

  get stats() {
    return { usedBytes: this.used, capacityBytes: this.opts.capacityBytes, waiting: this.queue.length };
  }

  /**
   * An account for one statement. `weight` multiplies what it reserves (a response built whole
   * holds the rows and their encoded text); `holdUntil` defers every release to `close`.
   */
  open(signal?: AbortSignal, opts: { weight?: number; holdUntilClose?: boolean } = {}): ResultMemoryAccount {
    const weight = opts.weight ?? 1;
    const age = ++this.opened;
    let held = 0;
    let closed = false;
    const give = (bytes: number) => {
      const n = Math.min(bytes, held);
      if (n <= 0) return;
      held -= n;
      this.used -= n;
      this.grantWaiting();
    };
    return {
      fetchBytes: Math.floor(this.opts.capacityBytes / FETCHES_IN_FLIGHT / weight),
      reserve: (raw) => {
        const bytes = Math.ceil(raw * weight);
        if (closed) throw this.refusal('the statement already ended');
        if (bytes + held > this.opts.capacityBytes) throw this.refusal('the result alone exceeds it');
        if (this.queue.length === 0 && this.used + bytes <= this.opts.capacityBytes) {
          this.used += bytes;
          held += bytes;
          return true;
        }
        return new Promise<void>((resolve, reject) => {
          const leave = () => {
            const i = this.queue.indexOf(waiter);
            if (i >= 0) this.queue.splice(i, 1);
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
          };
          const onAbort = () => {
            leave();
            reject(this.refusal('the client went away'));
            this.grantWaiting();
          };
          const waiter: Waiter = {
            bytes,
            age,
            holds: () => held,
            wound: () => {
              leave();
              reject(this.refusal('an older query needs the memory this one holds'));
            },
            grant: () => {
              leave();
              if (closed) {
                this.used -= bytes;
                reject(this.refusal('the statement already ended'));
                return;
              }
              held += bytes;
              resolve();
            },
          };
          const timer = setTimeout(() => {
            leave();
            reject(this.refusal('waited too long'));
            this.grantWaiting();
          }, this.opts.maxWaitMs);
          this.queue.push(waiter);
          signal?.addEventListener('abort', onAbort, { once: true });
          this.woundYoungerHolders();
        });
      },
      release: (raw) => {
        if (!opts.holdUntilClose) give(Math.ceil(raw * weight));
      },
      close: () => {
        closed = true;
        give(held);
      },
    };
  }

  /**
   * Breaks hold-and-wait: every waiter younger than the oldest one and holding bytes is refused,
   * so its statement ends and gives them back (waiters with nothing held only queue).
   */
  private woundYoungerHolders(): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const w of this.queue) oldest = Math.min(oldest, w.age);
    for (const w of [...this.queue]) if (w.age > oldest && w.holds() > 0) w.wound();
  }

  /** Oldest first: a large waiter is not starved by smaller ones behind it. */
  private grantWaiting(): void {
    while (this.queue.length > 0 && this.used + this.queue[0]!.bytes <= this.opts.capacityBytes) {
      const w = this.queue[0]!;
      this.used += w.bytes;
      w.grant();
    }
  }

  private refusal(why: string): ApiError {
    this.onRefused?.();
    return new ApiError(
      'WAREHOUSE_UNAVAILABLE',
      `the server is holding as many query results in memory as it may (${why}); retry later`,
      {
        reason: 'result_memory',
        capacity_bytes: this.opts.capacityBytes,
        setting: 'SPECTRA_RESULT_MEMORY_BYTES',
      },
      Math.max(1, Math.ceil(this.opts.maxWaitMs / 1000)),
    );
  }
}
