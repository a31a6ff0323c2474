/**
 * Starts the real service in-process (real HTTP on 127.0.0.1, a free port) against the run's
 * shared embedded PostgreSQL, in the cluster shape (external URLs) — or, when SPECTRA_TEST_STACK=aws,
 * on the AWS adapters over their local stand-ins (aws-stack.ts). Each call gets its own
 * SPECTRA_HOME, hence its own API-key pepper and keys for the demo tenants and an admin key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { buildCore, type Core, issueAdminKey } from '../../src/runtime/core.js';
import { ensureDemoTenants } from '../../src/runtime/demo.js';
import { listen } from '../../src/runtime/server.js';
import { onAwsStack, startAwsStack } from './aws-stack.js';
import { pgFacts } from './pg-fixture.js';

export interface TestSpectra {
  url: string;
  core: Core;
  /** tenant id → API key, for acme, globex, initech. */
  keys: Record<string, string>;
  adminKey: string;
  /** fetch against the service with a tenant's key (or none) and JSON handling. */
  request(
    pathname: string,
    init?: {
      method?: string;
      tenant?: string;
      key?: string;
      body?: unknown;
      headers?: Record<string, string>;
    },
  ): Promise<Response>;
  query(tenant: string, body: Record<string, unknown>, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export function pgUrl(user: string, password: string, database: string): string {
  const f = pgFacts();
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${f.host}:${f.port}/${database}`;
}

export async function startSpectra(
  env: Record<string, string> = {},
  opts: { log?: Logger } = {},
): Promise<TestSpectra> {
  const f = pgFacts();
  const home = await mkdtemp(path.join(os.tmpdir(), 'spectra-e2e-'));
  // SPECTRA_TEST_STACK=aws: the same suite on the Data API fake, DynamoDB Local and s3rver.
  const stack = onAwsStack() ? await startAwsStack() : null;
  const config = loadConfig({
    SPECTRA_HOME: home,
    SPECTRA_PORT: '0',
    SPECTRA_LOG_LEVEL: 'silent',
    // Test files share tenant ids and fire many requests: rate limits only where a test asks for them.
    SPECTRA_RATE_LIMIT_PER_MINUTE: '0',
    SPECTRA_WAREHOUSE_URL: pgUrl(f.authenticator.user, f.authenticator.password, f.warehouseDb),
    SPECTRA_STATE_URL: pgUrl(f.stateUser.user, f.stateUser.password, f.controlDb),
    SPECTRA_WAREHOUSE_ADMIN_URL: pgUrl(f.superuser, f.superuserPassword, f.warehouseDb),
    ...stack?.env,
    ...env,
  });
  const core = await buildCore(config, opts.log ?? createLogger(config.logLevel));
  const creds = await ensureDemoTenants(core.state, {
    home,
    pepper: core.pepper,
    tenants: f.tenants,
    adminKey: () => issueAdminKey(core.state, core.pepper),
  });
  const server = await listen(core);
  const keys = Object.fromEntries(creds.tenants.map((t) => [t.tenant_id, t.api_key]));
  const request: TestSpectra['request'] = (pathname, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const key = init.key ?? (init.tenant ? keys[init.tenant] : undefined);
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    return fetch(`${server.url}${pathname}`, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
    });
  };
  return {
    url: server.url,
    core,
    keys,
    adminKey: creds.admin_key!,
    request,
    query: (tenant, body, headers) =>
      request('/v1/queries', { tenant, body, ...(headers ? { headers } : {}) }),
    close: async () => {
      await server.close();
      await stack?.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** The response body as loosely typed JSON: tests assert on its shape. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions inspect arbitrary JSON bodies
export async function json(res: Response): Promise<any> {
  return res.json();
}
