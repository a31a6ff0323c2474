/**
 * Start-up time of the `spectra` command (issues 18, 20): `spectra --version` against a bare
 * `node -e ''` side by side (alternating runs, so a load change hits both alike; the ratio is what
 * to read on a busy machine), and `spectra serve` until it prints "listening on" (a second start:
 * PostgreSQL initialised and seeded already), from the compiled dist/ (run.ts rebuilt it) and, for
 * comparison, from src/ through tsx. `--version` never loads either: bin/spectra.js answers it from
 * package.json. The serve process's own CPU time at ready moves less with load than wall time does.
 * Targets on a quiet machine: --version ≤ 150 ms (issue 18: ≤ 300 ms), serve ready ≤ 1 s.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BenchResult, median, ROOT, result, startListening, stop } from './lib.js';

const VERSION_RUNS = 15;
const SERVE_RUNS = 5;
const BIN = path.join(ROOT, 'bin', 'spectra.js');

/** The child's environment: no SPECTRA_* from the caller; VITEST (or not) picks dist/ or src/. */
function env(fromSource: boolean): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('SPECTRA_') && k !== 'VITEST'),
  );
  return fromSource ? { ...clean, VITEST: 'true' } : clean;
}

function msToExit(args: string[], childEnv: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: childEnv, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
}

/** Medians of `runs` runs of each command, alternating between them. */
async function alternatingMedians(
  runs: number,
  commands: string[][],
  childEnv: NodeJS.ProcessEnv,
): Promise<number[]> {
  const times = commands.map((): number[] => []);
  for (let i = 0; i < runs; i++)
    for (const [c, args] of commands.entries()) times[c]!.push(await msToExit(args, childEnv));
  return times.map(median);
}

/** `spectra --version` and a bare Node start, side by side. */
export async function versionStartup(runs = VERSION_RUNS): Promise<{ bare: number; version: number }> {
  const [bare, version] = await alternatingMedians(
    runs,
    [
      ['-e', ''],
      [BIN, '--version'],
    ],
    env(false),
  );
  return { bare: bare!, version: version! };
}

/** User + system CPU time of a running process, from /proc (Linux; USER_HZ is 100 there). */
function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

async function serveReady(home: string, childEnv: NodeJS.ProcessEnv): Promise<{ ms: number; cpu?: number }> {
  const args = [BIN, 'serve', '--port', '0', '--home', home, '--log-level', 'warn', '--demo-rows', '1000'];
  const t0 = performance.now();
  const server = await startListening(process.execPath, args, childEnv);
  const ms = performance.now() - t0;
  const cpu = cpuMs(server.child.pid!);
  await stop(server.child);
  return { ms, cpu };
}

export default async function startup(): Promise<BenchResult[]> {
  const { bare, version } = await versionStartup();

  // PostgreSQL runs as the `postgres` OS user when we are root: every folder on the way must be traversable.
  const home = path.join(os.tmpdir(), 'spectra-bench-startup');
  mkdirSync(home, { recursive: true });
  chmodSync(home, 0o755);
  await serveReady(home, env(false)); // first start: initdb, migrations, demo seed
  const compiled: { ms: number; cpu?: number }[] = [];
  const tsx: { ms: number; cpu?: number }[] = [];
  for (let i = 0; i < SERVE_RUNS; i++) {
    compiled.push(await serveReady(home, env(false)));
    tsx.push(await serveReady(home, env(true)));
  }
  const wall = (runs: typeof compiled) => median(runs.map((r) => r.ms));
  const cpu = (runs: typeof compiled) => median(runs.map((r) => r.cpu ?? Number.NaN));
  const results = [
    result(
      'startup: spectra --version',
      `median of ${VERSION_RUNS} alternating runs (baseline: node -e '')`,
      'ms',
      version,
      bare,
      false,
    ),
    result(
      'startup: spectra serve, second start',
      "compiled (baseline: node -e '')",
      'ms',
      wall(compiled),
      bare,
      false,
    ),
    result(
      'startup: spectra serve, second start',
      'src through tsx (baseline: compiled)',
      'ms',
      wall(tsx),
      wall(compiled),
      false,
    ),
  ];
  if (!Number.isNaN(cpu(compiled)))
    results.push(
      result(
        'startup: spectra serve, second start',
        'CPU time of the node process at ready, compiled (baseline: src through tsx)',
        'ms',
        cpu(compiled),
        cpu(tsx),
        false,
      ),
    );
  return results;
}
