/**
 * Node's young generation for `spectra serve`. V8 sizes it at start-up only (a flag set later with
 * `v8.setFlagsFromString` leaves the new space as it was), so it is a Node option, not a setting:
 * `npm start` passes it, and any other start should too (`NODE_OPTIONS`, docs/operations.md).
 *
 * Why: under sustained overload every waiting request (its parsed body, request scope, promises)
 * outlives Node's default semi-space of 16 MiB, is promoted to the old generation and collected
 * there; 64 MiB keeps it young. At 2× the peak, a freshly started server's goodput rose 18 % with
 * peak throughput and RSS unchanged; a warm one's showed no difference (docs/benchmarks.md, "Node's
 * young generation").
 */

/** The semi-space `npm start` gives `spectra serve` (`--max-semi-space-size`, MiB). */
export const SERVE_SEMI_SPACE_MB = 64;

/** The Node option that sets it. */
export const SERVE_NODE_OPTION = `--max-semi-space-size=${SERVE_SEMI_SPACE_MB}`;

/**
 * The semi-space size (MiB) this process was started with, from its command line or `NODE_OPTIONS`
 * (the command line over `NODE_OPTIONS`, as in Node), or null when it runs on Node's default.
 */
export function semiSpaceOption(execArgv: readonly string[], nodeOptions: string | undefined): number | null {
  let size: number | null = null;
  const args = [...(nodeOptions ?? '').split(/\s+/), ...execArgv];
  args.forEach((arg, i) => {
    const m = /^--max[-_]semi[-_]space[-_]size(?:=(.*))?$/.exec(arg);
    const value = m && (m[1] ?? args[i + 1]);
    if (value && /^\d+$/.test(value)) size = Number(value);
  });
  return size;
}
