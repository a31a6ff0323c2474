/**
 * Which rate-limit class a `/v1` request belongs to (API.md "Common headers"; docs/operations.md
 * "Rate limits"), and the route pattern Hono matched — the bounded label metrics, logs and audit
 * entries use instead of the raw path.
 */
import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { RateClass } from '../domain/rate-limit.js';

export function rateClassOf(method: string, path: string): RateClass | null {
  if (path === '/v1/queries' || path.startsWith('/v1/queries/')) return 'queries';
  if (path === '/v1/jobs' || path.startsWith('/v1/jobs/')) return 'job_reads';
  // Catalog and identity reads are cheap reads like job polls (the catalog is cached per tenant).
  if (path.startsWith('/v1/catalog/') || path === '/v1/me') return 'job_reads';
  if (path === '/v1/bulk/jobs' && method === 'POST') return 'bulk_creates';
  if (path.startsWith('/v1/bulk/')) return 'bulk_reads';
  if (path.startsWith('/v1/admin/')) return 'admin';
  return null;
}

const labels = new WeakMap<Context, string>();

/** The path pattern of the route that answered (`/v1/jobs/:id`), or `unmatched`; call after `next()`. */
export function routeLabel(c: Context): string {
  let label = labels.get(c);
  if (label === undefined) {
    label = 'unmatched';
    const routes = matchedRoutes(c);
    for (let i = routes.length - 1; i >= 0; i--) {
      const r = routes[i]!;
      if (r.method !== 'ALL') {
        label = r.path;
        break;
      }
    }
    labels.set(c, label);
  }
  return label;
}
