/** Route-level authorization: the principal must hold the route's permission (wildcards allowed). */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../domain/errors.js';
import { hasPermission, type Permission } from '../../domain/principal.js';
import type { AppEnv } from '../env.js';

export function requirePermission(...anyOf: Permission[]): MiddlewareHandler<AppEnv> {
  return async function requirePermissionMiddleware(c, next) {
    const granted = c.get('principal').permissions;
    if (!anyOf.some((p) => hasPermission(granted, p))) {
      throw new ApiError('FORBIDDEN', `this credential lacks the permission ${anyOf.join(' or ')}`, {
        required: anyOf,
      });
    }
    await next();
  };
}
