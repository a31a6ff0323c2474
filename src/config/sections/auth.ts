/**
 * Authentication: API keys (pepper, cache, rotation grace), JWTs (secret, PEM or JWKS, claims) and
 * trusted-header auth for internal proxies. `jwtOptions` turns the JWT rows into the verifier's options.
 */
import * as z from 'zod/mini';
import type { JwtOptions } from '../../auth/jwt.js';
import { type ConfigOf, int, list, type Setting } from '../setting.js';

export const AUTH_SETTINGS = {
  apiKeyPepper: {
    env: 'SPECTRA_API_KEY_PEPPER',
    schema: z.string(),
    default: '',
    doc: 'Server secret for the keyed hash of API keys. Empty = generated once into SPECTRA_HOME/secrets.json. Must be the same for every process of a cluster.',
  },
  authCacheTtlMs: {
    env: 'SPECTRA_AUTH_CACHE_TTL_MS',
    schema: int(0, 60_000),
    default: 1000,
    doc: 'How long a verified API key is cached in a process; bounds how late a revocation is seen.',
  },
  apiKeyRotationGraceHours: {
    env: 'SPECTRA_API_KEY_ROTATION_GRACE_HOURS',
    schema: int(0),
    default: 24,
    doc: 'After a key rotation, how long the previous key keeps working.',
  },
  jwtSecret: {
    env: 'SPECTRA_JWT_SECRET',
    schema: z.string(),
    default: '',
    doc: 'Shared secret for HS256/384/512 JWTs (at least as long as the hash output). Empty = no HS* JWTs.',
  },
  jwtPublicKey: {
    env: 'SPECTRA_JWT_PUBLIC_KEY',
    schema: z.string(),
    default: '',
    doc: 'PEM public key (SPKI) for RS256/ES256 JWTs. Exclusive with SPECTRA_JWT_JWKS_URL.',
  },
  jwtJwksUrl: {
    env: 'SPECTRA_JWT_JWKS_URL',
    schema: z.string(),
    default: '',
    doc: 'JWKS endpoint of the identity provider (https; http only on loopback). Cached, refreshed on unknown `kid`, rate-limited, fails closed.',
  },
  jwtAlgorithms: {
    env: 'SPECTRA_JWT_ALGORITHMS',
    schema: list,
    default: [],
    doc: "Accepted JWT algorithms, comma-separated. Empty = HS256 with a secret, the key's algorithm with a PEM, RS256+ES256 with JWKS.",
  },
  jwtIssuer: {
    env: 'SPECTRA_JWT_ISSUER',
    schema: list,
    default: [],
    doc: 'Required `iss` (comma-separated for several). Empty = not checked.',
  },
  jwtAudience: {
    env: 'SPECTRA_JWT_AUDIENCE',
    schema: list,
    default: [],
    doc: 'Required `aud` (comma-separated for several). Empty = tokens carrying `aud` are refused.',
  },
  jwtClockSkewSeconds: {
    env: 'SPECTRA_JWT_CLOCK_SKEW_SECONDS',
    schema: int(0, 300),
    default: 30,
    doc: 'Tolerance for `exp`/`nbf`/`iat`.',
  },
  jwtMaxLifetimeSeconds: {
    env: 'SPECTRA_JWT_MAX_LIFETIME_SECONDS',
    schema: int(0),
    default: 0,
    doc: 'Reject tokens whose `exp` is further away than this; 0 = no limit.',
  },
  jwtCacheTtlMs: {
    env: 'SPECTRA_JWT_CACHE_TTL_MS',
    schema: int(0),
    default: 300_000,
    doc: "Verified-token cache (never past the token's `exp`; tenant status re-read every second).",
  },
  jwtTenantClaim: {
    env: 'SPECTRA_JWT_TENANT_CLAIM',
    schema: z.string().check(z.minLength(1)),
    default: 'tenant_id',
    doc: 'Claim naming the tenant.',
  },
  jwtDbUserClaim: {
    env: 'SPECTRA_JWT_DB_USER_CLAIM',
    schema: z.string().check(z.minLength(1)),
    default: 'db_user',
    doc: "Optional claim naming the database user; honoured only if it is the tenant's registered db_user.",
  },
  jwtPermissionsClaim: {
    env: 'SPECTRA_JWT_PERMISSIONS_CLAIM',
    schema: z.string().check(z.minLength(1)),
    default: 'permissions',
    doc: "Claim with the permissions (array or space-separated); absent = the tenant's default permissions.",
  },
  jwtSubjectClaim: {
    env: 'SPECTRA_JWT_SUBJECT_CLAIM',
    schema: z.string().check(z.minLength(1)),
    default: 'sub',
    doc: 'Claim identifying the caller in audit records.',
  },
  jwtJwksCooldownMs: {
    env: 'SPECTRA_JWT_JWKS_COOLDOWN_MS',
    schema: int(0),
    default: 30_000,
    doc: 'Minimum time between JWKS refetches caused by an unknown `kid`.',
  },
  trustedHeaderSecret: {
    env: 'SPECTRA_TRUSTED_HEADER_SECRET',
    schema: z.string(),
    default: '',
    doc: 'Internal deployments only: enables trusted-header auth (`X-Tenant-ID`, `X-DB-User`) for requests carrying this secret (≥ 32 characters). Empty = off.',
  },
  trustedHeaderSecretHeader: {
    env: 'SPECTRA_TRUSTED_HEADER_SECRET_HEADER',
    schema: z.string().check(z.minLength(1)),
    default: 'X-Spectra-Proxy-Secret',
    doc: 'Header that carries the trusted-header secret.',
  },
  trustedProxies: {
    env: 'SPECTRA_TRUSTED_PROXIES',
    schema: list,
    default: [],
    doc: 'Internal deployments only: proxy IPs/CIDRs allowed to use trusted-header auth. Empty = none.',
  },
} satisfies Record<string, Setting>;

export type AuthConfig = ConfigOf<typeof AUTH_SETTINGS>;

/** The JWT verifier's options; undefined when no key source (secret, PEM, JWKS) is set. */
export function jwtOptions(config: AuthConfig): JwtOptions | undefined {
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
