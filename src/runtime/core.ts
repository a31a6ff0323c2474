/**
 * Composition root of the HTTP app on Node (serve, tests, bench) and of the API function: the ports
 * (ports.ts) plus the planner, the services, the authenticators and observability. The job workers
 * build on the ports alone (worker.ts). Only runtime/ knows the adapters.
 */
import { type IssuedKey, issueApiKey } from '../auth/api-key.js';
import { createTrustedHeaderAuthenticator, type TrustedHeaderAuthenticate } from '../auth/trusted-header.js';
import type { Config } from '../config/index.js';
import { sqlDialects } from '../config/sections/sql.js';
import type { Authenticate } from '../domain/principal.js';
import type { Logger } from '../observability/logger.js';
import { BulkService } from '../services/bulk-lifecycle.js';
import { JobService } from '../services/job-service.js';
import { QueryService } from '../services/query-service.js';
import { SYSTEM_TENANT_ID, TenantService } from '../services/tenant-service.js';
import { defaultGuardPolicy, initSqlGuard, Planner } from '../sql/index.js';
import type { StateStore } from '../state/port.js';
import { FsResultStore } from '../storage/fs/index.js';
import { FsUploadUrls } from '../storage/fs/upload-urls.js';
import type { TenantRoles } from '../warehouse/port.js';
import { PostgresWarehouse } from '../warehouse/postgres/index.js';
import { PostgresTenantRoles } from '../warehouse/postgres/tenant-roles.js';
import { openAuthenticator } from './authenticator.js';
import { type DemoCredentials, ensureDemoTenants } from './demo.js';
import { buildObservability, type Observability } from './observability.js';
import { type OpenPortsOptions, openPorts, type Ports } from './ports.js';

export interface Core extends Ports {
  pepper: string;
  tenantRoles: TenantRoles | null;
  /** The planning stage every service shares (its guard policy, plan cache, planner threads). */
  planner: Planner;
  queries: QueryService;
  tenants: TenantService;
  authenticate: Authenticate;
  trustedHeader: TrustedHeaderAuthenticate;
  /** Embedded shape with demo data: what credentials.json holds. */
  credentials: DemoCredentials | null;
  jobs: JobService;
  /** The Bulk API; null when the state store keeps no bulk jobs. */
  bulk: BulkService | null;
  /** Upload URLs served by the API itself (filesystem ResultStore); null when the store presigns its own. */
  bulkUploads: FsUploadUrls | null;
  /** Metrics, tracer, audit trail, rate limits, query admission. */
  observability: Observability;
}

/** The ports plus what the HTTP app serves from them: planner, services, authenticators, observability. */
export async function buildCore(config: Config, log: Logger, options: OpenPortsOptions = {}): Promise<Core> {
  // Loads the parser's WASM while the ports open.
  const guardReady = initSqlGuard();
  const ports = await openPorts(config, log, options);
  try {
    const { state, warehouse, results, metrics, resultMemory, secrets } = ports;
    const pepper = config.apiKeyPepper || secrets.apiKeyPepper;
    const pgWarehouse = warehouse instanceof PostgresWarehouse ? warehouse : null;
    const tenantRoles = ports.warehouseAdmin ? new PostgresTenantRoles(ports.warehouseAdmin) : null;
    if (tenantRoles) ports.onClose(() => tenantRoles.close());
    await guardReady;

    const credentials = ports.embedded
      ? await ensureDemoTenants(state, {
          home: config.home,
          pepper,
          tenants: ports.demoTenants,
          adminKey: () => issueAdminKey(state, pepper),
        })
      : null;

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
    ports.onClose(() => planner.close());
    // The Data API has no connection pool to report.
    const poolStats = () => pgWarehouse?.poolStats ?? { total: 0, idle: 0, waiting: 0 };
    const observability = buildObservability(config, log, {
      metrics,
      state,
      warehouse: {
        get poolStats() {
          return poolStats();
        },
      },
    });
    ports.onClose(() => observability.close());
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
      ...ports,
      pepper,
      tenantRoles,
      planner,
      queries,
      tenants,
      authenticate,
      trustedHeader,
      credentials,
      observability,
      jobs,
      bulk,
      bulkUploads,
    };
  } catch (e) {
    await ports.close();
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
