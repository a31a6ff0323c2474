/** Admin routes (`admin:*`): tenants and their API keys. */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { ApiKeyRecord, Tenant } from '../../domain/tenant.js';
import type { TenantService } from '../../services/tenant-service.js';
import type { AppEnv } from '../env.js';
import { requirePermission } from '../middleware/require-permission.js';
import { errorResponses } from '../schemas.js';

const TenantSchema = z
  .object({
    tenant_id: z.string(),
    name: z.string(),
    db_user: z.string(),
    status: z.enum(['active', 'suspended']),
    permissions: z.array(z.string()),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Tenant');

const KeySchema = z
  .object({
    key_id: z.string(),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    permissions: z.array(z.string()),
  })
  .openapi('ApiKey');

const CreateTenantSchema = z
  .object({
    tenant_id: z
      .string()
      .openapi({ example: 'newco', description: 'Lower-case letters, digits and hyphens.' }),
    name: z.string().min(1).max(200).optional(),
    db_user: z
      .string()
      .optional()
      .openapi({ description: 'Database role; default from SPECTRA_TENANT_DB_USER_TEMPLATE.' }),
    permissions: z.array(z.string()).optional().openapi({ description: 'Default permissions of its keys.' }),
  })
  .strict()
  .openapi('CreateTenant');

const CreateKeySchema = z
  .object({
    permissions: z.array(z.string()).optional(),
    expires_at: z.string().datetime({ offset: true }).nullable().optional(),
  })
  .strict()
  .openapi('CreateKey');

const TenantParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const KeyParam = TenantParam.extend({
  key_id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'key_id', in: 'path' } }),
});
const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional().default(50),
  cursor: z.string().max(500).optional(),
});

const tenantView = (t: Tenant) => ({
  tenant_id: t.tenantId,
  name: t.name,
  db_user: t.dbUser,
  status: t.status,
  permissions: t.defaultPermissions,
  created_at: t.createdAt,
  updated_at: t.updatedAt,
});
const keyView = (k: ApiKeyRecord) => ({
  key_id: k.keyId,
  created_at: k.createdAt,
  last_used_at: k.lastUsedAt,
  expires_at: k.expiresAt,
  revoked_at: k.revokedAt,
  permissions: k.permissions,
});

const admin = { tags: ['Admin'], security: [{ bearer: [] }], middleware: requirePermission('admin:*') };
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const routes = {
  createTenant: createRoute({
    ...admin,
    method: 'post',
    path: '/v1/admin/tenants',
    operationId: 'createTenant',
    summary: 'Create a tenant: database role, RLS check, first API key',
    description:
      'All-or-nothing: when a step fails (RLS check, registry write, key), the registry entry and the database ' +
      'role this request created are removed before the error is returned; a role that existed before is kept.',
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: CreateTenantSchema,
            example: {
              tenant_id: 'newco',
              name: 'NewCo Ltd',
              permissions: ['query:*', 'bulk:*', 'catalog:read'],
            },
          },
        },
      },
    },
    responses: {
      201: json(
        z.object({
          tenant_id: z.string(),
          db_user: z.string(),
          status: z.string(),
          key_id: z.string(),
          api_key: z.string(),
        }),
        'Created; the API key is shown only now',
      ),
      ...errorResponses(400, 401, 403, 409, 503),
    },
  }),
  listTenants: createRoute({
    ...admin,
    method: 'get',
    path: '/v1/admin/tenants',
    operationId: 'listTenants',
    summary: 'List tenants',
    request: { query: PageQuery },
    responses: {
      200: json(
        z.object({ tenants: z.array(TenantSchema), next_cursor: z.string().nullable() }),
        'A page of tenants',
      ),
      ...errorResponses(400, 401, 403),
    },
  }),
  getTenant: createRoute({
    ...admin,
    method: 'get',
    path: '/v1/admin/tenants/{id}',
    operationId: 'getTenant',
    summary: 'Read a tenant',
    request: { params: TenantParam },
    responses: { 200: json(TenantSchema, 'The tenant'), ...errorResponses(401, 403, 404) },
  }),
  patchTenant: createRoute({
    ...admin,
    method: 'patch',
    path: '/v1/admin/tenants/{id}',
    operationId: 'updateTenant',
    summary: 'Suspend or resume a tenant',
    request: {
      params: TenantParam,
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({ status: z.enum(['active', 'suspended']) }).strict(),
            example: { status: 'suspended' },
          },
        },
      },
    },
    responses: { 200: json(TenantSchema, 'The tenant'), ...errorResponses(400, 401, 403, 404) },
  }),
  deleteTenant: createRoute({
    ...admin,
    method: 'delete',
    path: '/v1/admin/tenants/{id}',
    operationId: 'deleteTenant',
    summary: 'Delete a tenant: suspend it, delete its keys, drop its database role',
    request: { params: TenantParam },
    responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 503) },
  }),
  createKey: createRoute({
    ...admin,
    method: 'post',
    path: '/v1/admin/tenants/{id}/keys',
    operationId: 'createApiKey',
    summary: 'Issue an API key',
    request: {
      params: TenantParam,
      body: {
        required: false,
        content: {
          'application/json': {
            schema: CreateKeySchema,
            example: { permissions: ['query:execute', 'catalog:read'], expires_at: '2027-01-01T00:00:00Z' },
          },
        },
      },
    },
    responses: {
      201: json(
        z.object({ key_id: z.string(), api_key: z.string() }),
        'The key; the secret is shown only now',
      ),
      ...errorResponses(400, 401, 403, 404),
    },
  }),
  listKeys: createRoute({
    ...admin,
    method: 'get',
    path: '/v1/admin/tenants/{id}/keys',
    operationId: 'listApiKeys',
    summary: 'List a tenant’s keys (never their secrets)',
    request: { params: TenantParam },
    responses: {
      200: json(z.object({ keys: z.array(KeySchema) }), 'Keys'),
      ...errorResponses(401, 403, 404),
    },
  }),
  rotateKey: createRoute({
    ...admin,
    method: 'post',
    path: '/v1/admin/tenants/{id}/keys/{key_id}/rotate',
    operationId: 'rotateApiKey',
    summary: 'Rotate a key: a new secret; the old one works for the grace period',
    request: { params: KeyParam },
    responses: {
      201: json(
        z.object({ key_id: z.string(), api_key: z.string(), previous_key_valid_until: z.string() }),
        'The new key',
      ),
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  revokeKey: createRoute({
    ...admin,
    method: 'delete',
    path: '/v1/admin/tenants/{id}/keys/{key_id}',
    operationId: 'revokeApiKey',
    summary: 'Revoke a key (rejected everywhere within 1 s)',
    request: { params: KeyParam },
    responses: { 204: { description: 'Revoked' }, ...errorResponses(401, 403, 404) },
  }),
};

export function registerAdminRoutes(app: OpenAPIHono<AppEnv>, deps: { tenants: TenantService }): void {
  const { tenants } = deps;
  app.openapi(routes.createTenant, async (c) => {
    const b = c.req.valid('json');
    const r = await tenants.create({
      tenantId: b.tenant_id,
      name: b.name,
      dbUser: b.db_user,
      permissions: b.permissions,
    });
    return c.json(
      {
        tenant_id: r.tenant.tenantId,
        db_user: r.tenant.dbUser,
        status: r.tenant.status,
        key_id: r.keyId,
        api_key: r.apiKey,
      },
      201,
    );
  });
  app.openapi(routes.listTenants, async (c) => {
    const q = c.req.valid('query');
    const page = await tenants.list({ limit: q.limit, cursor: q.cursor });
    return c.json({ tenants: page.items.map(tenantView), next_cursor: page.nextCursor }, 200);
  });
  app.openapi(routes.getTenant, async (c) =>
    c.json(tenantView(await tenants.get(c.req.valid('param').id)), 200),
  );
  app.openapi(routes.patchTenant, async (c) =>
    c.json(tenantView(await tenants.setStatus(c.req.valid('param').id, c.req.valid('json').status)), 200),
  );
  app.openapi(routes.deleteTenant, async (c) => {
    await tenants.delete(c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(routes.createKey, async (c) => {
    const b = (c.req.valid('json') ?? {}) as z.infer<typeof CreateKeySchema>;
    const k = await tenants.createKey(c.req.valid('param').id, {
      permissions: b.permissions,
      expiresAt: b.expires_at,
    });
    return c.json({ key_id: k.record.keyId, api_key: k.apiKey }, 201);
  });
  app.openapi(routes.listKeys, async (c) => {
    const keys = await tenants.listKeys(c.req.valid('param').id);
    return c.json({ keys: keys.map(keyView) }, 200);
  });
  app.openapi(routes.rotateKey, async (c) => {
    const p = c.req.valid('param');
    const k = await tenants.rotateKey(p.id, p.key_id);
    return c.json(
      { key_id: k.record.keyId, api_key: k.apiKey, previous_key_valid_until: k.previousKeyValidUntil },
      201,
    );
  });
  app.openapi(routes.revokeKey, async (c) => {
    const p = c.req.valid('param');
    await tenants.revokeKey(p.id, p.key_id);
    return c.body(null, 204);
  });
}
