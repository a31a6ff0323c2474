/**
 * The bearer-credential authenticator from configuration: API keys (the pepper, the key cache) and,
 * when configured, JWTs. It reads only the tenants and API-keys stores, which is all the authorizer
 * function opens.
 */
import { type AuthStores, createAuthenticator } from '../auth/index.js';
import type { JwtOptions } from '../auth/jwt.js';
import type { Config } from '../config/index.js';
import type { Authenticate } from '../domain/principal.js';

export function openAuthenticator(config: Config, stores: AuthStores, pepper: string): Authenticate {
  return createAuthenticator({
    state: stores,
    pepper,
    apiKeyCacheTtlMs: config.authCacheTtlMs,
    jwt: jwtOptionsFrom(config),
  });
}

export function jwtOptionsFrom(config: Config): JwtOptions | undefined {
  if (!config.jwtSecret && !config.jwtPublicKey && !config.jwtJwksUrl) return undefined;
  return {
    secret: config.jwtSecret || undefined,
    publicKey: config.jwtPublicKey || undefined,
    jwksUrl: config.jwtJwksUrl || undefined,
    algorithms: config.jwtAlgorithms.length ? (config.jwtAlgorithms as JwtOptions['algorithms']) : undefined,
    issuer: config.jwtIssuer.length ? config.jwtIssuer : undefined,
    audience: config.jwtAudience.length ? config.jwtAudience : undefined,
    clockSkewSeconds: config.jwtClockSkewSeconds,
    maxLifetimeSeconds: config.jwtMaxLifetimeSeconds || undefined,
    cacheTtlMs: config.jwtCacheTtlMs,
    jwksCooldownMs: config.jwtJwksCooldownMs,
    claims: {
      tenantId: config.jwtTenantClaim,
      dbUser: config.jwtDbUserClaim,
      permissions: config.jwtPermissionsClaim,
      subject: config.jwtSubjectClaim,
    },
  };
}
