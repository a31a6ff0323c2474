/**
 * The Hono application: middleware order is request id → timing → CORS (preflights answered here) → request context (logger, trace,
 * access log) → metrics → input boundary (path, query, headers) → body limit → (for /v1) auth →
 * rate limit → audit → input boundary (JSON body) → (sync queries) admission → route (permission, validation, handler). Every failure leaves through `onError` as the one
 * error envelope (API.md "Errors"); unknown routes are 404 and known paths with the wrong method 405.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { TrustedHeaderAuthenticate } from '../auth/trusted-header.js';
import { ApiError, errorBody } from '../domain/errors.js';
import type { AuditWriter } from '../observability/audit-writer.js';
import type { Logger } from '../observability/logger.js';
import type { ServiceMetrics } from '../observability/service-metrics.js';
import type { Tracer } from '../observability/tracing.js';
import type { AuditService } from '../services/audit-service.js';
import type { CatalogService } from '../services/catalog-service.js';
import type { JobService } from '../services/job-service.js';
import type { QueryAdmission } from '../services/query-admission.js';
import type { QueryService } from '../services/query-service.js';
import type { RateLimiter } from '../services/rate-limiter.js';
import type { TenantService } from '../services/tenant-service.js';
import type { StateStore } from '../state/port.js';
import type { AppEnv } from './env.js';
import { auditTrail } from './middleware/audit.js';
import { type Authenticate, authenticate } from './middleware/authenticate.js';
import { bindPrincipal } from './middleware/bind-principal.js';
import { concurrencyLimit } from './middleware/concurrency.js';
import { cors } from './middleware/cors.js';
import { jsonBodyBoundary, requestLineBoundary } from './middleware/input-boundary.js';
import { httpMetrics } from './middleware/metrics.js';
import { rateLimit } from './middleware/rate-limit.js';
import { requestContext } from './middleware/request-context.js';
import { requestId } from './middleware/request-id.js';
import { serverTiming } from './middleware/server-timing.js';
import { documentRateLimitHeaders } from './openapi-headers.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerAuditRoutes } from './routes/admin-audit.js';
import {
  type BulkRouteDeps,
  type BulkUploadRouteDeps,
  registerBulkRoutes,
  registerBulkUploadRoute,
} from './routes/bulk.js';
import { registerCatalogRoutes } from './routes/catalog.js';
import { registerConsoleRoutes } from './routes/console.js';
import { type DownloadDeps, registerDownloadRoutes } from './routes/downloads.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerMeRoute } from './routes/me.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerQueryRoutes } from './routes/queries.js';
import { type ReadinessCheck, registerSystemRoutes } from './routes/system.js';

export interface AppDeps {
  version: string;
  maxBodyBytes: number;
  authenticate: Authenticate;
  /** Internal deployments: header auth for requests without `Authorization` (off unless configured). */
  trustedHeader?: TrustedHeaderAuthenticate | undefined;
  remoteAddress?: ((c: Context<AppEnv>) => string | undefined) | undefined;
  queries: QueryService;
  tenants?: TenantService | undefined;
  state: StateStore;
  /** Async jobs; without it `"async": true` is refused and job results/cancel are not routed. */
  jobs?: JobService | undefined;
  /** Signed-URL downloads served by the API (filesystem ResultStore). */
  downloads?: DownloadDeps | undefined;
  /** Idempotency-key handling for POSTs (middleware/idempotency.ts). */
  idempotency?: MiddlewareHandler<AppEnv> | undefined;
  /** The Bulk API; without it its routes are not registered. */
  bulk?: BulkRouteDeps | undefined;
  /** Signed bulk uploads served by the API (filesystem ResultStore). */
  bulkUploads?: BulkUploadRouteDeps | undefined;
  /** Browser origins answered with CORS headers (`*` = any); empty or absent = none. */
  corsOrigins?: readonly string[] | undefined;
  /** Schema discovery (`/v1/catalog/…`); without it those routes are not registered. */
  catalog?: CatalogService | undefined;
  readiness: ReadinessCheck[];
  isShuttingDown?: () => boolean;
  /** Called with unexpected errors (500s) for logging; never with client mistakes. */
  onInternalError?: (err: unknown, requestId: string) => void;
  /** Logs, traces, metrics, audit trail, rate limits, overload protection (docs/operations.md). */
  operability?: Operability | undefined;
}

export interface Operability {
  log: Logger;
  tracer: Tracer;
  accessLog: boolean;
  metrics: ServiceMetrics | null;
  rateLimiter: RateLimiter;
  admission: QueryAdmission;
  auditWriter: AuditWriter | null;
  /** SPECTRA_AUDIT_ON_OVERFLOW=reject. */
  auditRejectWhenFull: boolean;
  audit: AuditService;
}

export function errorResponse(c: Context<AppEnv>, err: ApiError): Response {
  const requestId = c.get('requestId') ?? crypto.randomUUID();
  const headers: Record<string, string> = { 'X-Request-ID': requestId };
  if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.retryAfterSeconds);
  // Headers set earlier with c.header() (WWW-Authenticate) are carried into c.json's response by
  // Hono. Reading c.res here would build a default response that Hono then copies into a full
  // web Response with streams, on every refusal (measured: ~2 % of the server's CPU under overload).
  return c.json(errorBody(err, requestId), err.status as 400, headers);
}

/** Translate a zod issue path + message into our INVALID_REQUEST details. */
function validationError(
  issues: { path: PropertyKey[]; message: string; code?: string; keys?: string[] }[],
  target: string,
): ApiError {
  // An unknown key is reported at its parent's path; name the key itself, as for any other field.
  const fieldOf = (i: (typeof issues)[number]) =>
    [...i.path.map(String), ...(i.code === 'unrecognized_keys' && i.keys?.length ? [i.keys[0]!] : [])].join(
      '.',
    );
  const first = issues[0];
  const field = (first && fieldOf(first)) || target;
  const message = first ? `${field}: ${first.message}` : `invalid ${target}`;
  return new ApiError('INVALID_REQUEST', message, {
    field,
    issues: issues.slice(0, 10).map((i) => ({ field: fieldOf(i), message: i.message })),
  });
}

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(result.error.issues, (result as { target?: string }).target ?? 'request');
      }
      return undefined;
    },
  });

  const ops = deps.operability;
  app.use('*', requestId());
  app.use('*', serverTiming());
  // Before everything that can refuse a request: a preflight carries no credential.
  if (deps.corsOrigins?.length) app.use('*', cors({ origins: deps.corsOrigins }));
  if (ops) app.use('*', requestContext({ log: ops.log, tracer: ops.tracer, accessLog: ops.accessLog }));
  if (ops?.metrics) app.use('*', httpMetrics(ops.metrics));
  app.use('*', requestLineBoundary());
  // Before the body limit (uploads) and authentication: a signed URL is its own credential.
  if (deps.downloads) registerDownloadRoutes(app, deps.downloads);
  if (deps.bulkUploads) registerBulkUploadRoute(app, deps.bulkUploads);
  const limitStreamedBody = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: (c) => {
      // The unread rest of the body makes this connection unusable: the client must not reuse it.
      c.header('Connection', 'close');
      return errorResponse(
        c,
        new ApiError('PAYLOAD_TOO_LARGE', `request body is larger than ${deps.maxBodyBytes} bytes`, {
          max_bytes: deps.maxBodyBytes,
        }),
      );
    },
  });
  // Hono's bodyLimit reads `c.req.raw.body`, which builds a web Request and stream per request (~8 %
  // of a small query's CPU, docs/benchmarks.md): a declared Content-Length is checked without it.
  app.use('/v1/*', function bodyLimitByLength(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined)
      return limitStreamedBody(c, next);
    if (Number.parseInt(length, 10) > deps.maxBodyBytes) return limitStreamedBody(c, next);
    return next();
  });
  app.use(
    '/v1/*',
    authenticate(
      deps.authenticate,
      deps.trustedHeader && { verify: deps.trustedHeader, remoteAddress: deps.remoteAddress },
    ),
  );
  if (ops) {
    app.use('/v1/*', bindPrincipal());
    if (ops.rateLimiter.enabled) {
      const { metrics } = ops;
      app.use(
        '/v1/*',
        rateLimit({ limiter: ops.rateLimiter, onRefused: (cls) => metrics?.rateLimited.inc({ class: cls }) }),
      );
    }
    if (ops.auditWriter) {
      app.use(
        '/v1/*',
        auditTrail({
          writer: ops.auditWriter,
          rejectWhenFull: ops.auditRejectWhenFull,
          remoteAddress: deps.remoteAddress,
        }),
      );
    }
  }
  app.use('/v1/*', jsonBodyBoundary());
  if (ops) app.use('/v1/queries', concurrencyLimit({ admission: ops.admission }));

  registerSystemRoutes(app, {
    version: deps.version,
    checks: deps.readiness,
    isShuttingDown: deps.isShuttingDown ?? (() => false),
  });
  if (deps.idempotency) app.on('POST', ['/v1/queries', '/v1/bulk/jobs'], deps.idempotency);
  registerQueryRoutes(app, { queries: deps.queries, jobs: deps.jobs });
  registerJobRoutes(app, { state: deps.state, jobs: deps.jobs });
  if (deps.bulk) registerBulkRoutes(app, deps.bulk);
  if (deps.catalog) registerCatalogRoutes(app, { catalog: deps.catalog });
  if (deps.tenants) registerAdminRoutes(app, { tenants: deps.tenants });
  if (ops) registerAuditRoutes(app, { audit: ops.audit });
  registerMeRoute(app);
  if (ops?.metrics) {
    registerMetricsRoute(app, {
      metrics: ops.metrics,
      authenticate: authenticate(deps.authenticate),
    });
  }
  registerConsoleRoutes(app);
  documentRateLimitHeaders(app);

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path, c.req.method);
    if (allowed.length > 0) {
      c.header('Allow', allowed.join(', '));
      return errorResponse(
        c,
        new ApiError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}`, { allowed }),
      );
    }
    return errorResponse(c, new ApiError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`));
  });

  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (err instanceof HTTPException) {
      // Hono's own validators: malformed JSON, wrong content type.
      if (err.status === 415) {
        return errorResponse(
          c,
          new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json', {
            field: 'content-type',
            expected: 'application/json',
          }),
        );
      }
      const code =
        err.status === 413 ? 'PAYLOAD_TOO_LARGE' : err.status === 400 ? 'INVALID_REQUEST' : undefined;
      if (code) return errorResponse(c, new ApiError(code, err.message || 'malformed request'));
    }
    if (err instanceof SyntaxError)
      return errorResponse(c, new ApiError('INVALID_REQUEST', 'malformed JSON body'));
    deps.onInternalError?.(err, c.get('requestId'));
    return errorResponse(c, new ApiError('INTERNAL_ERROR', 'internal error'));
  });

  return app;
}

/** Methods registered for a path (used to answer 405 with `Allow`). */
function allowedMethods(app: OpenAPIHono<AppEnv>, path: string, method: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === 'ALL' || r.method === method) continue;
    if (routePattern(r.path).test(path)) methods.add(r.method);
  }
  return [...methods];
}

const patternCache = new Map<string, RegExp>();
function routePattern(routePath: string): RegExp {
  let re = patternCache.get(routePath);
  if (!re) {
    const src = routePath
      .split('/')
      .map((seg) =>
        seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    re = new RegExp(`^${src}/?$`);
    patternCache.set(routePath, re);
  }
  return re;
}
