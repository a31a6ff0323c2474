/**
 * Time in tests that must hold on a busy machine: a clock the test moves by hand (for rules that
 * depend on elapsed time), and waiting for a condition rather than for a number of milliseconds.
 */

/** A clock that stands still until the test advances it; pass `clock.now` where code takes `now`. */
export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
}

export function manualClock(start = Date.now()): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

/** Generous on purpose: a slow machine is slow, not broken; the test timeout still bounds the test. */
export const WAIT_TIMEOUT_MS = 60_000;

/**
 * Polls `check` until it returns something truthy and returns that; throws (naming `what`) only
 * after `timeoutMs`, which is a bound against hangs, never a claim about speed.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + (opts.timeoutMs ?? WAIT_TIMEOUT_MS);
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}
