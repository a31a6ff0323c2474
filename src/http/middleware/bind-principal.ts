/** After authentication: the request's logger and span learn the tenant and the credential (key id or JWT subject). */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.js';

export function bindPrincipal(): MiddlewareHandler<AppEnv> {
  return async function bindPrincipalMiddleware(c, next) {
    const principal = c.get('principal');
    const scope = c.get('scope');
    if (principal && scope) {
      scope.log.bind({ tenant_id: principal.tenantId, principal: principal.credentialId });
    }
    await next();
  };
}
