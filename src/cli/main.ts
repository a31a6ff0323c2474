/**
 * The `spectra` command: `serve` and `worker` run the service; `login`, `query`, `jobs`, `export`,
 * `import`, `tables`, `describe` are data commands on the typed client (src/client); `tenants`,
 * `keys`, `audit` talk to the admin API; `aws init` and `admin-key` bootstrap deployments.
 * Every command loads lazily, so `spectra --version` loads almost nothing (docs/cli.md).
 */

import os from 'node:os';
import path from 'node:path';
// Only light modules load up front (`spectra --version` stays fast); each command imports what it needs.
import type { Config, Flags } from '../config/index.js';
import type { Logger } from '../observability/logger.js';
import { VERSION } from '../runtime/version.js';

/** What bin/spectra.js adds to the commands. */
export interface MainOptions {
  /** Runs once `serve` has valid flags, just before the server starts (a clone builds its web console). */
  beforeServe?: () => Promise<void>;
}

type Run = (argv: string[]) => Promise<number>;

/** Every command: its one-line summary and how to load it (lazily). */
const COMMANDS: Record<string, { summary: string; load: (options?: MainOptions) => Promise<Run> }> = {
  serve: {
    summary: 'start the HTTP API, a job worker and (by default) an embedded PostgreSQL with demo data',
    load: async (options) => (argv) => runServerCommand('serve', argv, options),
  },
  worker: {
    summary: 'run async-job workers only, beside API processes started with --no-worker',
    load: async () => (argv) => runServerCommand('worker', argv),
  },
  login: {
    summary: 'store a server URL and API key as a profile for the data commands',
    load: async () => (await import('./login.js')).runLoginCommand,
  },
  query: {
    summary: 'run a SELECT and print the rows (table, csv, json, ndjson), or submit it as a job',
    load: async () => (await import('./query.js')).runQueryCommand,
  },
  jobs: {
    summary: 'list, follow, cancel and read the results of query jobs',
    load: async () => (await import('./jobs.js')).runJobsCommand,
  },
  export: {
    summary: 'export every row of a SELECT to a CSV, Parquet or JSON file (Bulk API)',
    load: async () => (await import('./transfer.js')).runExportCommand,
  },
  import: {
    summary: 'load a CSV or JSON file into a table: insert, update, upsert or delete',
    load: async () => (await import('./transfer.js')).runImportCommand,
  },
  tables: {
    summary: 'list the tables your tenant can read',
    load: async () => (await import('./catalog.js')).runTablesCommand,
  },
  describe: {
    summary: 'show the columns of one table',
    load: async () => (await import('./catalog.js')).runDescribeCommand,
  },
  tenants: {
    summary: 'manage tenants of a running server (admin key)',
    load: async () => (argv) => import('./admin-client.js').then((m) => m.runAdminCommand('tenants', argv)),
  },
  keys: {
    summary: 'manage API keys of a running server (admin key)',
    load: async () => (argv) => import('./admin-client.js').then((m) => m.runAdminCommand('keys', argv)),
  },
  audit: {
    summary: 'read the audit trail of a running server, newest first (admin key)',
    load: async () => (await import('./audit.js')).runAuditCommand,
  },
  aws: {
    summary: 'aws init: create the DynamoDB tables and the S3 bucket (docs/aws.md)',
    load: async () => (argv) => import('./aws-init.js').then((m) => m.runAwsCommand(argv)),
  },
  'admin-key': {
    summary: 'issue an admin:* API key straight into the state store (first key of a deployment)',
    load: async () => (argv) => import('./admin-key.js').then((m) => m.runAdminKeyCommand(argv)),
  },
  version: { summary: 'print the version', load: async () => async () => printVersion() },
};

const usage = () => `Usage: spectra <command> [flags]     (spectra <command> --help for its flags)

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Data commands find the server and API key through spectra login profiles, --profile, --url / --key,
or SPECTRA_URL / SPECTRA_API_KEY (docs/cli.md).
`;

function printVersion(): number {
  process.stdout.write(`${VERSION}\n`);
  return 0;
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === '-V') return printVersion();
  if (!command || command === '--help' || command === '-h') {
    (command ? process.stdout : process.stderr).write(usage());
    return command ? 0 : 2;
  }
  if (command === 'help') {
    const topic = rest[0] ? COMMANDS[rest[0]] : undefined;
    if (topic) return (await topic.load())(['--help']);
    process.stdout.write(usage());
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!entry) {
    process.stderr.write(`spectra: unknown command "${command}"\n${usage()}`);
    return 2;
  }
  const code = await (await entry.load(options))(rest);
  // bin/spectra.js calls process.exit: a pipe's pending output would be cut off without this.
  await Promise.all(
    [process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))),
  );
  return code;
}

async function runServerCommand(
  command: 'serve' | 'worker',
  rest: string[],
  options: MainOptions = {},
): Promise<number> {
  const { parseCommand, reportFailure, wantsHelp, processIo } = await import('./command.js');
  const { serveFlags, serveOptions, serveUsage } = await import('./serve-flags.js');
  const spec = { name: command, usage: serveUsage(), options: serveOptions() };
  if (wantsHelp(rest)) {
    process.stdout.write(spec.usage);
    return 0;
  }
  let flags: Flags;
  try {
    flags = serveFlags(parseCommand(spec, rest).values);
  } catch (e) {
    return reportFailure(e, spec, processIo());
  }
  const { ConfigError, loadConfig } = await import('../config/index.js');
  let config: Config;
  try {
    config = loadConfig(process.env, flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`spectra: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = (await import('../observability/logger.js')).createLogger(config.logLevel);
  // From here on SIGINT/SIGTERM/SIGHUP are ours, so none meets its default action (see stopSignals).
  const signals = stopSignals(log);
  if (command === 'worker') return runWorker(config, log, signals);
  // Closing the terminal (SIGHUP) makes writes to it fail: the shutdown must still run to its end.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  await options.beforeServe?.();
  const { startServer } = await import('../runtime/server.js');
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, log);
  } catch (e) {
    const { EmbeddedPostgresInUseError } = await import('../warehouse/embedded/postgres-process.js');
    if (e instanceof EmbeddedPostgresInUseError) {
      process.stderr.write(`spectra: ${e.message}\n`);
      return 1;
    }
    const inUse = addressInUse(e);
    if (inUse) {
      process.stderr.write(
        `spectra: ${inUse} is already in use (another spectra serve, or another program): choose another port with --port or SPECTRA_PORT (--metrics-port for the metrics listener)\n`,
      );
      return 1;
    }
    throw e;
  }
  const stopped = signals.running(() => server.close());
  const { SERVE_NODE_OPTION, semiSpaceOption } = await import('../runtime/node-heap.js');
  if (semiSpaceOption(process.execArgv, process.env.NODE_OPTIONS) === null)
    log.info(
      { node_option: SERVE_NODE_OPTION },
      `Node's young generation is at its default size: start with NODE_OPTIONS=${SERVE_NODE_OPTION}, as npm start does, for a freshly started server under overload (docs/operations.md#nodes-young-generation)`,
    );
  const { forgetServer, recordServer } = await import('./server-file.js');
  const out = process.stdout;
  // Lets `spectra tenants …` and `spectra keys …` find this server; removed on every exit.
  await recordServer(config.home, server.url);
  out.write(`listening on ${server.url}\n`);
  if (server.core.embedded && !isInside(server.core.embedded.dataDir, config.home)) {
    out.write(`PostgreSQL data directory: ${server.core.embedded.dataDir}\n`);
  }
  if (server.credentials) {
    out.write(`\nDemo credentials (also in ${config.home}/credentials.json):\n`);
    for (const t of server.credentials.tenants) out.write(`  ${t.tenant_id.padEnd(8)} ${t.api_key}\n`);
    const first = server.credentials.tenants[0];
    if (first) {
      out.write('\nTry it:\n');
      out.write(
        `  curl -s ${server.url}/v1/queries -H 'Authorization: Bearer ${first.api_key}' -H 'Content-Type: application/json' \\\n` +
          `    -d '{"sql": "SELECT region, COUNT(*) AS sales, SUM(amount) AS total FROM sales GROUP BY region ORDER BY region"}'\n`,
      );
      out.write(
        `\nOr with the CLI:\n  spectra login --url ${server.url} --key ${first.api_key}\n` +
          `  spectra query "SELECT region, SUM(amount) FROM sales GROUP BY 1"\n`,
      );
    }
    out.write(`\nAPI docs: ${server.url}/docs\nConsole:  ${server.url}/console\n`);
  }
  await stopped;
  forgetServer(config.home);
  log.flush();
  return 0;
}

interface StopSignals {
  /**
   * The server or worker has started: from now on a signal runs `close`; the promise resolves once
   * it has finished. Called before anything announces readiness ("listening on"): stdout to a pipe
   * is written synchronously, and a supervisor may signal the moment it reads that line.
   */
  running(close: () => Promise<void>): Promise<void>;
}

/**
 * Handles SIGINT (Ctrl-C), SIGTERM and SIGHUP (terminal closed) for a serve or worker process's
 * whole life. While it starts — a first start initialises PostgreSQL and seeds the demo for a while
 * — a signal exits at once with 128 + its number: the 'exit' handlers stop an embedded PostgreSQL
 * already spawned (its own process group, so a Ctrl-C does not reach it); server.json is written
 * only once the server runs.
 * Once running, a signal starts the graceful stop; later signals do not cut the drain short,
 * except a second Ctrl-C, which exits at once.
 */
function stopSignals(log: Logger): StopSignals {
  let close: (() => Promise<void>) | undefined;
  let stopping = false;
  let done!: () => void;
  const stopped = new Promise<void>((resolve) => (done = resolve));
  const stop = (signal: NodeJS.Signals) => {
    if (!close) {
      log.warn({ signal }, 'stopped while starting');
      log.flush();
      process.exit(128 + os.constants.signals[signal]);
    }
    if (stopping) {
      if (signal !== 'SIGINT') return;
      log.warn({ signal }, 'second interrupt: exiting without waiting for the drain');
      log.flush();
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    close().then(done, (e) => {
      log.error({ err: e }, 'shutdown failed');
      done();
    });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  return {
    running(closeWith) {
      close = closeWith;
      return stopped;
    },
  };
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** `spectra worker`: runs until SIGINT/SIGTERM/SIGHUP, then lets running jobs finish (bounded) and re-queues the rest. */
async function runWorker(config: Config, log: Logger, signals: StopSignals): Promise<number> {
  const running = await (await import('../runtime/worker.js')).startWorkerProcess(config, log);
  const stopped = signals.running(() => running.close());
  process.stdout.write(
    `worker started (owner ${running.worker.owner}, concurrency ${config.workerConcurrency})\n`,
  );
  await stopped;
  log.flush();
  return 0;
}

/** `host:port` of a listen that failed because the address is taken, else undefined. */
function addressInUse(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  if (err?.code !== 'EADDRINUSE' || err.syscall !== 'listen' || err.address === undefined) return undefined;
  return `${err.address.includes(':') ? `[${err.address}]` : err.address}:${err.port}`;
}
