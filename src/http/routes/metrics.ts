/**
 * `GET /metrics`: Prometheus text exposition of the process's metrics, with an `admin:*`
 * credential. (`--metrics-port` serves the same text without credentials on loopback:
 * runtime/metrics-server.ts.)
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { PROMETHEUS_CONTENT_TYPE, type ServiceMetrics } from '../../observability/service-metrics.js';
import type { AppEnv } from '../env.js';
import { requirePermission } from '../middleware/require-permission.js';
import { errorResponses } from '../schemas.js';

export function registerMetricsRoute(
  app: OpenAPIHono<AppEnv>,
  deps: { metrics: ServiceMetrics; authenticate: MiddlewareHandler<AppEnv> },
): void {
  const route = createRoute({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tags: ['System'],
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    description: 'Needs an `admin:*` credential. The catalogue of families is in docs/operations.md.',
    security: [{ bearer: [] }],
    middleware: [deps.authenticate, requirePermission('admin:*')] as const,
    responses: {
      200: {
        description: 'Metrics in the Prometheus text format',
        content: { 'text/plain': { schema: z.string() } },
      },
      ...errorResponses(401, 403),
    },
  });
  app.openapi(route, async (c) =>
    c.text(await deps.metrics.render(), 200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE }),
  );
}
