/** The request pipeline's phases and their durations, read by `Server-Timing` (middleware/server-timing.ts) and tracing. */
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
