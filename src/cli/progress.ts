/**
 * Progress of long CLI work on stderr. On a terminal: one line redrawn at most every 100 ms with
 * rows, bytes, rate and (when the total is known) percentage and ETA. Elsewhere (pipes, CI logs):
 * a plain line when the phase changes and one when it ends — never a stream of carriage returns.
 */

export interface ProgressState {
  phase: string;
  rows?: number | undefined;
  bytes?: number | undefined;
  totalBytes?: number | null | undefined;
}

export interface Progress {
  update(state: ProgressState): void;
  /** Ends the progress display with a final line. */
  done(message: string): void;
  /** Clears a terminal line without a message (before an error is printed). */
  clear(): void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const BAR = 20;

/** The terminal line for a state, `elapsedMs` since the phase began. */
export function progressLine(state: ProgressState, elapsedMs: number): string {
  const parts = [state.phase];
  const seconds = elapsedMs / 1000;
  const total = state.totalBytes ?? null;
  if (total && state.bytes !== undefined) {
    const ratio = Math.min(1, state.bytes / total);
    const filled = Math.round(ratio * BAR);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${Math.floor(ratio * 100)}%`);
  }
  if (state.rows !== undefined) parts.push(`${state.rows.toLocaleString('en')} rows`);
  if (state.bytes !== undefined)
    parts.push(total ? `${formatBytes(state.bytes)}/${formatBytes(total)}` : formatBytes(state.bytes));
  if (seconds >= 0.5) {
    if (state.bytes !== undefined && state.bytes > 0) parts.push(`${formatBytes(state.bytes / seconds)}/s`);
    else if (state.rows) parts.push(`${Math.round(state.rows / seconds).toLocaleString('en')} rows/s`);
    if (total && state.bytes && state.bytes < total) {
      parts.push(`ETA ${formatDuration(((total - state.bytes) * seconds) / state.bytes)}`);
    }
  }
  return parts.join('  ');
}

export function createProgress(
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  opts: { now?: () => number; tty?: boolean } = {},
): Progress {
  const now = opts.now ?? Date.now;
  const tty = opts.tty ?? err.isTTY === true;
  let phase: string | null = null;
  let phaseStart = now();
  let lastDraw = 0;
  let drawn = false;
  let latest: ProgressState | null = null;
  const width = () => Math.max(20, (err.columns ?? 100) - 1);
  const draw = () => {
    if (!latest) return;
    err.write(`\r\x1b[2K${progressLine(latest, now() - phaseStart).slice(0, width())}`);
    drawn = true;
    lastDraw = now();
  };
  return {
    update(state) {
      latest = state;
      if (state.phase !== phase) {
        phase = state.phase;
        phaseStart = now();
        if (!tty) err.write(`${state.phase}…\n`);
        else draw();
        return;
      }
      if (tty && now() - lastDraw >= 100) draw();
    },
    done(message) {
      if (tty && drawn) err.write('\r\x1b[2K');
      drawn = false;
      err.write(`${message}\n`);
    },
    clear() {
      if (tty && drawn) err.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
