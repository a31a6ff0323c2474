/**
 * Authentication for `/v1/*`: `Authorization: Bearer <credential>` → Principal, or 401 with
 * `WWW-Authenticate`. An `X-Tenant-ID` header, when present, must name the credential's tenant.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../domain/errors.js';
import type { Principal } from '../../domain/principal.js';
import type { AppEnv } from '../env.js';

export type Authenticate = (credential: string) => Promise<Principal>;

/** Tokens longer than this are rejected before any parsing (JWTs included). */
const MAX_CREDENTIAL_LENGTH = 8192;

export function authenticate(verify: Authenticate): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    const t0 = performance.now();
    const header = c.req.header('authorization');
    const m = header ? /^Bearer +([\x21-\x7e]+) *$/i.exec(header) : null;
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
