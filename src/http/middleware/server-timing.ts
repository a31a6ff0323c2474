/**
 * `Server-Timing`: the pipeline's phases (`auth`, `plan`, `db`, `encode`) with durations in ms.
 * Streaming responses write the header when they start, with the phases known by then.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.js';
import { PhaseTimings } from '../phase-timings.js';

export { PhaseTimings };

export function serverTiming(): MiddlewareHandler<AppEnv> {
  return async function serverTimingMiddleware(c, next) {
    const timings = new PhaseTimings();
    c.set('timings', timings);
    await next();
    const value = timings.header();
    if (value && !c.res.headers.has('Server-Timing')) {
      try {
        c.res.headers.set('Server-Timing', value);
      } catch {
        // Immutable headers (a Response built elsewhere): leave it without timings.
      }
    }
  };
}
