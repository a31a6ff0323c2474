/**
 * The `spectra` command. Subcommands: `serve` (API + embedded warehouse by default).
 * Flags override SPECTRA_* environment variables (docs/configuration.md).
 */

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, type Flags, loadConfig } from '../config/index.js';
import { createLogger } from '../runtime/logger.js';
import { startServer } from '../runtime/server.js';
import { VERSION } from '../runtime/version.js';
import { ADMIN_USAGE, runAdminCommand } from './admin-client.js';

const USAGE = `Usage: spectra <command> [flags]

Commands:
  serve      start the HTTP API (and, by default, an embedded PostgreSQL with demo data)
  tenants    manage tenants of a running server (see below)
  keys       manage API keys of a running server (see below)
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

${ADMIN_USAGE}`;

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
];

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'version' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'tenants' || command === 'keys') return runAdminCommand(command, rest);
  if (command !== 'serve') {
    process.stderr.write(`spectra: unknown command "${command}"\n\n${USAGE}`);
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
      },
      strict: true,
    });
    flags = { ...values } as Flags;
    if (values['no-demo']) flags.demo = false;
  } catch (e) {
    process.stderr.write(`spectra: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env, flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`spectra: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  const server = await startServer(config, log);
  const out = process.stdout;
  // Lets `spectra tenants …` and `spectra keys …` find this server.
  await writeFile(
    path.join(config.home, 'server.json'),
    `${JSON.stringify({ url: server.url, pid: process.pid })}\n`,
  );
  out.write(`listening on ${server.url}\n`);
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
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      server.close().then(resolve, (e) => {
        log.error({ err: e }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  log.flush();
  return 0;
}
