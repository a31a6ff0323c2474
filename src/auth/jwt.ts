/**
 * JWT bearer tokens → Principal, verified with `jose`.
 *
 * Keys and algorithms come only from configuration: HS* with a shared secret, RS/PS/ES with a PEM
 * public key or a JWKS URL. The token's `alg` must be in the configured list before any key is
 * chosen, and HS* is only ever verified with the shared secret, so `alg: none` and "HS256 signed
 * with the RSA public key" both fail. `exp` is required; `iss`/`aud` are enforced when configured
 * (a token carrying `aud` is refused when no audience is configured). `exp`, `nbf` and `iat` must be
 * numbers when present and hold within the clock skew (default 30 s): jose itself checks a future
 * `iat` only together with a maximum token age, so that check is made here.
 *
 * The tenant must exist and be active; `db_user` comes from the tenant registry, and a `db_user`
 * claim that names another role is FORBIDDEN (the signature is good, the role is not the tenant's).
 * Verified tokens are cached by SHA-256 until min(exp, cache TTL); the tenant record behind a cached
 * token is re-read at most every second (one read at a time per tenant), so a suspension applies
 * within ~1 s.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  type CompactJWSHeaderParameters,
  type CryptoKey,
  createRemoteJWKSet,
  customFetch,
  type FlattenedJWSInput,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
  type KeyInput,
  type RemoteJWKSet,
} from 'jose';
import { ApiError, unauthorized } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { TENANT_ID_PATTERN, type Tenant } from '../domain/tenant.js';
import { credentialCacheKey } from './credential-cache-key.js';
import { isKnownPermission } from './permissions.js';
import { dueForRenewal, sharedRun } from './shared-run.js';
import type { AuthStores } from './stores.js';

export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface JwtClaimNames {
  /** Default `tenant_id`. */
  tenantId?: string | undefined;
  /** Default `db_user`. */
  dbUser?: string | undefined;
  /** Default `permissions`: an array, or a space-separated string (OAuth `scope` style). */
  permissions?: string | undefined;
  /** Default `sub`: recorded as the principal's credential id. */
  subject?: string | undefined;
}

export interface JwtOptions {
  /** Shared secret for HS*; at least as many bytes as the hash output (RFC 7518 §3.2). */
  secret?: string | undefined;
  /** PEM public key (SPKI) for RS*, PS* or ES*. Exclusive with `jwksUrl`. */
  publicKey?: string | undefined;
  /** JWKS endpoint (https, or http on a loopback host). Exclusive with `publicKey`. */
  jwksUrl?: string | undefined;
  /** Accepted algorithms. Default: HS256 with a secret; the key's own algorithm with a PEM; RS256+ES256 with JWKS. */
  algorithms?: readonly JwtAlgorithm[] | undefined;
  issuer?: string | readonly string[] | undefined;
  audience?: string | readonly string[] | undefined;
  /** Tolerance for `exp`/`nbf`/`iat`, seconds. Default 30. */
  clockSkewSeconds?: number | undefined;
  /** Reject tokens whose `exp` lies further than this in the future. Default: no limit. */
  maxLifetimeSeconds?: number | undefined;
  /** Default 8192. */
  maxTokenBytes?: number | undefined;
  claims?: JwtClaimNames | undefined;
  /** Verified-token cache; an entry never outlives the token's `exp`. Default 300 000; 0 disables. */
  cacheTtlMs?: number | undefined;
  /** How long a tenant record is reused before its status is re-read. Default and maximum 1000. */
  tenantRecheckMs?: number | undefined;
  /** Minimum time between JWKS refetches caused by an unknown `kid`. Default 30 000. */
  jwksCooldownMs?: number | undefined;
  /** JWKS refetched after this age. Default 600 000. */
  jwksCacheMaxAgeMs?: number | undefined;
  /** Default 5000. */
  jwksTimeoutMs?: number | undefined;
  /** After a failed JWKS fetch, tokens needing a fetch fail at once for this long. Default 1000. */
  jwksFailureBackoffMs?: number | undefined;
  /** The clock for time claims and caches, epoch milliseconds; tests inject one. Default `Date.now`. */
  now?: (() => number) | undefined;
}

/** A configuration mistake, thrown by the constructor; never contains key material. */
export class JwtConfigError extends Error {
  constructor(message: string) {
    super(`JWT configuration: ${message}`);
    this.name = 'JwtConfigError';
  }
}

const DEFAULT_MAX_TOKEN_BYTES = 8192;
const DEFAULT_CLOCK_SKEW_SECONDS = 30;
const DEFAULT_CACHE_TTL_MS = 300_000;
const MAX_TENANT_RECHECK_MS = 1000;
const MAX_CACHE_ENTRIES = 10_000;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const HMAC_MIN_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

/** Three dot-separated base64url parts: the shape of a compact JWS. */
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

interface VerifiedClaims {
  tenantId: string;
  claimedDbUser: string | undefined;
  permissions: string[] | undefined;
  subject: string;
}

interface TokenCacheEntry {
  claims: VerifiedClaims;
  until: number;
}

export class JwtAuthenticator {
  private readonly algorithms: JwtAlgorithm[];
  private readonly hmacKey: Uint8Array | undefined;
  private readonly publicKey: KeyObject | undefined;
  private readonly jwks: RemoteJWKSet | undefined;
  private readonly issuer: string[] | undefined;
  private readonly audience: string[] | undefined;
  private readonly clockSkew: number;
  private readonly maxLifetime: number | undefined;
  private readonly maxTokenBytes: number;
  private readonly claimNames: Required<JwtClaimNames>;
  private readonly cacheTtlMs: number;
  private readonly tenantRecheckMs: number;
  private readonly now: () => number;
  private readonly tokenCache = new Map<string, TokenCacheEntry>();
  private readonly tenantCache = new Map<string, { tenant: Tenant; fetchedAt: number }>();
  /** Tenant re-reads under way: a stale entry's callers share one. */
  private readonly tenantReads = new Map<string, Promise<Tenant | null>>();
  private readonly hmacKeys = new Map<string, Promise<CryptoKey>>();
  private jwksRetryAt = 0;

  constructor(
    private readonly state: AuthStores,
    opts: JwtOptions,
  ) {
    const { secret, publicKey, jwksUrl } = opts;
    if (!secret && !publicKey && !jwksUrl)
      throw new JwtConfigError('set a secret, a public key or a JWKS URL');
    if (publicKey && jwksUrl) throw new JwtConfigError('set either a public key or a JWKS URL, not both');
    if (secret && /-----BEGIN/.test(secret)) {
      throw new JwtConfigError(
        'the HMAC secret looks like a PEM key; put public keys in the public key setting',
      );
    }

    let keyAlgorithms: JwtAlgorithm[] = [];
    if (publicKey) {
      if (/PRIVATE KEY/.test(publicKey)) throw new JwtConfigError('give the public key, not the private key');
      try {
        this.publicKey = createPublicKey(publicKey);
      } catch {
        throw new JwtConfigError('the public key is not a valid PEM public key');
      }
      keyAlgorithms = algorithmsForKey(this.publicKey);
      if (keyAlgorithms.length === 0) throw new JwtConfigError('unsupported public key type');
    }
    if (jwksUrl) {
      const url = parseJwksUrl(jwksUrl);
      this.jwks = createRemoteJWKSet(url, {
        cooldownDuration: opts.jwksCooldownMs ?? 30_000,
        cacheMaxAge: opts.jwksCacheMaxAgeMs ?? 600_000,
        timeoutDuration: opts.jwksTimeoutMs ?? 5000,
        [customFetch]: this.fetchJwks(opts.jwksFailureBackoffMs ?? 1000),
      });
      keyAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384'];
    }

    const defaults: JwtAlgorithm[] = [
      ...(secret ? (['HS256'] as const) : []),
      ...(publicKey ? keyAlgorithms.slice(0, 1) : []),
      ...(jwksUrl ? (['RS256', 'ES256'] as const) : []),
    ];
    this.algorithms = [...(opts.algorithms ?? defaults)];
    if (this.algorithms.length === 0) throw new JwtConfigError('no algorithm configured');
    for (const alg of this.algorithms) {
      if (!(JWT_ALGORITHMS as readonly string[]).includes(alg))
        throw new JwtConfigError(`unsupported algorithm ${alg}`);
      if (alg.startsWith('HS')) {
        if (!secret) throw new JwtConfigError(`${alg} needs a shared secret`);
        const minBytes = HMAC_MIN_BYTES[alg] ?? 64;
        if (Buffer.byteLength(secret) < minBytes) {
          throw new JwtConfigError(`the shared secret must have at least ${minBytes} bytes for ${alg}`);
        }
      } else if (!keyAlgorithms.includes(alg)) {
        throw new JwtConfigError(
          publicKey || jwksUrl
            ? `${alg} does not fit the configured public key`
            : `${alg} needs a public key or a JWKS URL`,
        );
      }
    }
    if (secret && !this.algorithms.some((a) => a.startsWith('HS'))) {
      throw new JwtConfigError('a shared secret is set but no HS algorithm is allowed');
    }
    this.hmacKey = secret ? new TextEncoder().encode(secret) : undefined;

    this.issuer = toList(opts.issuer);
    this.audience = toList(opts.audience);
    this.clockSkew = nonNegative(opts.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS, 'clock skew');
    this.maxLifetime =
      opts.maxLifetimeSeconds === undefined
        ? undefined
        : nonNegative(opts.maxLifetimeSeconds, 'max lifetime');
    this.maxTokenBytes = opts.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
    this.claimNames = {
      tenantId: opts.claims?.tenantId || 'tenant_id',
      dbUser: opts.claims?.dbUser || 'db_user',
      permissions: opts.claims?.permissions || 'permissions',
      subject: opts.claims?.subject || 'sub',
    };
    this.now = opts.now ?? (() => Date.now());
    this.cacheTtlMs = nonNegative(opts.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS, 'cache TTL');
    this.tenantRecheckMs = Math.min(
      nonNegative(opts.tenantRecheckMs ?? MAX_TENANT_RECHECK_MS, 'tenant recheck'),
      MAX_TENANT_RECHECK_MS,
    );
  }

  async authenticate(token: string): Promise<Principal> {
    if (token.length > this.maxTokenBytes || !JWT_SHAPE.test(token)) throw unauthorized('invalid token');
    const cacheKey = credentialCacheKey(token);
    const now = this.now();
    const hit = this.tokenCache.get(cacheKey);
    if (hit) {
      if (hit.until > now) return this.principalFor(hit.claims);
      this.tokenCache.delete(cacheKey);
    }
    const { claims, expMs } = await this.verify(token, cacheKey, now);
    const principal = await this.principalFor(claims);
    const until = Math.min(now + this.cacheTtlMs, expMs);
    if (this.cacheTtlMs > 0 && until > now) {
      if (this.tokenCache.size >= MAX_CACHE_ENTRIES) evictOldest(this.tokenCache);
      this.tokenCache.set(cacheKey, { claims, until });
    }
    return principal;
  }

  private async verify(
    token: string,
    tokenHash: string,
    nowMs: number,
  ): Promise<{ claims: VerifiedClaims; expMs: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.resolveKey, {
        algorithms: this.algorithms,
        clockTolerance: this.clockSkew,
        currentDate: new Date(nowMs),
        requiredClaims: ['exp'],
        ...(this.issuer ? { issuer: this.issuer } : {}),
        ...(this.audience ? { audience: this.audience } : {}),
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired && e.claim === 'exp') throw unauthorized('token has expired');
      throw unauthorized('invalid token');
    }
    if (!this.audience && payload.aud !== undefined) throw unauthorized('invalid token');
    // The rule jose applies to nbf (whole seconds, skew added); jose has already refused a non-number iat.
    const nowSeconds = Math.floor(nowMs / 1000);
    if (typeof payload.iat === 'number' && payload.iat > nowSeconds + this.clockSkew) {
      throw unauthorized('invalid token');
    }
    const exp = payload.exp as number;
    if (this.maxLifetime !== undefined && exp - nowMs / 1000 > this.maxLifetime + this.clockSkew) {
      throw unauthorized('token lifetime exceeds the allowed maximum');
    }

    const tenantId = payload[this.claimNames.tenantId];
    if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId))
      throw unauthorized('invalid token');
    const dbUser = payload[this.claimNames.dbUser];
    if (dbUser !== undefined && typeof dbUser !== 'string') throw unauthorized('invalid token');
    const subject = payload[this.claimNames.subject];
    return {
      claims: {
        tenantId,
        claimedDbUser: dbUser,
        permissions: parsePermissions(payload[this.claimNames.permissions]),
        // Without a subject, a short token fingerprint still tells audit entries apart.
        subject: typeof subject === 'string' && subject !== '' ? subject : `jwt:${tokenHash.slice(0, 12)}`,
      },
      expMs: exp * 1000,
    };
  }

  /**
   * The principal of a token whose verification and tenant are both cached and fresh; no I/O, no
   * verification. Undefined otherwise, and for a token the full call would refuse.
   */
  peek(token: string): Principal | undefined {
    if (this.tokenCache.size === 0 || token.length > this.maxTokenBytes) return undefined;
    const now = this.now();
    const hit = this.tokenCache.get(credentialCacheKey(token));
    if (!hit || hit.until <= now) return undefined;
    const cached = this.tenantCache.get(hit.claims.tenantId);
    if (!cached || now - cached.fetchedAt >= this.tenantRecheckMs) return undefined;
    this.renewTenantAhead(hit.claims.tenantId, cached, now);
    try {
      return this.principalOf(hit.claims, cached.tenant);
    } catch {
      return undefined;
    }
  }

  private async principalFor(claims: VerifiedClaims): Promise<Principal> {
    return this.principalOf(claims, await this.tenant(claims.tenantId));
  }

  private principalOf(claims: VerifiedClaims, tenant: Tenant | null): Principal {
    if (!tenant) throw unauthorized('invalid token');
    if (tenant.status !== 'active') throw new ApiError('FORBIDDEN', 'tenant is suspended');
    if (claims.claimedDbUser !== undefined && claims.claimedDbUser !== tenant.dbUser) {
      throw new ApiError('FORBIDDEN', 'the token names a database user that does not belong to its tenant');
    }
    return {
      tenantId: tenant.tenantId,
      dbUser: tenant.dbUser,
      dbGroups: tenant.dbGroups,
      permissions: claims.permissions ?? tenant.defaultPermissions,
      authMethod: 'jwt',
      credentialId: claims.subject,
    };
  }

  /**
   * Found tenants are reused for at most `tenantRecheckMs`; a missing tenant is never cached. Calls
   * that find the entry stale while its re-read is under way share that read: once a second a busy
   * tenant's requests would otherwise each read the store (API keys: the same rule, api-key.ts).
   */
  private tenant(tenantId: string): Promise<Tenant | null> {
    const now = this.now();
    const cached = this.tenantCache.get(tenantId);
    if (cached && now - cached.fetchedAt < this.tenantRecheckMs) {
      this.renewTenantAhead(tenantId, cached, now);
      return Promise.resolve(cached.tenant);
    }
    return this.readTenant(tenantId, now);
  }

  /**
   * Renew-ahead, as for API keys: a tenant used in the second half of its entry's life is read again
   * in the background, so a busy tenant's entry is replaced before it goes stale and no request
   * waits for the read. A tenant gone or changed replaces the entry (readTenant); a read that fails
   * leaves it to go stale at its recheck time, as before.
   */
  private renewTenantAhead(tenantId: string, cached: { fetchedAt: number }, now: number): void {
    if (!dueForRenewal(this.tenantReads, tenantId, now - cached.fetchedAt, this.tenantRecheckMs)) return;
    this.readTenant(tenantId, now).catch(() => {});
  }

  private readTenant(tenantId: string, now: number): Promise<Tenant | null> {
    return sharedRun(this.tenantReads, tenantId, () =>
      this.state.tenants.get(tenantId).then((tenant) => {
        if (tenant && this.tenantRecheckMs > 0) {
          if (this.tenantCache.size >= MAX_CACHE_ENTRIES) this.tenantCache.clear();
          this.tenantCache.set(tenantId, { tenant, fetchedAt: now });
        } else {
          this.tenantCache.delete(tenantId);
        }
        return tenant;
      }),
    );
  }

  /** jose has already checked `alg` against the allowlist; HS* only ever gets the shared secret. */
  private readonly resolveKey = async (
    header: CompactJWSHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<KeyInput> => {
    const alg = header.alg;
    if (!(this.algorithms as string[]).includes(alg))
      throw new joseErrors.JOSEAlgNotAllowed('alg not allowed');
    let key: KeyInput | undefined;
    if (alg.startsWith('HS')) key = await this.hmacKeyFor(alg);
    else if (this.publicKey) key = this.publicKey;
    else if (this.jwks) key = await this.jwks(header, token);
    if (!key) throw new joseErrors.JOSEAlgNotAllowed('no key for alg');
    return key;
  };

  /** One imported CryptoKey per HS algorithm: jose would re-import raw secret bytes on every verification. */
  private hmacKeyFor(alg: string): Promise<CryptoKey> | undefined {
    const secret = this.hmacKey;
    if (!secret) return undefined;
    let key = this.hmacKeys.get(alg);
    if (!key) {
      key = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, [
        'verify',
      ]);
      this.hmacKeys.set(alg, key);
    }
    return key;
  }

  /** fetch for the JWKS set that stops calling an endpoint that just failed, so an outage is not amplified. */
  private fetchJwks(backoffMs: number): typeof fetch {
    return async (input, init) => {
      if (Date.now() < this.jwksRetryAt) throw new Error('JWKS endpoint failed recently');
      try {
        const res = await fetch(input, init);
        if (res.status !== 200) this.jwksRetryAt = Date.now() + backoffMs;
        return res;
      } catch (e) {
        this.jwksRetryAt = Date.now() + backoffMs;
        throw e;
      }
    };
  }
}

/** Array of strings, or a space-separated string; unknown permission names are dropped; absent → undefined. */
function parsePermissions(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  let list: unknown[];
  if (typeof value === 'string') list = value.split(' ').filter((s) => s !== '');
  else if (Array.isArray(value)) list = value;
  else throw unauthorized('invalid token');
  if (!list.every((p) => typeof p === 'string')) throw unauthorized('invalid token');
  return [...new Set((list as string[]).filter(isKnownPermission))];
}

function algorithmsForKey(key: KeyObject): JwtAlgorithm[] {
  if (key.asymmetricKeyType === 'rsa') return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
  if (key.asymmetricKeyType === 'rsa-pss') return ['PS256', 'PS384', 'PS512'];
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return ['ES256'];
    if (curve === 'secp384r1') return ['ES384'];
  }
  return [];
}

function parseJwksUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new JwtConfigError('the JWKS URL is not a valid URL');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new JwtConfigError('the JWKS URL must use https (http only on a loopback host)');
  }
  return url;
}

function toList(v: string | readonly string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const list = (typeof v === 'string' ? [v] : [...v]).filter((s) => s !== '');
  return list.length > 0 ? list : undefined;
}

function nonNegative(n: number, what: string): number {
  if (!Number.isFinite(n) || n < 0) throw new JwtConfigError(`${what} must be a non-negative number`);
  return n;
}

function evictOldest(map: Map<string, unknown>): void {
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}
