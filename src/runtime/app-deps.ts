/** The HTTP app's dependencies from a core, shared by the Node server and the Lambda API handler. */
import type { AppDeps } from '../http/app.js';
import { idempotency } from '../http/middleware/idempotency.js';
import { CatalogService } from '../services/catalog-service.js';
import { FsResultStore } from '../storage/fs/index.js';
import type { Core } from './core.js';
import { VERSION } from './version.js';

/** Recorded responses larger than this go to the ResultStore (a DynamoDB item holds at most 400 KB). */
const IDEMPOTENT_INLINE_BODY_BYTES = 256 * 1024;

/**
 * The HTTP app's dependencies from a core: one composition for every runtime (Node server, Lambda).
 * `overrides` replace single entries, e.g. the Lambda's authorizer-context `authenticate`.
 */
export function appDepsFromCore(core: Core, overrides: Partial<AppDeps> = {}): AppDeps {
  const { config, log } = core;
  const ops = core.observability;
  return {
    version: VERSION,
    maxBodyBytes: config.maxBodyBytes,
    authenticate: core.authenticate,
    trustedHeader: core.trustedHeader,
    queries: core.queries,
    tenants: core.tenants,
    state: core.state,
    jobs: core.jobs,
    // S3 serves its own presigned URLs; only the filesystem store's are served by the API.
    downloads:
      core.results instanceof FsResultStore
        ? { store: core.results, signer: core.results.signer }
        : undefined,
    bulk: core.bulk ? { bulk: core.bulk } : undefined,
    catalog: catalogService(core),
    corsOrigins: config.corsOrigins,
    bulkUploads:
      core.bulk && core.bulkUploads
        ? {
            bulk: core.bulk,
            verify: core.bulkUploads.verify.bind(core.bulkUploads),
            maxFileBytes: config.bulkMaxFileSizeMb * 1024 * 1024,
          }
        : undefined,
    idempotency: idempotency({
      store: core.state.idempotency,
      ttlMs: config.idempotencyTtlHours * 3_600_000,
      waitMs: config.idempotencyWaitSeconds * 1000,
      // A first request still "in progress" after its longest possible run is taken as abandoned.
      lockMs: (Math.max(config.maxTimeoutSeconds, config.shutdownGraceSeconds) + 60) * 1000,
      maxInlineBodyBytes: IDEMPOTENT_INLINE_BODY_BYTES,
      spill: core.results,
    }),
    readiness: [
      { name: 'warehouse', check: () => core.warehouse.ping() },
      { name: 'state', check: () => core.state.ping() },
    ],
    operability: {
      log,
      tracer: ops.tracer,
      accessLog: config.accessLog,
      metrics: ops.metrics,
      rateLimiter: ops.rateLimiter,
      admission: ops.admission,
      auditWriter: ops.auditWriter,
      auditRejectWhenFull: config.auditOnOverflow === 'reject',
      audit: ops.audit,
    },
    onInternalError: (err, requestId) => log.error({ err, request_id: requestId }, 'internal error'),
    ...overrides,
  };
}

function catalogService(core: Core): CatalogService | undefined {
  const { warehouse, config } = core;
  if (!warehouse.listTables) return undefined;
  return new CatalogService(
    { listTables: (ctx) => warehouse.listTables!(ctx) },
    { ttlMs: config.catalogCacheSeconds * 1000, timeoutMs: config.defaultTimeoutSeconds * 1000 },
  );
}
