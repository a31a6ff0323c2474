/**
 * Composition root of `spectra serve`: chooses the adapters from configuration, wires the
 * services and the HTTP app, listens, and shuts down cleanly. The only module that knows which
 * adapter implements which port.
 */
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { ApiKeyAuthenticator } from '../auth/api-key.js';
import type { Config } from '../config/index.js';
import { unauthorized } from '../domain/errors.js';
import { createApp } from '../http/app.js';
import { QueryService } from '../services/query-service.js';
import { defaultGuardPolicy, initSqlGuard } from '../sql/index.js';
import { PostgresStateStore } from '../state/postgres/index.js';
import { bootstrapEmbedded, DEMO_TENANTS, tenantRoleName } from '../warehouse/embedded/bootstrap.js';
import { startEmbeddedPostgres } from '../warehouse/embedded/postgres-process.js';
import { PostgresWarehouse } from '../warehouse/postgres/index.js';
import { type DemoCredentials, ensureDemoTenants } from './demo.js';
import type { Logger } from './logger.js';
import { loadOrCreateSecrets } from './secrets.js';
import { VERSION } from './version.js';

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  credentials: DemoCredentials | null;
  close(): Promise<void>;
}

/** Days a query job record is kept. */
const JOB_RETENTION_DAYS = 7;

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  // 0711: when running as root, PostgreSQL runs as the OS user postgres and must traverse the folder.
  await mkdir(config.home, { recursive: true, mode: 0o711 });
  const secrets = await loadOrCreateSecrets(config.home);
  const pepper = config.apiKeyPepper || secrets.apiKeyPepper;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((e) => log.warn({ err: e }, 'shutdown step failed'));
  };

  try {
    const guardReady = initSqlGuard();
    let warehouse: PostgresWarehouse;
    let state: PostgresStateStore;
    let demoTenants: { tenantId: string; dbUser: string }[] = [];

    if (!config.warehouseUrl || !config.stateUrl) {
      const pgLog = log.child({ component: 'postgres' });
      const pg = await startEmbeddedPostgres({ home: config.home, log: (line) => pgLog.debug(line) });
      cleanups.push(() => pg.stop());
      const tenants = config.demo ? DEMO_TENANTS : [];
      const boot = await bootstrapEmbedded(
        { host: pg.host, port: pg.port, user: pg.superuser, password: pg.superuserPassword },
        { home: config.home, demoRows: config.demoRows, tenants, log: (s) => log.info(s) },
      );
      demoTenants = tenants.map((tenantId) => ({ tenantId, dbUser: tenantRoleName(tenantId) }));
      warehouse = new PostgresWarehouse(
        config.warehouseUrl
          ? { connectionString: config.warehouseUrl, poolSize: config.warehousePoolSize }
          : {
              host: pg.host,
              port: pg.port,
              user: boot.authenticator.user,
              password: boot.authenticator.password,
              database: boot.warehouseDb,
              poolSize: config.warehousePoolSize,
            },
      );
      state = new PostgresStateStore(
        config.stateUrl
          ? { connectionString: config.stateUrl, poolSize: config.statePoolSize }
          : {
              host: pg.host,
              port: pg.port,
              user: boot.stateUser.user,
              password: boot.stateUser.password,
              database: boot.controlDb,
              poolSize: config.statePoolSize,
            },
      );
    } else {
      warehouse = new PostgresWarehouse({
        connectionString: config.warehouseUrl,
        poolSize: config.warehousePoolSize,
      });
      state = new PostgresStateStore({ connectionString: config.stateUrl, poolSize: config.statePoolSize });
    }
    cleanups.push(() => warehouse.close());
    cleanups.push(() => state.close());
    await state.migrate();
    await guardReady;

    const credentials =
      demoTenants.length > 0
        ? await ensureDemoTenants(state, { home: config.home, pepper, tenants: demoTenants })
        : null;

    const apiKeys = new ApiKeyAuthenticator(state, pepper, config.authCacheTtlMs);
    const queries = new QueryService({
      warehouse,
      state,
      guardPolicy: defaultGuardPolicy({
        level: config.sqlSecurityLevel,
        maxLength: config.sqlMaxQueryLength,
        maxJoins: config.sqlMaxJoins,
        maxDepth: config.sqlMaxSubqueries,
        allowFunctions: config.sqlAllowFunctions,
        denyFunctions: config.sqlDenyFunctions,
        allowedSchemas: config.sqlAllowedSchemas,
      }),
      limits: {
        defaultRows: config.queryDefaultRows,
        maxRows: config.queryMaxRows,
        defaultTimeoutSeconds: config.defaultTimeoutSeconds,
        maxTimeoutSeconds: config.maxTimeoutSeconds,
        maxSqlLength: config.sqlMaxQueryLength,
        jobRetentionDays: JOB_RETENTION_DAYS,
      },
    });

    let shuttingDown = false;
    const app = createApp({
      version: VERSION,
      maxBodyBytes: config.maxBodyBytes,
      authenticate: async (token) => {
        if (token.startsWith('spk_')) return apiKeys.authenticate(token);
        throw unauthorized();
      },
      queries,
      state,
      readiness: [
        { name: 'warehouse', check: () => warehouse.ping() },
        { name: 'state', check: () => state.ping() },
      ],
      isShuttingDown: () => shuttingDown,
      onInternalError: (err, requestId) => log.error({ err, request_id: requestId }, 'internal error'),
    });

    let inFlight = 0;
    let drained: (() => void) | undefined;
    const server = await new Promise<Server>((resolve, reject) => {
      const s = serve(
        {
          fetch: async (req, env) => {
            inFlight++;
            try {
              return await app.fetch(req, env);
            } finally {
              if (--inFlight === 0) drained?.();
            }
          },
          port: config.port,
          hostname: config.host,
        },
        () => resolve(s as Server),
      );
      s.once('error', reject);
    });
    const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));
    cleanups.push(async () => {
      server.close();
      server.closeAllConnections();
      await serverClosed;
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

    return {
      url: `http://${host}:${addr.port}`,
      host,
      port: addr.port,
      credentials,
      close: async () => {
        if (shuttingDown) return;
        shuttingDown = true;
        server.close();
        server.closeIdleConnections();
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            drained = resolve;
            setTimeout(resolve, config.shutdownGraceSeconds * 1000).unref();
          });
        }
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
