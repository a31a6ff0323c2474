/**
 * The audit trail: one entry per authenticated `/v1` request that got past the rate limits, built
 * when its response is fully written (or the client is gone) and handed to the AuditWriter, which
 * stores it off the request path. What the query pipeline learnt (job, SQL fingerprint, deparsed
 * SQL, parameter names, rows) comes from the request scope; parameter values and credentials never
 * enter an entry.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { type AuditOutcome, newAuditEntryId } from '../../domain/audit-entry.js';
import { ApiError } from '../../domain/errors.js';
import type { AuditWriter } from '../../observability/audit-writer.js';
import type { ResponseDone } from '../../observability/request-scope.js';
import type { AppEnv } from '../env.js';
import { routeLabel } from '../route-class.js';

export interface AuditTrailOptions {
  writer: AuditWriter;
  /** SPECTRA_AUDIT_ON_OVERFLOW=reject: refuse requests (503) while the buffer is full instead of dropping entries. */
  rejectWhenFull: boolean;
  remoteAddress?: ((c: Context<AppEnv>) => string | undefined) | undefined;
}

/** Job and bulk-job routes name their job in the path. */
function jobIdFromPath(c: Context<AppEnv>, route: string): string | null {
  if (!route.includes('/:id') || !(route.startsWith('/v1/jobs/') || route.startsWith('/v1/bulk/jobs/')))
    return null;
  return c.req.param('id') ?? null;
}

export function auditTrail(opts: AuditTrailOptions): MiddlewareHandler<AppEnv> {
  return async function auditTrailMiddleware(c, next) {
    const principal = c.get('principal');
    if (!principal) return next();
    if (opts.rejectWhenFull && opts.writer.full) {
      throw new ApiError(
        'WAREHOUSE_UNAVAILABLE',
        'the audit trail cannot be written right now; retry later',
        { reason: 'audit_backlog' },
        5,
      );
    }
    const scope = c.get('scope');
    const receivedAt = scope?.receivedAt ?? new Date();
    const startedAt = scope?.startedAt ?? performance.now();
    await next();
    const method = c.req.method;
    const route = routeLabel(c);
    const status = c.res.status;
    const httpError = c.error instanceof ApiError ? c.error.code : status >= 500 ? 'INTERNAL_ERROR' : null;
    // Async submissions and new bulk jobs name the job in `Location`; job routes in the path.
    const location = /^\/v1\/(?:bulk\/)?jobs\/([^/?]+)$/.exec(c.res.headers.get('location') ?? '')?.[1];
    const pathJobId = location ?? jobIdFromPath(c, route);
    let clientIp: string | null = null;
    try {
      clientIp = opts.remoteAddress?.(c) ?? null;
    } catch {
      // No connection info (in-process requests in tests).
    }
    const write = (done: ResponseDone | undefined) => {
      const q = scope?.query ?? {};
      const finished = done?.finished ?? true;
      const failedJob = q.jobStatus !== undefined && q.jobStatus !== 'COMPLETED';
      const outcome: AuditOutcome = !finished ? 'aborted' : status >= 400 || failedJob ? 'error' : 'success';
      opts.writer.record({
        entryId: newAuditEntryId(receivedAt.getTime()),
        at: receivedAt.toISOString(),
        requestId: c.get('requestId'),
        traceId: scope?.span.context.traceId ?? null,
        tenantId: principal.tenantId,
        principal: principal.credentialId,
        authMethod: principal.authMethod,
        method,
        route,
        status,
        outcome,
        errorCode: q.errorCode ?? httpError,
        jobId: q.jobId ?? pathJobId,
        sqlFingerprint: q.fingerprint ?? null,
        sql: q.sql ?? null,
        paramNames: q.paramNames ?? [],
        rowCount: q.rowCount ?? null,
        bytes: done?.bytes ?? null,
        durationMs: Math.round(((done?.endedAt ?? performance.now()) - startedAt) * 100) / 100,
        clientIp,
      });
    };
    if (scope) void scope.done.then(write);
    else write(undefined);
  };
}
