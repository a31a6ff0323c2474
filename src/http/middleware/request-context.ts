/**
 * Per-request context: a child logger bound to the request id and trace id (`c.get('log')`), a
 * server span continuing the caller's W3C `traceparent` (child spans for the Server-Timing phases
 * and the delivery), the `traceparent` response header, and a `done` promise that settles when
 * the response is fully written or the client went away — with the bytes written; all of it is
 * the request scope, `c.get('scope')` (observability/request-scope.ts). Ends with one access-log
 * line per request.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../domain/errors.js';
import type { Logger } from '../../observability/logger.js';
import { RequestLog } from '../../observability/request-log.js';
import type { RequestScope, ResponseDone } from '../../observability/request-scope.js';
import { epochMs, formatTraceparent, parseTraceparent, type Tracer } from '../../observability/tracing.js';
import type { AppEnv } from '../env.js';
import { routeLabel } from '../route-class.js';

export interface RequestContextOptions {
  log: Logger;
  tracer: Tracer;
  /** One info line per request (`request completed`); off = only errors and warnings. */
  accessLog: boolean;
}

export function requestContext(opts: RequestContextOptions): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const startedAt = performance.now();
    const requestId = c.get('requestId');
    const parent = parseTraceparent(c.req.header('traceparent'));
    const span = opts.tracer.startSpan(`${c.req.method} ${c.req.path}`, { parent, kind: 'server' });
    const log = new RequestLog(opts.log, { request_id: requestId, trace_id: span.context.traceId });
    c.set('log', log);
    const traceparent = formatTraceparent(span.context);
    c.header('traceparent', traceparent);

    const timings = c.get('timings');
    if (span.recording && timings) {
      timings.onPhase = (name, ms) => {
        opts.tracer.startSpan(name, { parent: span.context, startMs: epochMs() - ms }).end();
      };
    }

    const outgoing = c.env?.outgoing;
    const socket = outgoing?.socket ?? null;
    const bytesBefore = socket?.bytesWritten ?? 0;
    let settle!: (done: ResponseDone) => void;
    const done = new Promise<ResponseDone>((resolve) => {
      settle = resolve;
    });
    if (outgoing) {
      outgoing.once('close', () =>
        settle({
          finished: outgoing.writableFinished,
          bytes: socket ? socket.bytesWritten - bytesBefore : null,
          endedAt: performance.now(),
        }),
      );
    }
    const scope: RequestScope = {
      requestId,
      startedAt,
      receivedAt: new Date(),
      log,
      span,
      query: {},
      done,
    };
    c.set('scope', scope);

    try {
      await next();
    } finally {
      if (!outgoing) settle({ finished: true, bytes: null, endedAt: performance.now() });
    }
    if (!c.res.headers.has('traceparent')) {
      try {
        // A handler that built its own Response (streams) did not get the header set above.
        c.res.headers.set('traceparent', traceparent);
      } catch {
        // Immutable headers: the response goes out without it.
      }
    }
    const handlerDone = epochMs();
    const route = routeLabel(c);
    const status = c.res.status;
    const errorCode = scope.query.errorCode ?? (c.error instanceof ApiError ? c.error.code : undefined);
    void done.then((d) => {
      if (span.recording) {
        opts.tracer.startSpan('deliver', { parent: span.context, startMs: handlerDone }).end();
        span.updateName(`${c.req.method} ${route}`);
        span.setAttribute('http.request.method', c.req.method);
        span.setAttribute('http.route', route);
        span.setAttribute('http.response.status_code', status);
        span.setAttribute('spectra.request_id', requestId);
        const tenant = c.get('principal')?.tenantId;
        if (tenant) span.setAttribute('spectra.tenant_id', tenant);
        if (scope.query.jobId) span.setAttribute('spectra.job_id', scope.query.jobId);
        if (status >= 500 || !d.finished) span.setError(d.finished ? `HTTP ${status}` : 'client closed');
      }
      span.end();
      if (scope.query.jobId) log.bind({ job_id: scope.query.jobId });
      if (opts.accessLog || status >= 500) {
        const fields = {
          method: c.req.method,
          route,
          status,
          duration_ms: Math.round((d.endedAt - startedAt) * 100) / 100,
          bytes: d.bytes,
          ...(d.finished ? {} : { aborted: true }),
          ...(errorCode ? { error_code: errorCode } : {}),
        };
        if (status >= 500) log.warn(fields, 'request failed');
        else log.info(fields, 'request completed');
      }
    });
  };
}
