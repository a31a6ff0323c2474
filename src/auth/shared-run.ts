/**
 * One run per key at a time: a caller that finds a run for its key under way gets that run's
 * promise instead of starting its own. Both authenticators use it for their store reads, so a busy
 * credential whose cache entry just expired costs one read, not one per waiting request.
 */
export function sharedRun<T>(
  running: Map<string, Promise<T>>,
  key: string,
  start: () => Promise<T>,
): Promise<T> {
  const current = running.get(key);
  if (current) return current;
  const run = start().finally(() => running.delete(key));
  running.set(key, run);
  return run;
}

/**
 * Renew-ahead: whether a cache entry `ageMs` old, of a life of `lifeMs`, should start its shared run
 * in the background now — it is in the second half of its life and no run for its key is under way.
 * Both authenticators renew this way, so a busy credential's entry is replaced before it expires and
 * no request waits for the store.
 */
export function dueForRenewal(
  running: Map<string, Promise<unknown>>,
  key: string,
  ageMs: number,
  lifeMs: number,
): boolean {
  return ageMs >= lifeMs / 2 && !running.has(key);
}
