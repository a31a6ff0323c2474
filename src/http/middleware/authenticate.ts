/**
 * Authentication for `/v1/*`: `Authorization: Bearer <credential>` → Principal, or 401 with
 * `WWW-Authenticate`. An `X-Tenant-ID` header, when present, must name the credential's tenant.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { TrustedHeaderAuthenticate } from '../../auth/trusted-header.js';
import { ApiError } from '../../domain/errors.js';
import type { Authenticate, Principal } from '../../domain/principal.js';
import type { AppEnv } from '../env.js';

export type { Authenticate };

/** `Authorization: Bearer <credential>`; the credential is group 1. */
export const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/** Tokens longer than this are rejected before any parsing (JWTs included). */
const MAX_CREDENTIAL_LENGTH = 8192;

export interface TrustedHeaderHook {
  verify: TrustedHeaderAuthenticate;
  remoteAddress?: ((c: Context<AppEnv>) => string | undefined) | undefined;
}

export function authenticate(
  verify: Authenticate,
  trustedHeader?: TrustedHeaderHook,
): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    const t0 = performance.now();
    const header = c.req.header('authorization');
    if (header === undefined && trustedHeader && c.req.header('x-tenant-id') !== undefined) {
      // Only requests without a bearer credential may use header auth, and only when it is configured.
      c.set('principal', await trustedHeader.verify(c.req.raw.headers, trustedHeader.remoteAddress?.(c)));
      c.get('timings').add('auth', performance.now() - t0);
      return next();
    }
    const m = header ? BEARER.exec(header) : null;
    if (!m || m[1]!.length > MAX_CREDENTIAL_LENGTH) {
      c.header('WWW-Authenticate', 'Bearer realm="spectra"');
      throw new ApiError(
        'UNAUTHORIZED',
        'missing or malformed Authorization header; expected "Bearer <api key or JWT>"',
      );
    }
    let principal: Principal;
    try {
      principal = await verify(m[1]!);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'UNAUTHORIZED') {
        c.header('WWW-Authenticate', 'Bearer realm="spectra", error="invalid_token"');
      }
      throw e;
    }
    const claimedTenant = c.req.header('x-tenant-id');
    if (claimedTenant !== undefined && claimedTenant !== principal.tenantId) {
      throw new ApiError('FORBIDDEN', 'X-Tenant-ID does not match the credential');
    }
    c.set('principal', principal);
    c.get('timings').add('auth', performance.now() - t0);
    await next();
  };
}
