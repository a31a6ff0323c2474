/**
 * HTTP metrics: one observation per response once it is fully written (or the client is gone) —
 * count by route pattern and status code, latency by route and status class, requests per tenant
 * (bounded label), and the bytes of data responses.
 */
import type { MiddlewareHandler } from 'hono';
import type { RateClass } from '../../domain/rate-limit.js';
import type { ResponseDone } from '../../observability/request-scope.js';
import { type ServiceMetrics, statusClass } from '../../observability/service-metrics.js';
import type { AppEnv } from '../env.js';
import { rateClassOf, routeLabel } from '../route-class.js';

/** Routes whose response body is result data (`spectra_result_bytes_total{sink="http"}`). */
const isResultRoute = (route: string) =>
  route === '/v1/queries' ||
  route.endsWith('/results') ||
  route.endsWith('/failed-results') ||
  route.startsWith('/v1/downloads/');

/** What one finished response counts in: requests by route and status, latency, the tenant's requests. */
export function observeResponse(
  metrics: ServiceMetrics,
  r: {
    method: string;
    route: string;
    status: number;
    seconds: number;
    tenantId?: string | undefined;
    rateClass: RateClass | null;
  },
): void {
  const cls = statusClass(r.status);
  metrics.httpRequests.inc({ method: r.method, route: r.route, status: r.status });
  metrics.httpDuration.observe({ method: r.method, route: r.route, status_class: cls }, r.seconds);
  if (r.tenantId !== undefined && r.rateClass) {
    metrics.tenantRequests.inc({
      tenant: metrics.tenantLabel(r.tenantId),
      class: r.rateClass,
      status_class: cls,
    });
  }
}

export function httpMetrics(metrics: ServiceMetrics): MiddlewareHandler<AppEnv> {
  return async function httpMetricsMiddleware(c, next) {
    const startedAt = performance.now();
    metrics.httpInFlight.inc();
    try {
      await next();
    } catch (e) {
      metrics.httpInFlight.inc(undefined, -1);
      throw e;
    }
    const method = c.req.method;
    const route = routeLabel(c);
    const status = c.res.status;
    const record = (done: ResponseDone | undefined) => {
      metrics.httpInFlight.inc(undefined, -1);
      observeResponse(metrics, {
        method,
        route,
        status,
        seconds: ((done?.endedAt ?? performance.now()) - startedAt) / 1000,
        tenantId: c.get('principal')?.tenantId,
        rateClass: rateClassOf(method, c.req.path),
      });
      if (done?.bytes && status < 300 && isResultRoute(route)) {
        metrics.resultBytes.inc({ sink: 'http' }, done.bytes);
        metrics.resultSize.observe(undefined, done.bytes);
      }
    };
    const done = c.get('scope')?.done;
    if (done) void done.then(record);
    else record(undefined);
  };
}
