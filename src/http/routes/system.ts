/** Unversioned routes: health, readiness, the OpenAPI document and its interactive docs page. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env.js';
import { HealthSchema, ReadySchema } from '../schemas.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const health = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  tags: ['System'],
  summary: 'Liveness',
  responses: {
    200: { description: 'The process is up', content: { 'application/json': { schema: HealthSchema } } },
  },
});

const ready = createRoute({
  method: 'get',
  path: '/ready',
  operationId: 'getReadiness',
  tags: ['System'],
  summary: 'Readiness: the warehouse and the state store answer',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: ReadySchema } } },
    503: { description: 'Not ready', content: { 'application/json': { schema: ReadySchema } } },
  },
});

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Redshift Spectra API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body></html>`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });`;
const DOCS_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

export function registerSystemRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: { version: string; checks: ReadinessCheck[]; isShuttingDown: () => boolean },
): void {
  app.openapi(health, (c) =>
    c.json({ status: 'healthy', service: 'redshift-spectra', version: deps.version }, 200),
  );

  app.openapi(ready, async (c) => {
    const checks: Record<string, string> = {};
    let ok = !deps.isShuttingDown();
    if (!ok) checks.server = 'shutting down';
    await Promise.all(
      deps.checks.map(async (chk) => {
        try {
          await chk.check();
          checks[chk.name] = 'ok';
        } catch (e) {
          ok = false;
          checks[chk.name] = e instanceof Error ? e.message : 'unavailable';
        }
      }),
    );
    return c.json({ status: ok ? ('ready' as const) : ('not_ready' as const), checks }, ok ? 200 : 503);
  });

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Redshift Spectra API',
      version: deps.version,
      description:
        'Multi-tenant REST API over a SQL data warehouse. Every statement runs as the tenant’s database user; row-level security decides what each tenant sees.',
    },
    servers: [{ url: '/' }],
    // Generators and /docs list operations in this order: the data paths first, operations last.
    tags: [
      {
        name: 'Queries',
        description: 'Run SQL as the tenant: rows inline, streamed (NDJSON, CSV), or as an async job.',
      },
      { name: 'Jobs', description: 'Every query is a job: poll, page or download results, cancel.' },
      { name: 'Bulk', description: 'Salesforce-style bulk exports and imports.' },
      { name: 'Catalog', description: 'Schema discovery: the tables and columns the tenant can read.' },
      { name: 'Admin', description: 'Tenants, API keys and the audit trail (`admin:*`).' },
      { name: 'System', description: 'Identity, health, readiness and metrics.' },
    ],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key `spk_<tenant>_<secret>` or a JWT.',
  });

  app.get('/docs', (c) => c.html(DOCS_PAGE));
  app.get('/docs/assets/init.js', (c) =>
    c.body(DOCS_INIT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
  );
  const assetDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = DOCS_ASSETS[file];
    if (!type) return c.notFound();
    const body = await readFile(path.join(assetDir, file));
    return c.body(body, 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' });
  });
}
