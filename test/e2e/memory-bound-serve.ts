/**
 * The service in a child process of its own, for test/e2e/query-memory-limits.test.ts to measure
 * (its RSS is this process's): the same composition as startSpectra, on the run's PostgreSQL
 * (facts in SPECTRA_TEST_PG as JSON). Prints one JSON line `{url, keys}` when it listens.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { buildCore, issueAdminKey } from '../../src/runtime/core.js';
import { ensureDemoTenants } from '../../src/runtime/demo.js';
import { listen } from '../../src/runtime/server.js';

const f = JSON.parse(process.env.SPECTRA_TEST_PG ?? '{}');
const url = (user: string, password: string, db: string) =>
  `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${f.host}:${f.port}/${db}`;
const home = await mkdtemp(path.join(os.tmpdir(), 'spectra-mem-'));
const config = loadConfig({
  SPECTRA_HOME: home,
  SPECTRA_PORT: '0',
  SPECTRA_LOG_LEVEL: 'silent',
  SPECTRA_RATE_LIMIT_PER_MINUTE: '0',
  SPECTRA_WAREHOUSE_URL: url(f.authenticator.user, f.authenticator.password, f.warehouseDb),
  SPECTRA_STATE_URL: url(f.stateUser.user, f.stateUser.password, f.controlDb),
  SPECTRA_WAREHOUSE_ADMIN_URL: url(f.superuser, f.superuserPassword, f.warehouseDb),
});
const core = await buildCore(config, createLogger(config.logLevel));
const creds = await ensureDemoTenants(core.state, {
  home,
  pepper: core.pepper,
  tenants: f.tenants,
  adminKey: () => issueAdminKey(core.state, core.pepper),
});
const server = await listen(core);
const keys = Object.fromEntries(creds.tenants.map((t) => [t.tenant_id, t.api_key]));
process.stdout.write(`${JSON.stringify({ url: server.url, keys })}\n`);
