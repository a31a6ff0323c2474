/**
 * The base every composition root on Node and Lambda builds on: the home folder and its secrets,
 * the embedded PostgreSQL when a store has no URL, and the StateStore, Warehouse and ResultStore
 * opened from configuration. The job workers use it as it is; core.ts adds the HTTP services.
 */
import { mkdir } from 'node:fs/promises';
import type { Config } from '../config/index.js';
import { resultMemoryCapacity } from '../config/sections/limits.js';
import type { Logger } from '../observability/logger.js';
import { ServiceMetrics } from '../observability/service-metrics.js';
import { ResultMemoryBudget } from '../services/result-memory-budget.js';
import type { StateStore } from '../state/port.js';
import type { PostgresStateStore } from '../state/postgres/index.js';
import type { ResultStore } from '../storage/port.js';
import { bootstrapEmbedded, DEMO_TENANTS, tenantRoleName } from '../warehouse/embedded/bootstrap.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../warehouse/embedded/postgres-process.js';
import type { Warehouse } from '../warehouse/port.js';
import type { PostgresWarehouse } from '../warehouse/postgres/index.js';
import type { PostgresTenantRoles } from '../warehouse/postgres/tenant-roles.js';
import type { CaptureAwsClient } from './aws/clients.js';
import { openResultStore } from './result-store.js';
import { loadOrCreateSecrets, type ServerSecrets } from './secrets.js';
import { openStateStore } from './state-store.js';
import { VERSION } from './version.js';
import { openWarehouse } from './warehouse.js';

export interface Ports {
  config: Config;
  log: Logger;
  secrets: ServerSecrets;
  state: StateStore;
  warehouse: Warehouse;
  /** Result files of async jobs: SPECTRA_STORAGE=fs (SPECTRA_RESULT_DIR or SPECTRA_HOME/results) or s3. */
  results: ResultStore;
  /** Null when SPECTRA_METRICS=false. */
  metrics: ServiceMetrics | null;
  /** Bytes of query results held in memory at once, shared by the warehouse and the query service. */
  resultMemory: ResultMemoryBudget;
  embedded: EmbeddedPostgres | null;
  /** The embedded warehouse's demo tenants (empty without SPECTRA_DEMO or the embedded warehouse). */
  demoTenants: { tenantId: string; dbUser: string }[];
  /** Where tenant roles are created: SPECTRA_WAREHOUSE_ADMIN_URL, else the embedded warehouse's superuser. */
  warehouseAdmin: ConstructorParameters<typeof PostgresTenantRoles>[0] | null;
  /** Runs `fn` first on close (e.g. stop a worker before the pools it uses). */
  onClose(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

export interface OpenPortsOptions {
  /** Every AWS SDK client the ports build passes through it (the Lambda functions' tracer). */
  capture?: CaptureAwsClient;
}

export async function openPorts(config: Config, log: Logger, options: OpenPortsOptions = {}): Promise<Ports> {
  // 0711: when running as root, PostgreSQL runs as the OS user postgres and must traverse the folder.
  await mkdir(config.home, { recursive: true, mode: 0o711 });
  const secrets = await loadOrCreateSecrets(config.home);
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const fn of cleanups.splice(0).reverse())
      await fn().catch((e) => log.warn({ err: e }, 'shutdown step failed'));
  };

  try {
    let embedded: EmbeddedPostgres | null = null;
    let demoTenants: { tenantId: string; dbUser: string }[] = [];
    let warehouseConn: ConstructorParameters<typeof PostgresWarehouse>[0];
    let stateConn: ConstructorParameters<typeof PostgresStateStore>[0];
    let warehouseAdmin: Ports['warehouseAdmin'] = config.warehouseAdminUrl
      ? { connectionString: config.warehouseAdminUrl }
      : null;

    // The embedded PostgreSQL serves whichever of warehouse and state is PostgreSQL without a URL.
    const embeddedWarehouse = config.warehouse === 'postgres' && !config.warehouseUrl;
    const embeddedState = config.state === 'postgres' && !config.stateUrl;
    if (embeddedWarehouse || embeddedState) {
      const pgLog = log.child({ component: 'postgres' });
      const pg = await startEmbeddedPostgres({ home: config.home, log: (line) => pgLog.debug(line) });
      embedded = pg;
      cleanups.push(() => pg.stop());
      const tenants = config.demo ? DEMO_TENANTS : [];
      const boot = await bootstrapEmbedded(
        { host: pg.host, port: pg.port, user: pg.superuser, password: pg.superuserPassword },
        { home: config.home, demoRows: config.demoRows, tenants, log: (s) => log.info(s) },
      );
      demoTenants = boot.tenants.map((t) => ({ tenantId: t.tenantId, dbUser: tenantRoleName(t.tenantId) }));
      const local = { host: pg.host, port: pg.port };
      warehouseConn = config.warehouseUrl
        ? { connectionString: config.warehouseUrl, poolSize: config.warehousePoolSize }
        : { ...local, ...boot.authenticator, database: boot.warehouseDb, poolSize: config.warehousePoolSize };
      stateConn = config.stateUrl
        ? { connectionString: config.stateUrl, poolSize: config.statePoolSize }
        : { ...local, ...boot.stateUser, database: boot.controlDb, poolSize: config.statePoolSize };
      // Tenant roles of the embedded warehouse; a Redshift Data API warehouse needs SPECTRA_WAREHOUSE_ADMIN_URL.
      if (config.warehouse === 'postgres')
        warehouseAdmin ??= {
          ...local,
          user: pg.superuser,
          password: pg.superuserPassword,
          database: boot.warehouseDb,
        };
    } else {
      warehouseConn = { connectionString: config.warehouseUrl, poolSize: config.warehousePoolSize };
      stateConn = { connectionString: config.stateUrl, poolSize: config.statePoolSize };
    }

    // Before the warehouse pool, which reports its wait times into it.
    const metrics = config.metrics
      ? new ServiceMetrics({ version: VERSION, tenants: config.metricsTenants })
      : null;
    const resultMemory = new ResultMemoryBudget({
      capacityBytes: resultMemoryCapacity(config),
      maxWaitMs: config.resultMemoryWaitMs,
    });
    if (metrics) {
      resultMemory.onRefused = () => metrics.overloadRejections.inc({ scope: 'result_memory' });
      metrics.addSources({ resultMemory: () => resultMemory.stats });
    }
    const { capture } = options;
    const state = await openStateStore(config, { postgres: stateConn, log, capture });
    cleanups.push(() => state.close());
    const warehouse = await openWarehouse(config, {
      postgres: warehouseConn,
      metrics,
      resultMemory,
      state,
      capture,
    });
    cleanups.push(() => warehouse.close());
    const results = await openResultStore(config, { urlSigningKey: secrets.urlSigningKey, capture });

    return {
      config,
      log,
      secrets,
      state,
      warehouse,
      results,
      metrics,
      resultMemory,
      embedded,
      demoTenants,
      warehouseAdmin,
      onClose: (fn) => {
        cleanups.push(fn);
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
