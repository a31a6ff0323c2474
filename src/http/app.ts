/**
 * The Hono application: middleware order is request id → timing → body limit → (for /v1) auth →
 * route (permission, validation, handler). Every failure leaves through `onError` as the one
 * error envelope (API.md "Errors"); unknown routes are 404 and known paths with the wrong method 405.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { TrustedHeaderAuthenticate } from '../auth/trusted-header.js';
import { ApiError, errorBody } from '../domain/errors.js';
import type { QueryService } from '../services/query-service.js';
import type { TenantService } from '../services/tenant-service.js';
import type { StateStore } from '../state/port.js';
import type { AppEnv } from './env.js';
import { type Authenticate, authenticate } from './middleware/authenticate.js';
import { requestId } from './middleware/request-id.js';
import { serverTiming } from './middleware/server-timing.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerJobRoutes } from './routes/jobs.js';
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
  readiness: ReadinessCheck[];
  isShuttingDown?: () => boolean;
  /** Called with unexpected errors (500s) for logging; never with client mistakes. */
  onInternalError?: (err: unknown, requestId: string) => void;
}

export function errorResponse(c: Context<AppEnv>, err: ApiError): Response {
  const requestId = c.get('requestId') ?? crypto.randomUUID();
  const headers: Record<string, string> = { 'X-Request-ID': requestId };
  if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.retryAfterSeconds);
  const wwwAuth = c.res.headers.get('WWW-Authenticate');
  if (wwwAuth) headers['WWW-Authenticate'] = wwwAuth;
  return c.json(errorBody(err, requestId), err.status as 400, headers);
}

/** Translate a zod issue path + message into our INVALID_REQUEST details. */
function validationError(
  issues: { path: PropertyKey[]; message: string; code?: string }[],
  target: string,
): ApiError {
  const first = issues[0];
  const field = first?.path.map(String).join('.') || target;
  const message = first ? `${field}: ${first.message}` : `invalid ${target}`;
  return new ApiError('INVALID_REQUEST', message, {
    field,
    issues: issues.slice(0, 10).map((i) => ({ field: i.path.map(String).join('.'), message: i.message })),
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

  app.use('*', requestId());
  app.use('*', serverTiming());
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw new ApiError('PAYLOAD_TOO_LARGE', `request body is larger than ${deps.maxBodyBytes} bytes`, {
          max_bytes: deps.maxBodyBytes,
        });
      },
    }),
  );
  app.use(
    '/v1/*',
    authenticate(
      deps.authenticate,
      deps.trustedHeader && { verify: deps.trustedHeader, remoteAddress: deps.remoteAddress },
    ),
  );

  registerSystemRoutes(app, {
    version: deps.version,
    checks: deps.readiness,
    isShuttingDown: deps.isShuttingDown ?? (() => false),
  });
  registerQueryRoutes(app, { queries: deps.queries });
  registerJobRoutes(app, { state: deps.state });
  if (deps.tenants) registerAdminRoutes(app, { tenants: deps.tenants });

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
