/**
 * `GET /v1/me`: who the credential says the caller is (tenant, key, how it authenticated, its
 * permissions) and where the caller stands in its rate-limit bucket — what a console shows on login.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Principal } from '../../domain/principal.js';
import { SYSTEM_TENANT_ID } from '../../services/tenant-service.js';
import type { AppEnv } from '../env.js';
import { errorResponses } from '../schemas.js';

/** API key ids are 16 hex digits (spk_<tenant>_<key id><secret>); a JWT's credential is its subject. */
const KEY_ID = /^[0-9a-f]{16}$/;

export const MeSchema = z
  .object({
    tenant_id: z.string().openapi({ example: 'acme' }),
    key_id: z.string().nullable().openapi({ description: 'The API key’s id; null for a JWT.' }),
    auth: z.enum(['api_key', 'jwt', 'admin', 'trusted_header']).openapi({
      description:
        '`admin` for the service’s admin key; `trusted_header` only where a trusted proxy authenticates (docs/security.md).',
    }),
    permissions: z.array(z.string()).openapi({ example: ['query:*', 'bulk:*', 'catalog:read'] }),
    rate_limit: z
      .object({
        limit: z.number().int().openapi({ description: 'Requests per minute of the reads class.' }),
        remaining: z.number().int(),
        reset_seconds: z.number().int(),
      })
      .nullable()
      .openapi({
        description: 'The bucket this request was counted in (reads); null when rate limits are off.',
      }),
  })
  .openapi('Me');

const me = createRoute({
  method: 'get',
  path: '/v1/me',
  operationId: 'getMe',
  tags: ['System'],
  summary: 'The caller’s identity, permissions and rate limit',
  security: [{ bearer: [] }],
  responses: {
    200: { description: 'The caller', content: { 'application/json': { schema: MeSchema } } },
    ...errorResponses(401, 403, 429),
  },
});

function authOf(p: Principal): { auth: z.infer<typeof MeSchema>['auth']; keyId: string | null } {
  if (p.authMethod === 'jwt') return { auth: 'jwt', keyId: null };
  if (p.authMethod === 'trusted_header') return { auth: 'trusted_header', keyId: null };
  // Behind API Gateway the authorizer passes the credential id on: a key id or a JWT subject.
  const keyId = p.authMethod === 'api_key' || KEY_ID.test(p.credentialId) ? p.credentialId : null;
  if (p.tenantId === SYSTEM_TENANT_ID) return { auth: 'admin', keyId };
  return { auth: keyId === null ? 'jwt' : 'api_key', keyId };
}

export function registerMeRoute(app: OpenAPIHono<AppEnv>): void {
  app.openapi(me, (c) => {
    const principal = c.get('principal');
    const { auth, keyId } = authOf(principal);
    const rate = c.get('rateLimit');
    return c.json(
      {
        tenant_id: principal.tenantId,
        key_id: keyId,
        auth,
        permissions: principal.permissions,
        rate_limit: rate
          ? { limit: rate.limit, remaining: rate.remaining, reset_seconds: rate.resetSeconds }
          : null,
      },
      200,
    );
  });
}
