/**
 * Schema discovery: `GET /v1/catalog/tables` lists the tables and views the caller's tenant can
 * read, `GET /v1/catalog/tables/{name}` describes one. HTTP ⇄ CatalogService; what is readable is
 * decided by the warehouse for the tenant's database user, and anything else is 404.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { CatalogService } from '../../services/catalog-service.js';
import type { CatalogTable } from '../../warehouse/port.js';
import type { AppEnv } from '../env.js';
import { requirePermission } from '../middleware/require-permission.js';
import { errorResponses } from '../schemas.js';

export const CatalogColumnSchema = z
  .object({
    name: z.string(),
    type: z.string().openapi({
      description: 'Redshift type name, as `metadata.column_types` of a query names it.',
      example: 'DECIMAL(12,2)',
    }),
    nullable: z.boolean(),
  })
  .openapi('CatalogColumn');

export const CatalogTableSchema = z
  .object({
    schema: z.string().openapi({ example: 'public' }),
    name: z.string().openapi({ example: 'sales' }),
    kind: z.enum(['table', 'view', 'materialized_view']),
    columns: z.array(CatalogColumnSchema),
    primary_key: z
      .array(z.string())
      .openapi({ description: 'Primary key columns in key order; empty when the table has none.' }),
    row_estimate: z.number().int().nullable().openapi({
      description:
        'The planner’s row count; null for views, tables under row-level security (it would count other tenants’ rows) and on Redshift.',
    }),
    description: z.string().nullable().openapi({ description: 'The table’s comment (`COMMENT ON TABLE`).' }),
  })
  .openapi('CatalogTable');

export const CatalogTableListSchema = z
  .object({ tables: z.array(CatalogTableSchema) })
  .openapi('CatalogTableList');

const TableNameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(255)
    .openapi({
      param: { name: 'name', in: 'path' },
      description: '`table` or `schema.table`; an unqualified name prefers the `public` schema.',
      example: 'sales',
    }),
});

const listTables = createRoute({
  method: 'get',
  path: '/v1/catalog/tables',
  operationId: 'listCatalogTables',
  tags: ['Catalog'],
  summary: 'List the tables the caller can read',
  description:
    'Every table and view the tenant’s database user may SELECT from (system schemas excluded), with its columns. ' +
    'Read from the warehouse’s catalog as that user and cached per tenant for SPECTRA_CATALOG_CACHE_SECONDS.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('catalog:read')] as const,
  responses: {
    200: {
      description: 'The readable tables',
      content: { 'application/json': { schema: CatalogTableListSchema } },
    },
    ...errorResponses(401, 403, 429, 503),
  },
});

const getTable = createRoute({
  method: 'get',
  path: '/v1/catalog/tables/{name}',
  operationId: 'getCatalogTable',
  tags: ['Catalog'],
  summary: 'Describe one table the caller can read',
  description: 'A table that does not exist and one the caller cannot read are the same 404 NOT_FOUND.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('catalog:read')] as const,
  request: { params: TableNameParam },
  responses: {
    200: { description: 'The table', content: { 'application/json': { schema: CatalogTableSchema } } },
    ...errorResponses(400, 401, 403, 404, 429, 503),
  },
});

export function catalogTableView(t: CatalogTable) {
  return {
    schema: t.schema,
    name: t.name,
    kind: t.kind,
    columns: t.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
    primary_key: t.primaryKey,
    row_estimate: t.rowEstimate,
    description: t.description,
  };
}

export function registerCatalogRoutes(app: OpenAPIHono<AppEnv>, deps: { catalog: CatalogService }): void {
  app.openapi(listTables, async (c) => {
    const tables = await deps.catalog.list(c.get('principal'));
    return c.json({ tables: tables.map(catalogTableView) }, 200);
  });

  app.openapi(getTable, async (c) => {
    const table = await deps.catalog.get(c.get('principal'), c.req.valid('param').name);
    return c.json(catalogTableView(table), 200);
  });
}
