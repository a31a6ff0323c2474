/**
 * Credential lifecycle against the real PostgreSQL StateStore, with two authenticators standing for
 * two API processes (each its own pool and cache): a revocation, rotation or suspension made
 * through one is seen by the other within 1 s, and a new key works in both at once. API keys run on
 * one manual clock (the 1 s is the cache's, not the machine's speed); JWTs on the real one.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Authenticate,
  createApiKey,
  createAuthenticator,
  revokeApiKey,
  rotateApiKey,
} from '../../../src/auth/index.js';
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import {
  type EmbeddedPostgres,
  startEmbeddedPostgres,
} from '../../../src/warehouse/embedded/postgres-process.js';
import { claims, expectRejected, HS_SECRET, signHs } from '../../helpers/jwt-tokens.js';
import { manualClock, waitFor } from '../../helpers/time.js';

const PEPPER = 'integration-pepper';
let home: string;
let pg: EmbeddedPostgres;
let admin: PostgresStateStore;
const processes: { state: PostgresStateStore; authenticate: Authenticate }[] = [];
const clock = manualClock();
const at = () => ({ now: new Date(clock.now()) });

function stateStore(): PostgresStateStore {
  return new PostgresStateStore({
    host: pg.host,
    port: pg.port,
    user: pg.superuser,
    password: pg.superuserPassword,
    database: 'postgres',
    poolSize: 2,
  });
}

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'spectra-auth-'));
  // PostgreSQL runs as the OS user `postgres` when the tests run as root: it must reach the folder.
  await chmod(home, 0o755);
  pg = await startEmbeddedPostgres({ home });
  admin = stateStore();
  await admin.migrate();
  for (let i = 0; i < 2; i++) {
    const state = stateStore();
    processes.push({
      state,
      authenticate: createAuthenticator({
        state,
        pepper: PEPPER,
        apiKeyCacheTtlMs: 1000,
        jwt: { secret: HS_SECRET },
        now: clock.now,
      }),
    });
  }
  const now = new Date().toISOString();
  for (const tenantId of ['acme', 'globex']) {
    await admin.tenants.create({
      tenantId,
      name: tenantId,
      dbUser: `tenant_${tenantId}`,
      dbGroups: [],
      status: 'active',
      defaultPermissions: ['query:*', 'bulk:*'],
      createdAt: now,
      updatedAt: now,
    });
  }
});

afterAll(async () => {
  for (const p of processes) await p.state.close();
  await admin?.close();
  await pg?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

const rejects = (p: Promise<unknown>, code: string) =>
  p.then(
    () => false,
    (e: { code?: string }) => e.code === code,
  );

describe('credentials against PostgreSQL, across two processes', () => {
  it('a key created through the admin connection works at once in both processes', async () => {
    const { apiKey } = await createApiKey(admin, PEPPER, 'acme');
    for (const p of processes)
      await expect(p.authenticate(apiKey)).resolves.toMatchObject({ tenantId: 'acme' });
  });

  it('a revoked key is rejected everywhere within 1 s', async () => {
    const { apiKey, record } = await createApiKey(admin, PEPPER, 'acme');
    for (const p of processes) await p.authenticate(apiKey);
    await revokeApiKey(admin, 'acme', record.keyId, at());
    clock.advance(1000);
    for (const p of processes) await expectRejected(p.authenticate(apiKey), 'UNAUTHORIZED', [apiKey]);
  });

  it('a rotated key keeps working for its grace period, then is rejected; the new key works', async () => {
    const old = await createApiKey(admin, PEPPER, 'acme');
    const rotated = await rotateApiKey(admin, PEPPER, 'acme', old.record.keyId, { graceMs: 300, ...at() });
    const [a, b] = processes as [(typeof processes)[0], (typeof processes)[0]];
    await expect(a.authenticate(old.apiKey)).resolves.toBeTruthy();
    await expect(b.authenticate(rotated.apiKey)).resolves.toMatchObject({
      credentialId: rotated.record.keyId,
    });
    const stored = await admin.apiKeys.get(old.record.keyId);
    expect(stored?.expiresAt).toBe(rotated.previousKeyValidUntil);
    clock.advance(300);
    for (const p of processes) await expectRejected(p.authenticate(old.apiKey), 'UNAUTHORIZED', [old.apiKey]);
    await expect(a.authenticate(rotated.apiKey)).resolves.toBeTruthy();
  });

  it('suspending a tenant makes its API keys and JWTs FORBIDDEN within 1 s; resuming restores them', async () => {
    const { apiKey } = await createApiKey(admin, PEPPER, 'globex');
    const jwt = await signHs(claims('globex'));
    for (const p of processes) {
      await p.authenticate(apiKey);
      await p.authenticate(jwt);
    }
    await admin.tenants.update('globex', { status: 'suspended' });
    clock.advance(1000);
    for (const p of processes) await expectRejected(p.authenticate(apiKey), 'FORBIDDEN', [apiKey]);
    // JWTs recheck their tenant on the real clock at most 1 s apart (unit: jwt.test.ts "JWT cache").
    for (const p of processes) await waitFor(() => rejects(p.authenticate(jwt), 'FORBIDDEN'));
    await admin.tenants.update('globex', { status: 'active' });
    clock.advance(1000);
    for (const p of processes) {
      await expect(p.authenticate(apiKey)).resolves.toMatchObject({ tenantId: 'globex' });
      await waitFor(async () => !(await rejects(p.authenticate(jwt), 'FORBIDDEN')));
    }
  });

  it('last_used_at is recorded off the request path', async () => {
    const { apiKey, record } = await createApiKey(admin, PEPPER, 'acme');
    await processes[0]!.authenticate(apiKey);
    await waitFor(async () => (await admin.apiKeys.get(record.keyId))?.lastUsedAt != null);
  });

  it('only the keyed hash is stored in PostgreSQL', async () => {
    const { apiKey, record } = await createApiKey(admin, PEPPER, 'acme');
    const keys = await admin.apiKeys.listByTenant('acme');
    expect(JSON.stringify(keys)).not.toContain(apiKey.slice(-64));
    expect(keys.find((k) => k.keyId === record.keyId)?.secretHash).toMatch(/^[0-9a-f]{64}$/);
  });
});
