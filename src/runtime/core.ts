/**
 * Composition root shared by every process shape on Node (serve, worker, tests, bench): picks
 * the adapters from configuration and wires the services. Only runtime/ knows the adapters.
 */
import { mkdir } from 'node:fs/promises';
import { type IssuedKey, issueApiKey } from '../auth/api-key.js';
import { createTrustedHeaderAuthenticator, type TrustedHeaderAuthenticate } from '../auth/trusted-header.js';
import type { Config } from '../config/index.js';
import { resultMemoryCapacity } from '../config/sections/limits.js';
import { sqlDialects } from '../config/sections/sql.js';
import type { Authenticate } from '../domain/principal.js';
import type { Logger } from '../observability/logger.js';
import { BulkService } from '../services/bulk-lifecycle.js';
import { JobService } from '../services/job-service.js';
import { QueryService } from '../services/query-service.js';
import { ResultMemoryBudget } from '../services/result-memory-budget.js';
import { SYSTEM_TENANT_ID, TenantService } from '../services/tenant-service.js';
import { defaultGuardPolicy, initSqlGuard, Planner } from '../sql/index.js';
import type { StateStore } from '../state/port.js';
import type { PostgresStateStore } from '../state/postgres/index.js';
import { FsResultStore } from '../storage/fs/index.js';
import { FsUploadUrls } from '../storage/fs/upload-urls.js';
import type { ResultStore } from '../storage/port.js';
import { bootstrapEmbedded, DEMO_TENANTS, tenantRoleName } from '../warehouse/embedded/bootstrap.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../warehouse/embedded/postgres-process.js';
import type { TenantRoles, Warehouse } from '../warehouse/port.js';
import { PostgresWarehouse } from '../warehouse/postgres/index.js';
import { PostgresTenantRoles } from '../warehouse/postgres/tenant-roles.js';
import { openAuthenticator } from './authenticator.js';
import type { CaptureAwsClient } from './aws/clients.js';
import { type DemoCredentials, ensureDemoTenants } from './demo.js';
import { buildObservability, createServiceMetrics, type Observability } from './observability.js';
import { openResultStore } from './result-store.js';
import { loadOrCreateSecrets, type ServerSecrets } from './secrets.js';
import { openStateStore } from './state-store.js';
import { openWarehouse } from './warehouse.js';

export interface Core {
  config: Config;
  log: Logger;
  secrets: ServerSecrets;
  pepper: string;
  warehouse: Warehouse;
  state: StateStore;
  tenantRoles: TenantRoles | null;
  /** The planning stage every service shares (its guard policy, plan cache, planner threads). */
  planner: Planner;
  queries: QueryService;
  tenants: TenantService;
  authenticate: Authenticate;
  trustedHeader: TrustedHeaderAuthenticate;
  /** Embedded shape with demo data: what credentials.json holds. */
  credentials: DemoCredentials | null;
  embedded: EmbeddedPostgres | null;
  /** Result files of async jobs: SPECTRA_STORAGE=fs (SPECTRA_RESULT_DIR or SPECTRA_HOME/results) or s3. */
  results: ResultStore;
  jobs: JobService;
  /** The Bulk API; null when the state store keeps no bulk jobs. */
  bulk: BulkService | null;
  /** Upload URLs served by the API itself (filesystem ResultStore); null when the store presigns its own. */
  bulkUploads: FsUploadUrls | null;
  /** Runs `fn` first on close (e.g. stop a worker before the pools it uses). */
  onClose(fn: () => Promise<void>): void;
  /** Metrics, tracer, audit trail, rate limits, query admission. */
  observability: Observability;
  close(): Promise<void>;
}

export interface BuildCoreOptions {
  /** Every AWS SDK client the core builds passes through it (the Lambda functions' tracer). */
  capture?: CaptureAwsClient;
  /** Runs the audit retention sweep in this process (default true): only where the role may delete audit entries. */
  auditSweep?: boolean;
}

export async function buildCore(config: Config, log: Logger, options: BuildCoreOptions = {}): Promise<Core> {
  // 0711: when running as root, PostgreSQL runs as the OS user postgres and must traverse the folder.
  await mkdir(config.home, { recursive: true, mode: 0o711 });
  const secrets = await loadOrCreateSecrets(config.home);
  const pepper = config.apiKeyPepper || secrets.apiKeyPepper;
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const fn of cleanups.splice(0).reverse())
      await fn().catch((e) => log.warn({ err: e }, 'shutdown step failed'));
  };

  try {
    const guardReady = initSqlGuard();
    let embedded: EmbeddedPostgres | null = null;
    let demoTenants: { tenantId: string; dbUser: string }[] = [];
    let warehouseConn: ConstructorParameters<typeof PostgresWarehouse>[0];
    let stateConn: ConstructorParameters<typeof PostgresStateStore>[0];
    let adminConn: ConstructorParameters<typeof PostgresTenantRoles>[0] | null = config.warehouseAdminUrl
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
        adminConn ??= {
          ...local,
          user: pg.superuser,
          password: pg.superuserPassword,
          database: boot.warehouseDb,
        };
    } else {
      warehouseConn = { connectionString: config.warehouseUrl, poolSize: config.warehousePoolSize };
      stateConn = { connectionString: config.stateUrl, poolSize: config.statePoolSize };
    }

    const metrics = createServiceMetrics(config);
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
    const pgWarehouse = warehouse instanceof PostgresWarehouse ? warehouse : null;
    const tenantRoles = adminConn ? new PostgresTenantRoles(adminConn) : null;
    if (tenantRoles) cleanups.push(() => tenantRoles.close());
    await guardReady;

    let credentials: DemoCredentials | null = null;
    if (embedded) {
      credentials = await ensureDemoTenants(state, {
        home: config.home,
        pepper,
        tenants: demoTenants,
        adminKey: () => issueAdminKey(state, pepper),
      });
    }

    const guardPolicy = defaultGuardPolicy({
      level: config.sqlSecurityLevel,
      maxLength: config.sqlMaxQueryLength,
      maxJoins: config.sqlMaxJoins,
      maxDepth: config.sqlMaxSubqueries,
      allowFunctions: config.sqlAllowFunctions,
      denyFunctions: config.sqlDenyFunctions,
      allowedSchemas: config.sqlAllowedSchemas,
      ...sqlDialects(config),
    });
    // One planning stage for every service: sync queries, async jobs and bulk exports share its cache.
    const planner = new Planner(guardPolicy, {
      threads: config.sqlPlannerThreads,
      offloadChars: config.sqlPlannerOffloadChars,
    });
    cleanups.push(() => planner.close());
    // The Data API has no connection pool to report.
    const poolStats = () => pgWarehouse?.poolStats ?? { total: 0, idle: 0, waiting: 0 };
    const observability = buildObservability(config, log, {
      auditSweep: options.auditSweep ?? true,
      metrics,
      state,
      warehouse: {
        get poolStats() {
          return poolStats();
        },
      },
    });
    cleanups.push(() => observability.close());
    const queries = new QueryService({
      warehouse,
      state,
      observer: observability.queryObserver,
      planner,
      limits: {
        defaultRows: config.queryDefaultRows,
        maxRows: config.queryMaxRows,
        defaultTimeoutSeconds: config.defaultTimeoutSeconds,
        maxTimeoutSeconds: config.maxTimeoutSeconds,
        jobRetentionDays: config.jobTtlDays,
        maxResultBytes: config.maxResultBytes || undefined,
      },
      resultMemory,
    });
    const results = await openResultStore(config, { urlSigningKey: secrets.urlSigningKey, capture });
    const jobs = new JobService({
      state,
      warehouse,
      results,
      planner,
      settings: {
        defaultTimeoutSeconds: config.jobDefaultTimeoutSeconds,
        maxTimeoutSeconds: config.jobMaxTimeoutSeconds,
        jobTtlDays: config.jobTtlDays,
        maxPageRows: 10_000,
        resultSizeThreshold: config.resultSizeThreshold,
        downloadUrlExpirySeconds: config.presignedUrlExpiry,
        parquetRowGroupRows: config.bulkParquetRowGroupRows,
      },
    });
    const bulkUploads =
      results instanceof FsResultStore ? new FsUploadUrls(results.signer, config.publicUrl) : null;
    const bulk = state.bulk
      ? new BulkService({
          state,
          warehouse,
          results,
          uploads: bulkUploads ?? { issue: (key, seconds) => results.signedUrl('PUT', key, seconds) },
          planner,
          settings: {
            jobTtlDays: config.bulkJobTtlDays,
            maxFileBytes: config.bulkMaxFileSizeMb * 1024 * 1024,
            timeoutSeconds: config.bulkJobTimeoutHours * 3600,
            urlExpirySeconds: config.presignedUrlExpiry,
          },
        })
      : null;
    const tenants = new TenantService({
      state,
      tenantRoles,
      pepper,
      dbUserTemplate: config.tenantDbUserTemplate,
      rotationGraceMs: config.apiKeyRotationGraceHours * 3_600_000,
    });
    const authenticate = openAuthenticator(config, state, pepper);
    const trustedHeader = createTrustedHeaderAuthenticator(state, {
      secret: config.trustedHeaderSecret || undefined,
      secretHeader: config.trustedHeaderSecretHeader,
      trustedProxies: config.trustedProxies,
    });

    return {
      config,
      log,
      secrets,
      pepper,
      warehouse,
      state,
      tenantRoles,
      planner,
      queries,
      tenants,
      authenticate,
      trustedHeader,
      credentials,
      embedded,
      observability,
      results,
      jobs,
      bulk,
      bulkUploads,
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

/** The service's own admin principal: a system tenant with no database role and only `admin:*`. */
export async function issueAdminKey(state: StateStore, pepper: string): Promise<IssuedKey> {
  if (!(await state.tenants.get(SYSTEM_TENANT_ID))) {
    const now = new Date().toISOString();
    await state.tenants
      .create({
        tenantId: SYSTEM_TENANT_ID,
        name: 'Spectra administration',
        dbUser: '-',
        dbGroups: [],
        status: 'active',
        defaultPermissions: ['admin:*'],
        createdAt: now,
        updatedAt: now,
      })
      .catch(() => {});
  }
  const issued = issueApiKey(pepper, SYSTEM_TENANT_ID, { permissions: ['admin:*'] });
  await state.apiKeys.create(issued.record);
  return issued;
}
