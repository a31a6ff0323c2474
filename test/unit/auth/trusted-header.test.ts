import { describe, expect, it } from 'vitest';
import {
  createTrustedHeaderAuthenticator,
  type TrustedHeaderOptions,
} from '../../../src/auth/trusted-header.js';
import { MemoryState } from '../../fakes/memory-state.js';
import { expectRejected } from '../../helpers/jwt-tokens.js';

const SECRET = 'proxy-secret-0123456789abcdef0123456789';

function setup(opts: TrustedHeaderOptions | undefined) {
  const state = new MemoryState();
  state.addTenant('acme', { dbUser: 'tenant_acme', defaultPermissions: ['query:execute'] });
  state.addTenant('globex', { dbUser: 'tenant_globex' });
  state.addTenant('frozen', { status: 'suspended' });
  return createTrustedHeaderAuthenticator(state, opts);
}

const headers = (h: Record<string, string>) => new Headers(h);

describe('trusted-header auth', () => {
  it('header auth attempted while disabled (the default) is rejected', async () => {
    for (const auth of [setup(undefined), setup({}), setup({ trustedProxies: [] })]) {
      const err = await expectRejected(
        auth(headers({ 'X-Tenant-ID': 'acme', 'X-DB-User': 'tenant_acme' }), '127.0.0.1'),
        'UNAUTHORIZED',
      );
      expect(err.message).toMatch(/not enabled/);
    }
  });

  it('with the shared secret, X-Tenant-ID becomes a principal with the registry role and default permissions', async () => {
    const auth = setup({ secret: SECRET });
    const p = await auth(headers({ 'X-Tenant-ID': 'acme', 'X-Spectra-Proxy-Secret': SECRET }), '10.0.0.5');
    expect(p).toEqual({
      tenantId: 'acme',
      dbUser: 'tenant_acme',
      dbGroups: ['tenants'],
      permissions: ['query:execute'],
      authMethod: 'trusted_header',
      credentialId: 'proxy:10.0.0.5',
    });
  });

  it('a wrong, missing or prefix-only proxy secret is rejected, and the secret never appears in the error', async () => {
    const auth = setup({ secret: SECRET });
    for (const presented of ['wrong', SECRET.slice(0, -1), `${SECRET}x`, '']) {
      await expectRejected(
        auth(headers({ 'X-Tenant-ID': 'acme', 'X-Spectra-Proxy-Secret': presented }), '10.0.0.5'),
        'UNAUTHORIZED',
        [SECRET],
      );
    }
    await expectRejected(auth(headers({ 'X-Tenant-ID': 'acme' }), '10.0.0.5'), 'UNAUTHORIZED', [SECRET]);
  });

  it('the secret header name is configurable', async () => {
    const auth = setup({ secret: SECRET, secretHeader: 'X-Internal-Auth' });
    await expect(
      auth(headers({ 'X-Tenant-ID': 'acme', 'X-Internal-Auth': SECRET }), undefined),
    ).resolves.toBeTruthy();
    await expectRejected(
      auth(headers({ 'X-Tenant-ID': 'acme', 'X-Spectra-Proxy-Secret': SECRET }), undefined),
      'UNAUTHORIZED',
    );
  });

  it('only allowlisted proxy addresses (IPs, CIDRs, IPv4-mapped IPv6) may use header auth', async () => {
    const auth = setup({ trustedProxies: ['10.1.0.0/16', '192.168.1.7', 'fd00::/8'] });
    const h = headers({ 'X-Tenant-ID': 'globex' });
    await expect(auth(h, '10.1.2.3')).resolves.toMatchObject({ tenantId: 'globex', dbUser: 'tenant_globex' });
    await expect(auth(h, '::ffff:192.168.1.7')).resolves.toBeTruthy();
    await expect(auth(h, 'fd00::1')).resolves.toBeTruthy();
    for (const addr of ['10.2.0.1', '192.168.1.8', '127.0.0.1', 'fe80::1', undefined, 'not-an-ip']) {
      await expectRejected(auth(h, addr), 'UNAUTHORIZED');
    }
  });

  it('with both a secret and an allowlist, both are required', async () => {
    const auth = setup({ secret: SECRET, trustedProxies: ['10.0.0.0/8'] });
    const good = headers({ 'X-Tenant-ID': 'acme', 'X-Spectra-Proxy-Secret': SECRET });
    await expect(auth(good, '10.0.0.1')).resolves.toBeTruthy();
    await expectRejected(auth(good, '172.16.0.1'), 'UNAUTHORIZED');
    await expectRejected(auth(headers({ 'X-Tenant-ID': 'acme' }), '10.0.0.1'), 'UNAUTHORIZED');
  });

  it('X-DB-User must be the tenant’s registered role', async () => {
    const auth = setup({ secret: SECRET });
    const base = { 'X-Tenant-ID': 'acme', 'X-Spectra-Proxy-Secret': SECRET };
    await expect(auth(headers({ ...base, 'X-DB-User': 'tenant_acme' }), undefined)).resolves.toBeTruthy();
    await expectRejected(auth(headers({ ...base, 'X-DB-User': 'tenant_globex' }), undefined), 'FORBIDDEN');
    await expectRejected(auth(headers({ ...base, 'X-DB-User': 'postgres' }), undefined), 'FORBIDDEN');
  });

  it('a missing, malformed or unknown tenant is rejected; a suspended one is FORBIDDEN', async () => {
    const auth = setup({ secret: SECRET });
    const s = { 'X-Spectra-Proxy-Secret': SECRET };
    await expectRejected(auth(headers(s), undefined), 'UNAUTHORIZED');
    await expectRejected(auth(headers({ ...s, 'X-Tenant-ID': 'Acme; --' }), undefined), 'UNAUTHORIZED');
    await expectRejected(auth(headers({ ...s, 'X-Tenant-ID': 'initech' }), undefined), 'UNAUTHORIZED');
    await expectRejected(auth(headers({ ...s, 'X-Tenant-ID': 'frozen' }), undefined), 'FORBIDDEN');
  });

  it('refuses a short secret and a malformed proxy entry at construction', () => {
    expect(() => setup({ secret: 'short' })).toThrow(/at least 32/);
    expect(() => setup({ trustedProxies: ['10.0.0.0/33'] })).toThrow(/prefix/);
    expect(() => setup({ trustedProxies: ['proxy.internal'] })).toThrow(/not an IP/);
  });
});
