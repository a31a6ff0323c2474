/**
 * `npm run bench`: builds dist/, starts the service (embedded PostgreSQL, 1,000,000 demo sales
 * rows, kept in os.tmpdir()/spectra-bench between runs) in a child process, runs each suite against
 * it and against its baseline in the same run, prints a table and merges bench/results/latest.json.
 * `npm run bench -- query guard` runs only the named suites; `startup` starts its own processes
 * (docs/benchmarks.md). Traffic goes to loopback only.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type BenchResult, printTable, saveResults, serveArgs, startListening, stop } from './lib.js';

export interface BenchContext {
  url: string;
  home: string;
  /** The service process, for its CPU time. */
  servicePid: number;
  tenants: { tenant_id: string; api_key: string; db_user: string }[];
  pg: { host: string; port: number; user: string; password: string; database: string };
}

type Suite = (ctx: BenchContext) => Promise<BenchResult[]>;

const SUITES: Record<string, () => Promise<Suite>> = {
  query: async () => (await import('./query.bench.js')).default,
  auth: async () => (await import('./auth.bench.js')).default,
  guard: async () => (await import('./guard.bench.js')).default,
  operability: async () => (await import('./operability.bench.js')).default,
  jobs: async () => (await import('./jobs.bench.js')).default,
  bulk: async () => (await import('./bulk.bench.js')).default,
  'data-api': async () => (await import('./data-api-decode.bench.js')).default,
  rls: async () => (await import('./rls.bench.js')).default,
  dialect: async () => (await import('./dialect.bench.js')).default,
};
/** Suites that start their own processes: they run first, and without the shared server. */
const STANDALONE: Record<string, () => Promise<() => Promise<BenchResult[]>>> = {
  startup: async () => (await import('./startup.bench.js')).default,
};

async function main() {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const known = [...Object.keys(STANDALONE), ...Object.keys(SUITES)];
  const names = wanted.length ? wanted : known;
  for (const n of names)
    if (!known.includes(n)) throw new Error(`unknown suite ${n}; known: ${known.join(', ')}`);

  // The suites measure the command as shipped (bin/spectra.js runs dist/), built from the current sources.
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');

  const all: BenchResult[] = [];
  for (const name of names.filter((n) => STANDALONE[n])) {
    process.stdout.write(`\n== ${name}\n`);
    const results = await (await STANDALONE[name]!())();
    printTable(results);
    all.push(...results);
  }
  const shared = names.filter((n) => SUITES[n]);
  if (shared.length) all.push(...(await runShared(shared)));
  await saveResults(all);
  process.stdout.write('\nall results:\n');
  printTable(all);
  process.stdout.write('\nwritten to bench/results/latest.json\n');
}

async function runShared(names: string[]): Promise<BenchResult[]> {
  const home = process.env.SPECTRA_BENCH_HOME ?? path.join(os.tmpdir(), 'spectra-bench');
  process.stdout.write(`starting the service (home ${home}; the first run seeds 1,000,000 rows)…\n`);
  // BENCH_CPU_PROF=<dir>: the service writes a V8 CPU profile there when it stops (docs/benchmarks.md).
  const prof = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const server = await startListening(
    process.execPath,
    [...prof, ...serveArgs(home)],
    // No in-process job worker: the jobs suite starts `spectra worker` processes and counts them.
    // The service runs on its defaults except the rate limit, a policy rather than overhead, with
    // the Node option `npm start` gives it (src/runtime/node-heap.ts).
    { SPECTRA_RATE_LIMIT_PER_MINUTE: '0', SPECTRA_WORKER: 'false' },
  );
  const all: BenchResult[] = [];
  try {
    const creds = JSON.parse(await readFile(path.join(home, 'credentials.json'), 'utf8'));
    const roles = JSON.parse(await readFile(path.join(home, 'pg', 'roles.json'), 'utf8'));
    const port = Number((await readFile(path.join(home, 'pg', 'port'), 'utf8')).trim());
    const ctx: BenchContext = {
      url: server.url,
      home,
      servicePid: server.child.pid!,
      tenants: creds.tenants,
      pg: {
        host: '127.0.0.1',
        port,
        user: roles.authenticator.user,
        password: roles.authenticator.password,
        database: 'spectra_warehouse',
      },
    };
    for (const name of names) {
      process.stdout.write(`\n== ${name}\n`);
      const results = await (await SUITES[name]!())(ctx);
      printTable(results);
      all.push(...results);
    }
  } finally {
    await stop(server.child);
  }
  return all;
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
