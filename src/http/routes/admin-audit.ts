/** `GET /v1/admin/audit` (`admin:*`): the audit trail, oldest first (or newest first with `order=desc`), paged by cursor. */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AuditEntry } from '../../domain/audit-entry.js';
import type { AuditService } from '../../services/audit-service.js';
import type { AppEnv } from '../env.js';
import { requirePermission } from '../middleware/require-permission.js';
import { errorResponses } from '../schemas.js';

const AuditEntrySchema = z
  .object({
    entry_id: z.string(),
    at: z.string().openapi({ description: 'When the request arrived (RFC 3339).' }),
    request_id: z.string(),
    trace_id: z.string().nullable(),
    tenant_id: z.string(),
    principal: z.string().openapi({ description: 'API key id, JWT subject, or proxy identity.' }),
    auth_method: z.string(),
    method: z.string(),
    route: z.string().openapi({ description: 'Route pattern, e.g. `/v1/jobs/:id`.' }),
    status: z.number().int(),
    outcome: z.enum(['success', 'error', 'aborted']),
    error_code: z.string().nullable(),
    job_id: z.string().nullable(),
    sql_fingerprint: z.string().nullable().openapi({ description: 'sha256 of the deparsed statement.' }),
    sql: z.string().nullable().openapi({
      description:
        'The deparsed statement that ran (placeholders as $n); for a statement the SQL guard refused, the start of the submitted text.',
    }),
    param_names: z
      .array(z.string())
      .openapi({ description: 'Bind parameter names; values are never recorded.' }),
    row_count: z.number().int().nullable(),
    bytes: z.number().int().nullable().openapi({ description: 'Bytes written to the client.' }),
    duration_ms: z.number(),
    client_ip: z.string().nullable(),
  })
  .openapi('AuditEntry');

const AuditPageSchema = z
  .object({ entries: z.array(AuditEntrySchema), next_cursor: z.string().nullable() })
  .openapi('AuditPage');

const AuditQuery = z.object({
  tenant_id: z.string().min(1).max(100).optional().openapi({ description: 'Only this tenant’s entries.' }),
  since: z
    .string()
    .max(40)
    .optional()
    .openapi({ description: 'RFC 3339; entries at or after this time. Default: the oldest retained.' }),
  until: z.string().max(40).optional().openapi({ description: 'RFC 3339; entries before this time.' }),
  order: z.enum(['asc', 'desc']).optional().default('asc').openapi({
    description:
      '`asc`: oldest first (from `since`); `desc`: newest first (from `until`). Pass the same order with `cursor`.',
  }),
  limit: z.coerce.number().int().min(1).max(1000).optional().default(100),
  cursor: z.string().max(500).optional(),
});

const listAudit = createRoute({
  method: 'get',
  path: '/v1/admin/audit',
  operationId: 'listAuditEntries',
  tags: ['Admin'],
  summary: 'Read the audit trail',
  description:
    'One entry per authenticated `/v1` request, oldest first (`order=desc`: newest first). Entries are written asynchronously (within about a second) and kept for SPECTRA_AUDIT_RETENTION_DAYS.',
  security: [{ bearer: [] }],
  middleware: [requirePermission('admin:*')] as const,
  request: { query: AuditQuery },
  responses: {
    200: { description: 'A page of entries', content: { 'application/json': { schema: AuditPageSchema } } },
    ...errorResponses(400, 401, 403, 429),
  },
});

function auditEntryView(e: AuditEntry): z.infer<typeof AuditEntrySchema> {
  return {
    entry_id: e.entryId,
    at: e.at,
    request_id: e.requestId,
    trace_id: e.traceId,
    tenant_id: e.tenantId,
    principal: e.principal,
    auth_method: e.authMethod,
    method: e.method,
    route: e.route,
    status: e.status,
    outcome: e.outcome,
    error_code: e.errorCode,
    job_id: e.jobId,
    sql_fingerprint: e.sqlFingerprint,
    sql: e.sql,
    param_names: e.paramNames,
    row_count: e.rowCount,
    bytes: e.bytes,
    duration_ms: e.durationMs,
    client_ip: e.clientIp,
  };
}

export function registerAuditRoutes(app: OpenAPIHono<AppEnv>, deps: { audit: AuditService }): void {
  app.openapi(listAudit, async (c) => {
    const q = c.req.valid('query');
    const page = await deps.audit.list({
      tenantId: q.tenant_id,
      since: q.since,
      until: q.until,
      order: q.order,
      limit: q.limit,
      cursor: q.cursor,
    });
    return c.json({ entries: page.items.map(auditEntryView), next_cursor: page.nextCursor }, 200);
  });
}
