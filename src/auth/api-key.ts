/**
 * API keys: `spk_<tenant>_<key id: 16 hex><secret: 64 hex>` (256 bits of secret randomness).
 * Stored only as HMAC-SHA256(pepper, secret): keys are high-entropy, so a keyed fast hash with a
 * constant-time compare is the norm; slow password hashes exist for low-entropy passwords.
 * The key id finds the record; the tenant written in the string must match the record's tenant,
 * so the tenant part is never trusted on its own.
 *
 * Lifecycle: create (optional expiry and permission scope), rotate (a new key; the old one keeps
 * working for a grace period), revoke. A verified key is cached for at most 1 s per process and
 * failures are never cached, so a revocation or suspension is seen everywhere within 1 s and a new
 * key works at once. Requests that miss the cache while the same key is being verified share that
 * verification: when the entry of a busy key expires, its next requests cost one store read, not
 * one each (under load hundreds arrive in the time a read takes, and queued on the state store's
 * pool they held the service's requests for seconds).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiError, conflict, invalidRequest, isApiError, notFound, unauthorized } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import type { ApiKeyRecord } from '../domain/tenant.js';
import { credentialCacheKey } from './credential-cache-key.js';
import { assertKnownPermissions } from './permissions.js';
import { dueForRenewal, sharedRun } from './shared-run.js';
import type { AuthStores } from './stores.js';

const KEY_PATTERN = /^spk_([a-z][a-z0-9-]{0,62})_([0-9a-f]{16})([0-9a-f]{64})$/;
export const DEFAULT_KEY_PERMISSIONS = ['query:*', 'bulk:*', 'catalog:read'];
/** How long a rotated key keeps working unless the caller says otherwise. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;
/** Upper bound of the verified-key cache whatever the configuration says: revocation must show within 1 s. */
export const MAX_API_KEY_CACHE_TTL_MS = 1000;
/** `last_used_at` is written at most this often per key, off the request path. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const MAX_CACHE_ENTRIES = 10_000;

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('spk_');
}

export function hashSecret(pepper: string, secret: string): string {
  return createHmac('sha256', pepper).update(secret).digest('hex');
}

/** The key id of a well-formed key string, else null. Reveals nothing secret: ids are listed by the admin API. */
export function apiKeyId(apiKey: string): string | null {
  return KEY_PATTERN.exec(apiKey)?.[2] ?? null;
}

export type ApiKeyStatus = 'active' | 'expired' | 'revoked';

export function apiKeyStatus(record: ApiKeyRecord, now: Date = new Date()): ApiKeyStatus {
  const t = now.getTime();
  if (record.revokedAt && Date.parse(record.revokedAt) <= t) return 'revoked';
  if (record.expiresAt && Date.parse(record.expiresAt) <= t) return 'expired';
  return 'active';
}

export interface IssuedKey {
  /** The only time the full key exists: show it once, never store or log it. */
  apiKey: string;
  record: ApiKeyRecord;
}

/** Mints a key and its record without storing anything (see `createApiKey`). */
export function issueApiKey(
  pepper: string,
  tenantId: string,
  opts: { permissions?: string[]; expiresAt?: string | null; now?: Date } = {},
): IssuedKey {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('hex');
  return {
    apiKey: `spk_${tenantId}_${keyId}${secret}`,
    record: {
      keyId,
      tenantId,
      secretHash: hashSecret(pepper, secret),
      permissions: opts.permissions ?? DEFAULT_KEY_PERMISSIONS,
      createdAt: (opts.now ?? new Date()).toISOString(),
      expiresAt: opts.expiresAt ?? null,
      revokedAt: null,
      lastUsedAt: null,
    },
  };
}

export interface CreateApiKeyOptions {
  /** Defaults to the tenant's default permissions. */
  permissions?: string[] | undefined;
  /** RFC 3339; must be in the future. Null or absent: no expiry. */
  expiresAt?: string | null | undefined;
  now?: Date | undefined;
}

/** Issues and stores a new key for an existing tenant. NOT_FOUND for an unknown tenant, INVALID_REQUEST for bad options. */
export async function createApiKey(
  state: AuthStores,
  pepper: string,
  tenantId: string,
  opts: CreateApiKeyOptions = {},
): Promise<IssuedKey> {
  const now = opts.now ?? new Date();
  const tenant = await state.tenants.get(tenantId);
  if (!tenant) throw notFound('tenant');
  const permissions = opts.permissions ?? tenant.defaultPermissions;
  assertKnownPermissions(permissions);
  const expiresAt = normalizeExpiry(opts.expiresAt, now);
  const issued = issueApiKey(pepper, tenantId, { permissions, expiresAt, now });
  await state.apiKeys.create(issued.record);
  return issued;
}

export interface RotatedKey extends IssuedKey {
  /** When the previous key stops working (RFC 3339). */
  previousKeyValidUntil: string;
}

export interface RotateApiKeyOptions {
  /** How long the old key keeps working; default 24 h, 0 = stops at once. */
  graceMs?: number | undefined;
  /** Expiry of the new key; default: the old key's expiry (rotation replaces the secret, not the policy). */
  expiresAt?: string | null | undefined;
  now?: Date | undefined;
}

/**
 * Issues a new key with the old key's permissions and shortens the old key's life to now + grace.
 * The new key is stored first, so a failure leaves the old key untouched. NOT_FOUND when the key is
 * not the tenant's; CONFLICT when it is already revoked or expired.
 */
export async function rotateApiKey(
  state: AuthStores,
  pepper: string,
  tenantId: string,
  keyId: string,
  opts: RotateApiKeyOptions = {},
): Promise<RotatedKey> {
  const now = opts.now ?? new Date();
  const graceMs = opts.graceMs ?? DEFAULT_ROTATION_GRACE_MS;
  if (!Number.isFinite(graceMs) || graceMs < 0)
    throw invalidRequest('grace period must be ≥ 0', { field: 'grace' });
  const old = await state.apiKeys.get(keyId);
  if (!old || old.tenantId !== tenantId) throw notFound('API key');
  const status = apiKeyStatus(old, now);
  if (status !== 'active') throw conflict(`API key is ${status}; create a new key instead`, { status });
  const expiresAt = opts.expiresAt !== undefined ? normalizeExpiry(opts.expiresAt, now) : old.expiresAt;
  const issued = issueApiKey(pepper, tenantId, { permissions: old.permissions, expiresAt, now });
  await state.apiKeys.create(issued.record);
  const graceEnd = now.getTime() + graceMs;
  const oldEnd = old.expiresAt ? Math.min(Date.parse(old.expiresAt), graceEnd) : graceEnd;
  const previousKeyValidUntil = new Date(oldEnd).toISOString();
  await state.apiKeys.update(keyId, { expiresAt: previousKeyValidUntil });
  return { ...issued, previousKeyValidUntil };
}

/** Revokes a key of the tenant (idempotent: a revoked key keeps its first revocation time). NOT_FOUND otherwise. */
export async function revokeApiKey(
  state: AuthStores,
  tenantId: string,
  keyId: string,
  opts: { now?: Date | undefined } = {},
): Promise<ApiKeyRecord> {
  const record = await state.apiKeys.get(keyId);
  if (!record || record.tenantId !== tenantId) throw notFound('API key');
  if (record.revokedAt) return record;
  const revokedAt = (opts.now ?? new Date()).toISOString();
  await state.apiKeys.update(keyId, { revokedAt });
  return { ...record, revokedAt };
}

function normalizeExpiry(expiresAt: string | null | undefined, now: Date): string | null {
  if (expiresAt == null) return null;
  const t = Date.parse(expiresAt);
  if (Number.isNaN(t)) throw invalidRequest('expires_at must be an RFC 3339 time', { field: 'expires_at' });
  if (t <= now.getTime()) throw invalidRequest('expires_at must be in the future', { field: 'expires_at' });
  return new Date(t).toISOString();
}

interface CacheEntry {
  principal: Principal;
  until: number;
  /** When the verification behind it started: in the second half of the TTL it is renewed ahead. */
  verifiedAt: number;
}

interface Verified {
  principal: Principal;
  expiresAtMs: number;
}

export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  /** Verifications under way, by cache key: a miss for a key already being verified waits for it. */
  private readonly verifying = new Map<string, Promise<Verified>>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly cacheTtlMs: number;

  constructor(
    private readonly state: AuthStores,
    private readonly pepper: string,
    cacheTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.cacheTtlMs = Math.max(0, Math.min(cacheTtlMs, MAX_API_KEY_CACHE_TTL_MS));
  }

  async authenticate(token: string): Promise<Principal> {
    const cacheKey = credentialCacheKey(token);
    const now = this.now();
    const hit = this.cache.get(cacheKey);
    if (hit) {
      if (hit.until > now) {
        this.renewAhead(cacheKey, token, hit, now);
        this.noteUse(hit.principal.credentialId, now);
        return hit.principal;
      }
      this.cache.delete(cacheKey);
    }
    const { principal } = await this.verifyOnce(cacheKey, token, now);
    this.noteUse(principal.credentialId, now);
    return principal;
  }

  /**
   * The principal of a key whose verification is cached and fresh, without waiting for any store
   * read; undefined otherwise. Like `authenticate`, a hit in the second half of the entry's life
   * starts its renewal in the background.
   */
  peek(token: string): Principal | undefined {
    if (this.cache.size === 0) return undefined;
    const cacheKey = credentialCacheKey(token);
    const hit = this.cache.get(cacheKey);
    const now = this.now();
    if (!hit || hit.until <= now) return undefined;
    this.renewAhead(cacheKey, token, hit, now);
    return hit.principal;
  }

  /**
   * Renew-ahead: a key used in the second half of its entry's life is verified again in the
   * background (one shared verification), so a busy key's entry is replaced before it expires and
   * no request waits for the store (nor falls out of the overload shed, http/overload-shed.ts) once
   * a TTL. The entry is never older than the TTL. A renewal that refuses the key (revoked,
   * expired, tenant suspended) removes it, so the key is refused from then on; one that fails for
   * another reason (the store did not answer) leaves it to end with its TTL, as before.
   */
  private renewAhead(cacheKey: string, token: string, hit: CacheEntry, now: number): void {
    if (!dueForRenewal(this.verifying, cacheKey, now - hit.verifiedAt, this.cacheTtlMs)) return;
    this.verifyOnce(cacheKey, token, now).catch((err: unknown) => {
      if (isApiError(err) && this.cache.get(cacheKey) === hit) this.cache.delete(cacheKey);
    });
  }

  /** One verification per key at a time; the run that verifies also caches the result. */
  private verifyOnce(cacheKey: string, token: string, now: number): Promise<Verified> {
    return sharedRun(this.verifying, cacheKey, () =>
      this.verify(token, now).then((v) => {
        if (this.cacheTtlMs > 0) {
          if (this.cache.size >= MAX_CACHE_ENTRIES) this.evictOldest();
          this.cache.set(cacheKey, {
            principal: v.principal,
            until: Math.min(now + this.cacheTtlMs, v.expiresAtMs),
            verifiedAt: now,
          });
        }
        return v;
      }),
    );
  }

  private async verify(token: string, now: number): Promise<Verified> {
    const m = KEY_PATTERN.exec(token);
    if (!m) throw unauthorized();
    const [, tenantId, keyId, secret] = m as unknown as [string, string, string, string];
    const record = await this.state.apiKeys.get(keyId);
    // Hash and compare even when the id is unknown, so timing does not tell which part was wrong.
    const expected = Buffer.from(record?.secretHash ?? '0'.repeat(64), 'hex');
    const actual = Buffer.from(hashSecret(this.pepper, secret), 'hex');
    const secretOk = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (!record || !secretOk || record.tenantId !== tenantId) throw unauthorized();
    if (apiKeyStatus(record, new Date(now)) !== 'active') throw unauthorized();
    const tenant = await this.state.tenants.get(tenantId);
    if (!tenant) throw unauthorized();
    if (tenant.status !== 'active') throw new ApiError('FORBIDDEN', 'tenant is suspended');
    return {
      principal: {
        tenantId,
        dbUser: tenant.dbUser,
        dbGroups: tenant.dbGroups,
        permissions: record.permissions,
        authMethod: 'api_key',
        credentialId: keyId,
      },
      expiresAtMs: record.expiresAt ? Date.parse(record.expiresAt) : Number.POSITIVE_INFINITY,
    };
  }

  private evictOldest(): void {
    const oldest = this.cache.keys().next();
    if (!oldest.done) this.cache.delete(oldest.value);
  }

  private noteUse(keyId: string, now: number): void {
    const last = this.lastUsedWritten.get(keyId) ?? 0;
    if (now - last < LAST_USED_WRITE_INTERVAL_MS) return;
    if (this.lastUsedWritten.size >= MAX_CACHE_ENTRIES) this.lastUsedWritten.clear();
    this.lastUsedWritten.set(keyId, now);
    this.state.apiKeys.update(keyId, { lastUsedAt: new Date(now).toISOString() }).catch(() => {});
  }
}
