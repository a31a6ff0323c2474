import { describe, expect, it } from 'vitest';
import {
  ApiKeyAuthenticator,
  apiKeyId,
  apiKeyStatus,
  createApiKey,
  DEFAULT_ROTATION_GRACE_MS,
  hashSecret,
  issueApiKey,
  revokeApiKey,
  rotateApiKey,
} from '../../../src/auth/api-key.js';
import { createAuthenticator } from '../../../src/auth/index.js';
import type { ApiError } from '../../../src/domain/errors.js';
import { MemoryState } from '../../fakes/memory-state.js';
import { claims, expectRejected, HS_SECRET, signHs } from '../../helpers/jwt-tokens.js';
import { type ManualClock, manualClock } from '../../helpers/time.js';

const PEPPER = 'pepper-for-tests';

/** With a `clock`, the authenticator reads it, and the test dates its writes with it (`at`). */
function setup(cacheTtlMs = 1000, clock?: ManualClock) {
  const state = new MemoryState();
  state.addTenant('acme', { dbUser: 'tenant_acme', defaultPermissions: ['query:execute', 'bulk:read'] });
  state.addTenant('globex', { dbUser: 'tenant_globex' });
  return { state, auth: new ApiKeyAuthenticator(state, PEPPER, cacheTtlMs, clock?.now) };
}
const at = (clock: ManualClock) => ({ now: new Date(clock.now()) });

describe('API keys: issuing and verifying', () => {
  it('a created key authenticates as its tenant with the registry db_user and the key’s permissions', async () => {
    const { state, auth } = setup();
    const { apiKey, record } = await createApiKey(state, PEPPER, 'acme', { permissions: ['query:execute'] });
    expect(apiKey).toMatch(/^spk_acme_[0-9a-f]{16}[0-9a-f]{64}$/);
    expect(await auth.authenticate(apiKey)).toEqual({
      tenantId: 'acme',
      dbUser: 'tenant_acme',
      dbGroups: ['tenants'],
      permissions: ['query:execute'],
      authMethod: 'api_key',
      credentialId: record.keyId,
    });
  });

  it('a new key gets the tenant’s default permissions unless it names its own', async () => {
    const { state } = setup();
    expect((await createApiKey(state, PEPPER, 'acme')).record.permissions).toEqual([
      'query:execute',
      'bulk:read',
    ]);
  });

  it('only the keyed hash of the secret is stored', async () => {
    const { state } = setup();
    const { apiKey, record } = await createApiKey(state, PEPPER, 'acme');
    const stored = JSON.stringify(state.keyRows.get(record.keyId));
    const secret = apiKey.slice(-64);
    expect(stored).not.toContain(secret);
    expect(record.secretHash).toBe(hashSecret(PEPPER, secret));
  });

  it('a key is looked up by its id', () => {
    const { apiKey, record } = issueApiKey(PEPPER, 'acme');
    expect(apiKeyId(apiKey)).toBe(record.keyId);
    expect(apiKeyId('spk_acme_nothex')).toBeNull();
  });

  it('unknown permissions and past expiry times are refused at creation', async () => {
    const { state } = setup();
    await expect(createApiKey(state, PEPPER, 'acme', { permissions: ['query:drop'] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(
      createApiKey(state, PEPPER, 'acme', { expiresAt: '2000-01-01T00:00:00Z' }),
    ).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(createApiKey(state, PEPPER, 'nobody')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a key issued but not yet stored fails, then works as soon as it is stored (failures are not cached)', async () => {
    const { state, auth } = setup();
    const { apiKey, record } = issueApiKey(PEPPER, 'acme');
    await expectRejected(auth.authenticate(apiKey), 'UNAUTHORIZED', [apiKey]);
    await state.apiKeys.create(record);
    await expect(auth.authenticate(apiKey)).resolves.toMatchObject({ tenantId: 'acme' });
  });

  it('a verified key is cached: repeated calls do not read the store', async () => {
    const { state, auth } = setup();
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    await auth.authenticate(apiKey);
    const reads = state.reads.apiKeys;
    for (let i = 0; i < 5; i++) await auth.authenticate(apiKey);
    expect(state.reads.apiKeys).toBe(reads);
  });
});

describe('API keys: verification under load', () => {
  it('concurrent misses for one key share one verification: one store read, not one each', async () => {
    const clock = manualClock();
    const { state, auth } = setup(1000, clock);
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    await auth.authenticate(apiKey);
    clock.advance(1000);
    const reads = state.reads.apiKeys;
    const principals = await Promise.all(Array.from({ length: 50 }, () => auth.authenticate(apiKey)));
    expect(state.reads.apiKeys - reads).toBe(1);
    expect(new Set(principals.map((p) => p.tenantId))).toEqual(new Set(['acme']));
  });

  it('a shared verification that fails fails every caller waiting on it, and is not remembered', async () => {
    const { state, auth } = setup();
    const { apiKey, record } = issueApiKey(PEPPER, 'acme');
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => auth.authenticate(apiKey)));
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    await state.apiKeys.create(record);
    await expect(auth.authenticate(apiKey)).resolves.toMatchObject({ tenantId: 'acme' });
  });

  it('renew-ahead: a key used in the second half of its entry’s life is verified again once, in the background, so a busy key never waits for the store', async () => {
    const clock = manualClock();
    const { state, auth } = setup(1000, clock);
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    const principal = await auth.authenticate(apiKey);
    const reads = state.reads.apiKeys;
    clock.advance(499);
    await auth.authenticate(apiKey);
    expect(auth.peek(apiKey)).toEqual(principal);
    expect(state.reads.apiKeys).toBe(reads);
    // Second half: every caller is answered from the entry; one verification renews it.
    clock.advance(1);
    expect(auth.peek(apiKey)).toEqual(principal);
    await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(apiKey)));
    await new Promise((r) => setImmediate(r));
    expect(state.reads.apiKeys).toBe(reads + 1);
    // Past the first entry's end the renewed one answers at once (and, in its own second half, renews).
    clock.advance(600);
    expect(auth.peek(apiKey)).toEqual(principal);
    await new Promise((r) => setImmediate(r));
    expect(state.reads.apiKeys).toBe(reads + 2);
  });

  it('renew-ahead: a key revoked meanwhile is dropped by its renewal, before the TTL would have ended it', async () => {
    const clock = manualClock();
    const { state, auth } = setup(1000, clock);
    const { apiKey, record } = await createApiKey(state, PEPPER, 'acme');
    await auth.authenticate(apiKey);
    await revokeApiKey(state, 'acme', record.keyId);
    clock.advance(600);
    // Still within its TTL: answered from the entry while the renewal runs…
    expect(auth.peek(apiKey)).toMatchObject({ tenantId: 'acme' });
    await new Promise((r) => setImmediate(r));
    // …which found the key revoked: gone at once, not 400 ms later.
    expect(auth.peek(apiKey)).toBeUndefined();
    await expect(auth.authenticate(apiKey)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('renew-ahead: a renewal the store fails leaves the entry to end with its TTL, as before', async () => {
    const clock = manualClock();
    const { state, auth } = setup(1000, clock);
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    const principal = await auth.authenticate(apiKey);
    const get = state.apiKeys.get.bind(state.apiKeys);
    state.apiKeys.get = () => Promise.reject(new Error('connection terminated'));
    clock.advance(600);
    expect(auth.peek(apiKey)).toEqual(principal);
    await new Promise((r) => setImmediate(r));
    expect(auth.peek(apiKey)).toEqual(principal);
    state.apiKeys.get = get;
    clock.advance(400);
    expect(auth.peek(apiKey)).toBeUndefined();
  });

  it('peek answers only from a fresh cache entry, and in the entry’s first half never verifies or reads the store', async () => {
    const clock = manualClock();
    const { state, auth } = setup(1000, clock);
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    const { apiKey: other } = await createApiKey(state, PEPPER, 'globex');
    const reads = state.reads.apiKeys;
    expect(auth.peek(apiKey)).toBeUndefined();
    expect(state.reads.apiKeys).toBe(reads);
    const principal = await auth.authenticate(apiKey);
    expect(auth.peek(apiKey)).toEqual(principal);
    expect(auth.peek(other)).toBeUndefined();
    // A key that differs in its last character only (never equal to the key itself).
    const altered = `${apiKey.slice(0, -1)}${apiKey.endsWith('0') ? '1' : '0'}`;
    expect(auth.peek(altered)).toBeUndefined();
    clock.advance(1000);
    expect(auth.peek(apiKey)).toBeUndefined();
  });

  it('peek through the composed authenticator: API keys and JWTs, within the credential length cap', async () => {
    const { state } = setup();
    const authenticate = createAuthenticator({
      state,
      pepper: PEPPER,
      apiKeyCacheTtlMs: 1000,
      jwt: { secret: HS_SECRET },
    });
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    const jwt = await signHs(claims('acme'));
    expect(authenticate.peek?.(apiKey)).toBeUndefined();
    expect(authenticate.peek?.(jwt)).toBeUndefined();
    await authenticate(apiKey);
    await authenticate(jwt);
    expect(authenticate.peek?.(apiKey)).toMatchObject({ tenantId: 'acme', authMethod: 'api_key' });
    expect(authenticate.peek?.(jwt)).toMatchObject({ tenantId: 'acme', authMethod: 'jwt' });
    expect(authenticate.peek?.('not-a-credential')).toBeUndefined();
    expect(authenticate.peek?.(`${apiKey}${'0'.repeat(9000)}`)).toBeUndefined();
  });
});

describe('API key attack suite', () => {
  it('a wrong secret for a real key id is rejected', async () => {
    const { state, auth } = setup();
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    const forged = `${apiKey.slice(0, -64)}${'0'.repeat(64)}`;
    await expectRejected(auth.authenticate(forged), 'UNAUTHORIZED', [forged, apiKey]);
  });

  it('a key of tenant A presented with tenant B’s prefix is rejected', async () => {
    const { state, auth } = setup();
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    const swapped = apiKey.replace('spk_acme_', 'spk_globex_');
    await expectRejected(auth.authenticate(swapped), 'UNAUTHORIZED', [swapped, apiKey]);
  });

  it('tenant B’s prefix with tenant A’s key id and a made-up secret is rejected', async () => {
    const { state, auth } = setup();
    const a = await createApiKey(state, PEPPER, 'acme');
    const forged = `spk_globex_${a.record.keyId}${'f'.repeat(64)}`;
    await expectRejected(auth.authenticate(forged), 'UNAUTHORIZED', [forged, a.apiKey]);
  });

  it('a revoked key is rejected', async () => {
    const { state, auth } = setup(0);
    const { apiKey, record } = await createApiKey(state, PEPPER, 'acme');
    await auth.authenticate(apiKey);
    await revokeApiKey(state, 'acme', record.keyId);
    await expectRejected(auth.authenticate(apiKey), 'UNAUTHORIZED', [apiKey]);
  });

  it('a revoked key is rejected within 1 s even by a process that had it cached and is configured for 60 s', async () => {
    const clock = manualClock();
    const { state } = setup(1000, clock);
    const auth = new ApiKeyAuthenticator(state, PEPPER, 60_000, clock.now);
    const { apiKey, record } = await createApiKey(state, PEPPER, 'acme');
    await auth.authenticate(apiKey);
    await revokeApiKey(state, 'acme', record.keyId, at(clock));
    clock.advance(999);
    await expect(auth.authenticate(apiKey)).resolves.toBeTruthy();
    clock.advance(1);
    await expectRejected(auth.authenticate(apiKey), 'UNAUTHORIZED');
  });

  it('a key past its expiry is rejected', async () => {
    const clock = manualClock();
    const { state, auth } = setup(1000, clock);
    const { apiKey } = await createApiKey(state, PEPPER, 'acme', {
      expiresAt: new Date(clock.now() + 50).toISOString(),
      ...at(clock),
    });
    await expect(auth.authenticate(apiKey)).resolves.toBeTruthy();
    clock.advance(50);
    await expectRejected(auth.authenticate(apiKey), 'UNAUTHORIZED', [apiKey]);
  });

  it('a rotated key works during its grace period and is rejected after it', async () => {
    const clock = manualClock();
    const { state, auth } = setup(0, clock);
    const old = await createApiKey(state, PEPPER, 'acme', { permissions: ['bulk:read'] });
    const rotated = await rotateApiKey(state, PEPPER, 'acme', old.record.keyId, {
      graceMs: 60,
      ...at(clock),
    });
    expect(rotated.record.permissions).toEqual(['bulk:read']);
    await expect(auth.authenticate(old.apiKey)).resolves.toMatchObject({ credentialId: old.record.keyId });
    await expect(auth.authenticate(rotated.apiKey)).resolves.toMatchObject({
      credentialId: rotated.record.keyId,
    });
    clock.advance(60);
    await expectRejected(auth.authenticate(old.apiKey), 'UNAUTHORIZED', [old.apiKey]);
    await expect(auth.authenticate(rotated.apiKey)).resolves.toBeTruthy();
  });

  it('rotation defaults to a 24 h grace and never extends an earlier expiry', async () => {
    const { state } = setup();
    const now = new Date('2030-01-01T00:00:00Z');
    const a = await createApiKey(state, PEPPER, 'acme', { now: new Date('2029-12-31T00:00:00Z') });
    const r = await rotateApiKey(state, PEPPER, 'acme', a.record.keyId, { now });
    expect(DEFAULT_ROTATION_GRACE_MS).toBe(86_400_000);
    expect(r.previousKeyValidUntil).toBe('2030-01-02T00:00:00.000Z');
    const soon = new Date(now.getTime() + 3_600_000).toISOString();
    const b = await createApiKey(state, PEPPER, 'acme', { expiresAt: soon, now });
    const rb = await rotateApiKey(state, PEPPER, 'acme', b.record.keyId, { now });
    expect(rb.previousKeyValidUntil).toBe(soon);
    expect(rb.record.expiresAt).toBe(soon);
  });

  it('a revoked or foreign key cannot be rotated or revoked through another tenant', async () => {
    const { state } = setup();
    const a = await createApiKey(state, PEPPER, 'acme');
    await expect(rotateApiKey(state, PEPPER, 'globex', a.record.keyId)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(revokeApiKey(state, 'globex', a.record.keyId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await revokeApiKey(state, 'acme', a.record.keyId);
    await expect(rotateApiKey(state, PEPPER, 'acme', a.record.keyId)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('revoking twice keeps the first revocation time', async () => {
    const { state } = setup();
    const a = await createApiKey(state, PEPPER, 'acme');
    const first = await revokeApiKey(state, 'acme', a.record.keyId, {
      now: new Date('2030-01-01T00:00:00Z'),
    });
    const second = await revokeApiKey(state, 'acme', a.record.keyId, {
      now: new Date('2031-01-01T00:00:00Z'),
    });
    expect(second.revokedAt).toBe(first.revokedAt);
    expect(apiKeyStatus(second, new Date('2030-06-01T00:00:00Z'))).toBe('revoked');
  });

  it('a key of a suspended tenant is FORBIDDEN, within 1 s of the suspension', async () => {
    const clock = manualClock();
    const { state, auth } = setup(1000, clock);
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    await auth.authenticate(apiKey);
    await state.tenants.update('acme', { status: 'suspended' });
    clock.advance(1000);
    await expectRejected(auth.authenticate(apiKey), 'FORBIDDEN', [apiKey]);
  });

  it('a key whose tenant was deleted is rejected', async () => {
    const { state, auth } = setup();
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    await state.tenants.delete('acme');
    await expectRejected(auth.authenticate(apiKey), 'UNAUTHORIZED');
  });

  it('malformed keys are rejected without a store lookup', async () => {
    const { state, auth } = setup();
    for (const bad of [
      'spk_',
      'spk_acme_',
      `spk_ACME_${'a'.repeat(80)}`,
      `spk_acme_${'g'.repeat(80)}`,
      `spk_acme_${'a'.repeat(81)}`,
    ]) {
      await expectRejected(auth.authenticate(bad), 'UNAUTHORIZED', [bad]);
    }
    expect(state.reads.apiKeys).toBe(0);
  });

  it('the error for a wrong secret and for an unknown key id is the same', async () => {
    const { state, auth } = setup();
    const { apiKey } = await createApiKey(state, PEPPER, 'acme');
    const wrongSecret = await auth
      .authenticate(`${apiKey.slice(0, -64)}${'0'.repeat(64)}`)
      .catch((e: ApiError) => e);
    const unknownId = await auth.authenticate(`spk_acme_${'0'.repeat(80)}`).catch((e: ApiError) => e);
    expect(wrongSecret).toEqual(unknownId);
  });
});
