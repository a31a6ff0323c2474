/**
 * `Server-Timing`: the pipeline's phases (`auth`, `plan`, `db`, `encode`) with durations in ms.
 * Streaming responses write the header when they start, with the phases known by then.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.js';

export class PhaseTimings {
  private readonly phases: [string, number][] = [];
  /** Told of each phase as it ends (tracing turns phases into spans). */
  onPhase: ((name: string, ms: number) => void) | undefined;
  add(name: string, ms: number): void {
    this.phases.push([name, ms]);
    this.onPhase?.(name, ms);
  }
  header(): string {
    return this.phases.map(([n, ms]) => `${n};dur=${ms.toFixed(2)}`).join(', ');
  }
}

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
