/**
 * The `spectra` command. Subcommands: `serve` (API + async-job worker + embedded warehouse by
 * default), `worker` (async-job workers only), `aws init` (DynamoDB tables and S3 bucket).
 * Flags override SPECTRA_* environment variables (docs/configuration.md).
 */

import path from 'node:path';
import { parseArgs } from 'node:util';
// Only light modules load up front (`spectra --version` stays fast); each command imports what it needs.
import type { Config, Flags } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';
import { VERSION } from '../runtime/version.js';
import { ADMIN_USAGE, runAdminCommand } from './admin-client.js';
import { AUDIT_USAGE, runAuditCommand } from './audit.js';
import { forgetServer, recordServer } from './server-file.js';

const usage = async () => `Usage: spectra <command> [flags]

Commands:
  serve      start the HTTP API and an async-job worker (and, by default, an embedded PostgreSQL with demo data)
  worker     run async-job workers only, beside API processes started with --no-worker
  tenants    manage tenants of a running server (see below)
  keys       manage API keys of a running server (see below)
  audit      read the audit trail of a running server (see below)
  aws init   create the DynamoDB tables and the S3 bucket at the configured endpoints (docs/aws.md)
  admin-key  issue an admin:* API key straight into the state store (first key of a deployment)
  version    print the version

Flags for serve (each also settable as an environment variable, see docs/configuration.md):
  --home DIR            state folder (SPECTRA_HOME, default ./.spectra)
  --host HOST           bind address (SPECTRA_HOST, default 127.0.0.1)
  --port N              HTTP port, 0 = any free port (SPECTRA_PORT, default 8080)
  --demo-rows N         rows of the demo sales table on first start (SPECTRA_DEMO_ROWS, default 1000000)
  --no-demo             do not create demo tenants (SPECTRA_DEMO=false)
  --warehouse-url URL   external warehouse instead of the embedded PostgreSQL (SPECTRA_WAREHOUSE_URL)
  --state-url URL       external control-state PostgreSQL (SPECTRA_STATE_URL)
  --log-level LEVEL     debug|info|warn|error|silent (SPECTRA_LOG_LEVEL)
  --metrics-port N      also serve GET /metrics without credentials on 127.0.0.1:N (SPECTRA_METRICS_PORT)
  --no-worker           serve the API only; async jobs wait for \`spectra worker\` processes (SPECTRA_WORKER=false)
  --worker-concurrency N  async jobs this process runs at once (SPECTRA_WORKER_CONCURRENCY, default 4)
  --result-dir DIR      result files, shared by API and workers (SPECTRA_RESULT_DIR, default HOME/results)

\`spectra worker\` takes the same flags (without the HTTP ones); with no --warehouse-url/--state-url it
attaches to the embedded PostgreSQL of a \`spectra serve\` running in the same --home.

${ADMIN_USAGE}
${AUDIT_USAGE}
${(await import('./admin-key.js')).ADMIN_KEY_USAGE}`;

const STRING_FLAGS = [
  'home',
  'host',
  'port',
  'demo-rows',
  'warehouse-url',
  'state-url',
  'log-level',
  'warehouse-pool-size',
  'state-pool-size',
  'metrics-port',
  'worker-concurrency',
  'result-dir',
];

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(await usage());
    return command ? 0 : 2;
  }
  if (command === 'version' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'tenants' || command === 'keys') return runAdminCommand(command, rest);
  if (command === 'audit') return runAuditCommand(rest);
  if (command === 'aws') return (await import('./aws-init.js')).runAwsCommand(rest);
  if (command === 'admin-key') return (await import('./admin-key.js')).runAdminKeyCommand(rest);
  if (command !== 'serve' && command !== 'worker') {
    process.stderr.write(`spectra: unknown command "${command}"\n\n${await usage()}`);
    return 2;
  }
  let flags: Flags;
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        ...Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: 'string' as const }])),
        demo: { type: 'boolean' },
        'no-demo': { type: 'boolean' },
        worker: { type: 'boolean' },
        'no-worker': { type: 'boolean' },
      },
      strict: true,
    });
    flags = { ...values } as Flags;
    if (values['no-demo']) flags.demo = false;
    if (values['no-worker']) flags.worker = false;
  } catch (e) {
    process.stderr.write(`spectra: ${(e as Error).message}\n\n${await usage()}`);
    return 2;
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
  const log = (await import('../runtime/logger.js')).createLogger(config.logLevel);
  if (command === 'worker') return runWorker(config, log);
  // Closing the terminal (SIGHUP) makes writes to it fail: the shutdown must still run to its end.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
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
    throw e;
  }
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
    }
    out.write(`\nAPI docs: ${server.url}/docs\n`);
  }
  await untilStopSignal(log, () => server.close());
  forgetServer(config.home);
  log.flush();
  return 0;
}

/**
 * Resolves once `close` has finished after SIGINT (Ctrl-C), SIGTERM or SIGHUP (terminal closed).
 * Later signals do not cut the drain short, except a second Ctrl-C, which exits at once.
 */
function untilStopSignal(log: Logger, close: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        if (signal !== 'SIGINT') return;
        log.warn({ signal }, 'second interrupt: exiting without waiting for the drain');
        log.flush();
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      close().then(resolve, (e) => {
        log.error({ err: e }, 'shutdown failed');
        resolve();
      });
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  });
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** `spectra worker`: runs until SIGINT/SIGTERM/SIGHUP, then lets running jobs finish (bounded) and re-queues the rest. */
async function runWorker(config: Config, log: Logger): Promise<number> {
  const running = await (await import('../runtime/worker.js')).startWorkerProcess(config, log);
  process.stdout.write(
    `worker started (owner ${running.worker.owner}, concurrency ${config.workerConcurrency})\n`,
  );
  await untilStopSignal(log, () => running.close());
  log.flush();
  return 0;
}
