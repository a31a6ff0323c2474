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
