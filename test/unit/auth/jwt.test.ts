import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { JwtAuthenticator, JwtConfigError, type JwtOptions } from '../../../src/auth/jwt.js';
import { MemoryState } from '../../fakes/memory-state.js';
import {
  claims,
  ecKeyPair,
  expectRejected,
  HS_SECRET,
  hsWithPublicKeyAsSecret,
  rsaKeyPair,
  signHs,
  signWith,
  unsignedToken,
} from '../../helpers/jwt-tokens.js';

const rsa = rsaKeyPair();
const otherRsa = rsaKeyPair();
const ec = ecKeyPair();

function setup(opts: Partial<JwtOptions> = {}) {
  const state = new MemoryState();
  state.addTenant('acme', { dbUser: 'tenant_acme', defaultPermissions: ['query:execute'] });
  state.addTenant('globex', { dbUser: 'tenant_globex' });
  const jwt = new JwtAuthenticator(state, { secret: HS_SECRET, ...opts });
  return { state, jwt };
}

/** Nothing in src/auth may write to the console or stdio while rejecting attacks. */
let outputSpies: MockInstance[] = [];
beforeEach(() => {
  outputSpies = [
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m)),
    vi.spyOn(process.stdout, 'write'),
    vi.spyOn(process.stderr, 'write'),
  ];
});
afterEach(() => {
  for (const spy of outputSpies) {
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  }
});

describe('JWT: valid tokens', () => {
  it('an HS256 token yields the tenant with the registry db_user and the claimed permissions', async () => {
    const { jwt } = setup();
    const token = await signHs(claims('acme', { permissions: ['query:execute', 'bulk:read'] }));
    expect(await jwt.authenticate(token)).toEqual({
      tenantId: 'acme',
      dbUser: 'tenant_acme',
      dbGroups: ['tenants'],
      permissions: ['query:execute', 'bulk:read'],
      authMethod: 'jwt',
      credentialId: 'user-of-acme',
    });
  });

  it('without a permissions claim the tenant default permissions apply', async () => {
    const { jwt } = setup();
    const p = await jwt.authenticate(await signHs(claims('acme')));
    expect(p.permissions).toEqual(['query:execute']);
  });

  it('a space-separated permissions string is accepted and unknown scopes are dropped', async () => {
    const { jwt } = setup();
    const p = await jwt.authenticate(
      await signHs(claims('acme', { permissions: 'openid query:execute bulk:*' })),
    );
    expect(p.permissions).toEqual(['query:execute', 'bulk:*']);
  });

  it('an empty permissions claim grants nothing (it does not fall back to the defaults)', async () => {
    const { jwt } = setup();
    const p = await jwt.authenticate(await signHs(claims('acme', { permissions: [] })));
    expect(p.permissions).toEqual([]);
  });

  it('a db_user claim equal to the registered role is honoured', async () => {
    const { jwt } = setup();
    const p = await jwt.authenticate(await signHs(claims('acme', { db_user: 'tenant_acme' })));
    expect(p.dbUser).toBe('tenant_acme');
  });

  it('claim names are configurable', async () => {
    const { jwt } = setup({
      claims: { tenantId: 'org', permissions: 'scope', subject: 'email', dbUser: 'role' },
    });
    const token = await signHs({
      ...claims('x'),
      tenant_id: undefined,
      org: 'globex',
      scope: 'bulk:read',
      email: 'a@b',
    });
    const p = await jwt.authenticate(token);
    expect(p).toMatchObject({ tenantId: 'globex', permissions: ['bulk:read'], credentialId: 'a@b' });
  });

  it('HS384 and HS512 work when configured with a long enough secret', async () => {
    const secret = 'x'.repeat(64);
    const { jwt } = setup({ secret, algorithms: ['HS384', 'HS512'] });
    await expect(
      jwt.authenticate(await signHs(claims('acme'), { secret, alg: 'HS512' })),
    ).resolves.toBeTruthy();
    await expect(
      jwt.authenticate(await signHs(claims('acme'), { secret, alg: 'HS384' })),
    ).resolves.toBeTruthy();
    await expectRejected(
      jwt.authenticate(await signHs(claims('acme'), { secret, alg: 'HS256' })),
      'UNAUTHORIZED',
    );
  });

  it('an RS256 token verifies against a PEM public key', async () => {
    const { jwt } = setup({ secret: undefined, publicKey: rsa.publicPem });
    const p = await jwt.authenticate(await signWith(claims('acme'), rsa.privateKey, 'RS256'));
    expect(p.tenantId).toBe('acme');
  });

  it('an ES256 token verifies against an EC PEM public key', async () => {
    const { jwt } = setup({ secret: undefined, publicKey: ec.publicPem });
    const p = await jwt.authenticate(await signWith(claims('globex'), ec.privateKey, 'ES256'));
    expect(p.tenantId).toBe('globex');
  });

  it('iss and aud are accepted when they match the configuration', async () => {
    const { jwt } = setup({ issuer: 'https://idp.example', audience: ['spectra', 'other'] });
    const token = await signHs(claims('acme', { iss: 'https://idp.example', aud: 'spectra' }));
    await expect(jwt.authenticate(token)).resolves.toMatchObject({ tenantId: 'acme' });
  });

  it('a token expired by less than the clock skew is still accepted', async () => {
    const { jwt } = setup({ clockSkewSeconds: 30 });
    const token = await signHs(claims('acme', { exp: Math.floor(Date.now() / 1000) - 10 }));
    await expect(jwt.authenticate(token)).resolves.toMatchObject({ tenantId: 'acme' });
  });
});

describe('JWT attack suite', () => {
  it('alg: none is rejected', async () => {
    const { jwt } = setup();
    const token = unsignedToken(claims('acme'));
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('alg: none is rejected even with a JWKS or public-key configuration', async () => {
    const { jwt } = setup({ secret: undefined, publicKey: rsa.publicPem });
    await expectRejected(jwt.authenticate(unsignedToken(claims('acme'))), 'UNAUTHORIZED');
  });

  it('HS256 signed with the RSA public key as secret is rejected', async () => {
    const { jwt } = setup({ secret: undefined, publicKey: rsa.publicPem });
    const token = hsWithPublicKeyAsSecret(claims('acme'), rsa.publicPem);
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token, rsa.publicPem]);
  });

  it('HS256 signed with the RSA public key is rejected even when HS256 and RS256 are both allowed', async () => {
    const { jwt } = setup({ publicKey: rsa.publicPem, algorithms: ['HS256', 'RS256'] });
    const token = hsWithPublicKeyAsSecret(claims('acme'), rsa.publicPem);
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('an RS256 token is rejected when only HS256 is configured', async () => {
    const { jwt } = setup();
    await expectRejected(
      jwt.authenticate(await signWith(claims('acme'), rsa.privateKey, 'RS256')),
      'UNAUTHORIZED',
    );
  });

  it('a token signed by another RSA key is rejected', async () => {
    const { jwt } = setup({ secret: undefined, publicKey: rsa.publicPem });
    const token = await signWith(claims('acme'), otherRsa.privateKey, 'RS256');
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('a token signed with another HMAC secret is rejected', async () => {
    const { jwt } = setup();
    const token = await signHs(claims('acme'), { secret: 'another-secret-0123456789abcdef012345' });
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token, HS_SECRET]);
  });

  it('an expired token is rejected (with the message "token has expired")', async () => {
    const { jwt } = setup({ clockSkewSeconds: 30 });
    const token = await signHs(claims('acme', { exp: Math.floor(Date.now() / 1000) - 31 }));
    const err = await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
    expect(err.message).toBe('token has expired');
  });

  it('a token without exp is rejected', async () => {
    const { jwt } = setup();
    const token = await signHs(claims('acme', { exp: undefined }));
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('nbf in the future (beyond the clock skew) is rejected', async () => {
    const { jwt } = setup({ clockSkewSeconds: 30 });
    const token = await signHs(claims('acme', { nbf: Math.floor(Date.now() / 1000) + 120 }));
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  describe('time claims against an injected clock (skew 30 s), at their boundaries', () => {
    // 2020-09-13: far from the real clock, so a test passing here cannot be using it.
    const NOW = 1_600_000_000;
    const atNow = () => setup({ clockSkewSeconds: 30, now: () => NOW * 1000 + 999 });
    const timed = (over: Record<string, unknown>) =>
      signHs(claims('acme', { iat: NOW, exp: NOW + 600, ...over }));

    it('a token valid by the injected clock is accepted, though the real clock says it expired years ago', async () => {
      const { jwt } = atNow();
      await expect(jwt.authenticate(await timed({}))).resolves.toMatchObject({ tenantId: 'acme' });
    });

    it('iat in the future beyond the skew is rejected like nbf (issue 16: iat = now + 3600 was accepted)', async () => {
      const { jwt } = atNow();
      for (const iat of [NOW + 3600, NOW + 31]) {
        const token = await timed({ iat });
        const err = await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
        const nbfErr = await expectRejected(jwt.authenticate(await timed({ nbf: iat })), 'UNAUTHORIZED');
        expect(err.message, `iat = now + ${iat - NOW}`).toBe(nbfErr.message);
      }
    });

    it('iat in the future within the skew is accepted (the issuer’s clock may run ahead)', async () => {
      const { jwt } = atNow();
      for (const iat of [NOW + 1, NOW + 30]) {
        await expect(
          jwt.authenticate(await timed({ iat })),
          `iat = now + ${iat - NOW}`,
        ).resolves.toMatchObject({
          tenantId: 'acme',
        });
      }
    });

    it('iat, nbf or exp that is not a number is rejected', async () => {
      const { jwt } = atNow();
      for (const claim of ['iat', 'nbf', 'exp']) {
        for (const value of [String(NOW), null, true, [NOW], { t: NOW }]) {
          const token = await timed({ [claim]: value });
          await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
        }
      }
    });

    it('nbf: now + skew is accepted, now + skew + 1 is rejected', async () => {
      const { jwt } = atNow();
      await expect(jwt.authenticate(await timed({ nbf: NOW + 30 }))).resolves.toMatchObject({
        tenantId: 'acme',
      });
      const token = await timed({ nbf: NOW + 31 });
      await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
    });

    it('exp: now - skew + 1 is accepted, now - skew is rejected as expired', async () => {
      const { jwt } = atNow();
      await expect(jwt.authenticate(await timed({ exp: NOW - 29 }))).resolves.toMatchObject({
        tenantId: 'acme',
      });
      const token = await timed({ exp: NOW - 30 });
      const err = await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
      expect(err.message).toBe('token has expired');
    });

    it('exp is required, also with valid iat and nbf', async () => {
      const { jwt } = atNow();
      const token = await timed({ exp: undefined, nbf: NOW });
      await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
    });
  });

  it('a lifetime beyond the configured maximum is rejected', async () => {
    const { jwt } = setup({ maxLifetimeSeconds: 3600 });
    const token = await signHs(claims('acme', { exp: Math.floor(Date.now() / 1000) + 86_400 }));
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('a wrong iss is rejected', async () => {
    const { jwt } = setup({ issuer: 'https://idp.example' });
    const token = await signHs(claims('acme', { iss: 'https://evil.example' }));
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('a missing iss is rejected when an issuer is configured', async () => {
    const { jwt } = setup({ issuer: 'https://idp.example' });
    await expectRejected(jwt.authenticate(await signHs(claims('acme'))), 'UNAUTHORIZED');
  });

  it('a wrong aud is rejected', async () => {
    const { jwt } = setup({ audience: 'spectra' });
    const token = await signHs(claims('acme', { aud: 'billing' }));
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('a token carrying aud is rejected when no audience is configured', async () => {
    const { jwt } = setup();
    await expectRejected(jwt.authenticate(await signHs(claims('acme', { aud: 'billing' }))), 'UNAUTHORIZED');
  });

  it('a missing tenant claim is rejected (sub is not used as the tenant)', async () => {
    const { jwt } = setup();
    const token = await signHs(claims('acme', { tenant_id: undefined, sub: 'acme' }));
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('a malformed tenant claim is rejected', async () => {
    const { jwt } = setup();
    await expectRejected(jwt.authenticate(await signHs(claims('ACME; DROP'))), 'UNAUTHORIZED');
    await expectRejected(
      jwt.authenticate(await signHs(claims('acme', { tenant_id: ['acme'] }))),
      'UNAUTHORIZED',
    );
  });

  it('an unknown tenant is rejected', async () => {
    const { jwt } = setup();
    await expectRejected(jwt.authenticate(await signHs(claims('initech'))), 'UNAUTHORIZED');
  });

  it('a suspended tenant is FORBIDDEN', async () => {
    const { jwt, state } = setup();
    await state.tenants.update('acme', { status: 'suspended' });
    await expectRejected(jwt.authenticate(await signHs(claims('acme'))), 'FORBIDDEN');
  });

  it('a db_user claim naming another tenant’s role is FORBIDDEN', async () => {
    const { jwt } = setup();
    const token = await signHs(claims('acme', { db_user: 'tenant_globex' }));
    const err = await expectRejected(jwt.authenticate(token), 'FORBIDDEN', [token]);
    expect(err.message).not.toContain('tenant_globex');
  });

  it('a db_user claim naming a superuser is FORBIDDEN', async () => {
    const { jwt } = setup();
    await expectRejected(
      jwt.authenticate(await signHs(claims('acme', { db_user: 'postgres' }))),
      'FORBIDDEN',
    );
  });

  it('a 9 KB token is rejected before any parsing', async () => {
    const { jwt } = setup();
    const token = await signHs(claims('acme', { padding: 'x'.repeat(9 * 1024) }));
    expect(token.length).toBeGreaterThan(9 * 1024);
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED', [token]);
  });

  it('malformed base64 in a token is rejected', async () => {
    const { jwt } = setup();
    const good = await signHs(claims('acme'));
    const [h, p, s] = good.split('.');
    for (const bad of [`${h}.${p}!.${s}`, `${h}.%%%.${s}`, `${h}..${s}`, `${h}.${p}`, `${h}.${p}.${s}.x`]) {
      await expectRejected(jwt.authenticate(bad), 'UNAUTHORIZED', [bad]);
    }
  });

  it('malformed JSON in the header or payload is rejected', async () => {
    const { jwt } = setup();
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const good = await signHs(claims('acme'));
    const [h, , s] = good.split('.');
    for (const bad of [
      `${h}.${b64('{"tenant_id":')}.${s}`,
      `${b64('{alg:HS256}')}.${b64('{}')}.${s}`,
      `${h}.${b64('[]')}.${s}`,
    ]) {
      await expectRejected(jwt.authenticate(bad), 'UNAUTHORIZED', [bad]);
    }
  });

  it('a tampered payload (tenant swapped) is rejected', async () => {
    const { jwt } = setup();
    const [h, , s] = (await signHs(claims('acme'))).split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify(claims('globex'))).toString('base64url')}.${s}`;
    await expectRejected(jwt.authenticate(forged), 'UNAUTHORIZED', [forged]);
  });

  it('an ill-typed permissions claim is rejected', async () => {
    const { jwt } = setup();
    await expectRejected(
      jwt.authenticate(await signHs(claims('acme', { permissions: { all: true } }))),
      'UNAUTHORIZED',
    );
    await expectRejected(
      jwt.authenticate(await signHs(claims('acme', { permissions: [1, 2] }))),
      'UNAUTHORIZED',
    );
  });
});

describe('JWT cache', () => {
  // Date stands still in these two, so a slow machine cannot pass the 1 s tenant recheck by accident.
  it('a verified token is served from the cache: no tenant read in the first half second, then one shared renewal in the background', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { jwt, state } = setup();
      const token = await signHs(claims('acme'));
      await jwt.authenticate(token);
      const reads = state.reads.tenants;
      vi.setSystemTime(Date.now() + 499);
      await jwt.authenticate(token);
      expect(state.reads.tenants).toBe(reads);
      // Second half: answered from the cache at once; one read renews the entry for every caller.
      vi.setSystemTime(Date.now() + 500);
      const principals = await Promise.all(Array.from({ length: 5 }, () => jwt.authenticate(token)));
      expect(jwt.peek(token)).toEqual(principals[0]);
      expect(state.reads.tenants).toBe(reads + 1);
      // Renewed (once the background read has settled): fresh past the first entry's end, no further read.
      await new Promise((r) => setImmediate(r));
      vi.setSystemTime(Date.now() + 400);
      expect(jwt.peek(token)).toEqual(principals[0]);
      await jwt.authenticate(token);
      expect(state.reads.tenants).toBe(reads + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a suspension applies to an already cached token within 1 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { jwt, state } = setup();
      const token = await signHs(claims('acme'));
      await jwt.authenticate(token);
      await state.tenants.update('acme', { status: 'suspended' });
      vi.setSystemTime(Date.now() + 1000);
      await expectRejected(jwt.authenticate(token), 'FORBIDDEN');
    } finally {
      vi.useRealTimers();
    }
  });

  it('a cached token stops working when it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { jwt } = setup({ clockSkewSeconds: 0, cacheTtlMs: 3_600_000 });
      const token = await signHs(claims('acme', { exp: Math.floor(Date.now() / 1000) + 5 }));
      await jwt.authenticate(token);
      vi.setSystemTime(Date.now() + 6000);
      await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED');
    } finally {
      vi.useRealTimers();
    }
  });

  it('calls that find the tenant stale while it is being re-read share that one read', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { jwt, state } = setup();
      const token = await signHs(claims('acme'));
      await jwt.authenticate(token);
      vi.setSystemTime(Date.now() + 1000);
      const reads = state.reads.tenants;
      const principals = await Promise.all(Array.from({ length: 40 }, () => jwt.authenticate(token)));
      expect(state.reads.tenants - reads).toBe(1);
      expect(new Set(principals.map((p) => p.tenantId))).toEqual(new Set(['acme']));
    } finally {
      vi.useRealTimers();
    }
  });

  it('peek answers only while both the token and its tenant are fresh in the cache, and never reads', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { jwt, state } = setup();
      const token = await signHs(claims('acme'));
      expect(jwt.peek(token)).toBeUndefined();
      const principal = await jwt.authenticate(token);
      const reads = state.reads.tenants;
      expect(jwt.peek(token)).toEqual(principal);
      expect(jwt.peek(await signHs(claims('globex')))).toBeUndefined();
      vi.setSystemTime(Date.now() + 1000);
      // The token is still cached, its tenant is due for a re-read: only the full call may say.
      expect(jwt.peek(token)).toBeUndefined();
      expect(state.reads.tenants).toBe(reads);
      await state.tenants.update('acme', { status: 'suspended' });
      await expectRejected(jwt.authenticate(token), 'FORBIDDEN');
      expect(jwt.peek(token)).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a rejected token is not cached: the tenant created afterwards is accepted at once', async () => {
    const { jwt, state } = setup();
    const token = await signHs(claims('newco'));
    await expectRejected(jwt.authenticate(token), 'UNAUTHORIZED');
    state.addTenant('newco');
    await expect(jwt.authenticate(token)).resolves.toMatchObject({ tenantId: 'newco' });
  });
});

describe('JWT configuration', () => {
  const state = new MemoryState();
  const config = (o: JwtOptions) => () => new JwtAuthenticator(state, o);

  it('refuses to start without key material', () => {
    expect(config({})).toThrow(JwtConfigError);
  });

  it('refuses an HMAC secret shorter than the hash output', () => {
    expect(config({ secret: 'short' })).toThrow(/at least 32 bytes/);
    expect(config({ secret: 'x'.repeat(40), algorithms: ['HS512'] })).toThrow(/at least 64 bytes/);
  });

  it('refuses a PEM key given as the HMAC secret', () => {
    expect(config({ secret: rsa.publicPem })).toThrow(/looks like a PEM key/);
  });

  it('refuses an algorithm that does not fit the key', () => {
    expect(config({ publicKey: rsa.publicPem, algorithms: ['ES256'] })).toThrow(/does not fit/);
    expect(config({ publicKey: rsa.publicPem, algorithms: ['HS256'] })).toThrow(/needs a shared secret/);
    expect(config({ secret: HS_SECRET, algorithms: ['none' as 'HS256'] })).toThrow(/unsupported algorithm/);
  });

  it('refuses a private key, a broken PEM and a plain-http remote JWKS URL', () => {
    const priv = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(config({ publicKey: priv })).toThrow(/not the private key/);
    expect(config({ publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' })).toThrow(
      /not a valid/,
    );
    expect(config({ jwksUrl: 'http://idp.example/jwks.json' })).toThrow(/https/);
    expect(config({ jwksUrl: 'http://127.0.0.1:1/jwks.json' })).not.toThrow();
  });

  it('configuration errors never contain the secret', () => {
    const secret = 'short-secret';
    try {
      new JwtAuthenticator(state, { secret });
      expect.unreachable();
    } catch (e) {
      expect(String(e)).not.toContain(secret);
    }
  });
});
