/**
 * Start-up time of the `spectra` command (issue 20): `spectra --version` and `spectra serve` until it
 * prints "listening on" (a second start: PostgreSQL initialised and seeded already), each from the
 * compiled dist/ (rebuilt first, so the figures are of the current sources) and, for comparison,
 * from src/ through tsx (how the command ran before the build existed). Baseline: a bare `node -e 0`.
 * Targets on a quiet machine: --version ≤ 150 ms, serve ready ≤ 1 s. Median of several runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
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

async function medianMs(runs: number, args: string[], childEnv: NodeJS.ProcessEnv): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await msToExit(args, childEnv));
  return median(times);
}

async function serveReadyMs(home: string, childEnv: NodeJS.ProcessEnv): Promise<number> {
  const args = [BIN, 'serve', '--port', '0', '--home', home, '--log-level', 'warn', '--demo-rows', '1000'];
  const t0 = performance.now();
  const server = await startListening(process.execPath, args, childEnv);
  const ms = performance.now() - t0;
  await stop(server.child);
  return ms;
}

export default async function startup(): Promise<BenchResult[]> {
  const b0 = performance.now();
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const buildSeconds = (performance.now() - b0) / 1000;

  const bare = await medianMs(VERSION_RUNS, ['-e', '0'], env(false));
  const version = await medianMs(VERSION_RUNS, [BIN, '--version'], env(false));
  const versionTsx = await medianMs(VERSION_RUNS, [BIN, '--version'], env(true));

  // PostgreSQL runs as the `postgres` OS user when we are root: every folder on the way must be traversable.
  const home = path.join(os.tmpdir(), 'spectra-bench-startup');
  mkdirSync(home, { recursive: true });
  chmodSync(home, 0o755);
  await serveReadyMs(home, env(false)); // first start: initdb, migrations, demo seed
  const serve: number[] = [];
  const serveTsx: number[] = [];
  for (let i = 0; i < SERVE_RUNS; i++) {
    serve.push(await serveReadyMs(home, env(false)));
    serveTsx.push(await serveReadyMs(home, env(true)));
  }
  return [
    result('startup: spectra --version', 'compiled (baseline: node -e 0)', 'ms', version, bare, false),
    result(
      'startup: spectra --version',
      'src through tsx (baseline: compiled)',
      'ms',
      versionTsx,
      version,
      false,
    ),
    result(
      'startup: spectra serve, second start',
      'compiled (baseline: node -e 0)',
      'ms',
      median(serve),
      bare,
      false,
    ),
    result(
      'startup: spectra serve, second start',
      'src through tsx (baseline: compiled)',
      'ms',
      median(serveTsx),
      median(serve),
      false,
    ),
    result('startup: npm run build', 'tsc, src → dist', 's', buildSeconds),
  ];
}
