/**
 * HTTP metrics: one observation per response once it is fully written (or the client is gone) —
 * count by route pattern and status code, latency by route and status class, requests per tenant
 * (bounded label), and the bytes of data responses.
 */
import type { MiddlewareHandler } from 'hono';
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
      const cls = statusClass(status);
      const seconds = ((done?.endedAt ?? performance.now()) - startedAt) / 1000;
      metrics.httpRequests.inc({ method, route, status });
      metrics.httpDuration.observe({ method, route, status_class: cls }, seconds);
      const principal = c.get('principal');
      const rateClass = rateClassOf(method, c.req.path);
      if (principal && rateClass) {
        metrics.tenantRequests.inc({
          tenant: metrics.tenantLabel(principal.tenantId),
          class: rateClass,
          status_class: cls,
        });
      }
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
