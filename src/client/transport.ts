/**
 * The client's fetch: bearer credential, retries of 429 and 503 after `Retry-After` (the same
 * request, so the same idempotency key), and network failures as SpectraConnectionError.
 */
import { SpectraConnectionError } from './errors.js';

export interface RetryOptions {
  /** Attempts in all, the first included (default 4; 1 = no retries). */
  maxAttempts?: number;
  /** A longer `Retry-After` is not waited for: the 429/503 is returned (default 60 s). */
  maxDelayMs?: number;
  /** Called before each wait. */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  attempt: number;
  status: number;
  delayMs: number;
  method: string;
  url: string;
  idempotencyKey: string | null;
}

const RETRIED = new Set([429, 503]);

/** Milliseconds to wait for a `Retry-After` of seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type Fetch = (input: Request) => Promise<Response>;

export function retryingFetch(base: typeof fetch, retry: RetryOptions = {}): Fetch {
  const maxAttempts = Math.max(1, retry.maxAttempts ?? 4);
  const maxDelayMs = retry.maxDelayMs ?? 60_000;
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= maxAttempts;
      const sent = last ? request : request.clone();
      let res: Response;
      try {
        res = await base(sent);
      } catch (e) {
        if (request.signal.aborted) throw e;
        throw new SpectraConnectionError(new URL(request.url).origin, e);
      }
      if (last || !RETRIED.has(res.status)) return res;
      // Without Retry-After: 0.5 s, 1 s, 2 s, … with jitter, so a crowd of clients spreads out.
      const delayMs =
        retryAfterMs(res.headers.get('retry-after')) ?? 250 * 2 ** attempt * (0.5 + Math.random());
      if (delayMs > maxDelayMs) return res;
      await res.body?.cancel().catch(() => {});
      retry.onRetry?.({
        attempt,
        status: res.status,
        delayMs,
        method: request.method,
        url: request.url,
        idempotencyKey: request.headers.get('idempotency-key'),
      });
      await sleep(delayMs, request.signal);
    }
  };
}
