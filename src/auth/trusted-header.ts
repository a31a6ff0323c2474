/**
 * Trusted-header authentication — INTERNAL ONLY. A reverse proxy that has already authenticated
 * the caller names the tenant in `X-Tenant-ID` (and optionally `X-DB-User`, which must be the
 * tenant's registered role). Off unless configured; when configured, every request must come from
 * an allowlisted proxy address and/or carry the shared proxy secret (both, when both are set).
 * Never expose an API that has this enabled to clients directly: whoever reaches it through the
 * proxy path *is* whichever tenant they name.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { ApiError, unauthorized } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { TENANT_ID_PATTERN } from '../domain/tenant.js';
import type { AuthStores } from './stores.js';

export const DEFAULT_PROXY_SECRET_HEADER = 'x-spectra-proxy-secret';
const MIN_SECRET_LENGTH = 32;

export interface TrustedHeaderOptions {
  /** Shared secret the proxy sends in `secretHeader`; at least 32 characters. */
  secret?: string | undefined;
  /** Default `X-Spectra-Proxy-Secret`. */
  secretHeader?: string | undefined;
  /** Proxy addresses allowed to use header auth: IPs or CIDR blocks (IPv4 or IPv6). */
  trustedProxies?: readonly string[] | undefined;
}

export type TrustedHeaderAuthenticate = (
  headers: Headers,
  remoteAddress: string | undefined,
) => Promise<Principal>;

/** True when the options turn header auth on (a secret or at least one proxy). */
export function trustedHeaderEnabled(opts: TrustedHeaderOptions | undefined): boolean {
  return Boolean(opts && (opts.secret || (opts.trustedProxies && opts.trustedProxies.length > 0)));
}

/**
 * Returns the header authenticator. Disabled (no options, or neither a secret nor proxies):
 * every call is UNAUTHORIZED. Throws at construction on a short secret or a malformed proxy entry.
 */
export function createTrustedHeaderAuthenticator(
  state: AuthStores,
  opts: TrustedHeaderOptions | undefined,
): TrustedHeaderAuthenticate {
  if (!opts || !trustedHeaderEnabled(opts)) {
    return async function trustedHeaderDisabled() {
      throw unauthorized('header authentication is not enabled');
    };
  }
  const secretHeader = (opts.secretHeader || DEFAULT_PROXY_SECRET_HEADER).toLowerCase();
  const secretCheck = opts.secret ? secretMatcher(opts.secret) : undefined;
  const proxies =
    opts.trustedProxies && opts.trustedProxies.length > 0 ? proxyAllowlist(opts.trustedProxies) : undefined;

  return async function authenticateTrustedHeader(headers, remoteAddress) {
    if (proxies && !proxies(remoteAddress)) throw unauthorized();
    if (secretCheck && !secretCheck(headers.get(secretHeader))) throw unauthorized();
    const tenantId = headers.get('x-tenant-id');
    if (!tenantId || !TENANT_ID_PATTERN.test(tenantId)) throw unauthorized();
    const tenant = await state.tenants.get(tenantId);
    if (!tenant) throw unauthorized();
    if (tenant.status !== 'active') throw new ApiError('FORBIDDEN', 'tenant is suspended');
    const dbUser = headers.get('x-db-user');
    if (dbUser !== null && dbUser !== tenant.dbUser) {
      throw new ApiError('FORBIDDEN', 'X-DB-User does not belong to the tenant');
    }
    return {
      tenantId,
      dbUser: tenant.dbUser,
      dbGroups: tenant.dbGroups,
      permissions: tenant.defaultPermissions,
      authMethod: 'trusted_header',
      credentialId: `proxy:${normalizeAddress(remoteAddress ?? '') || 'unknown'}`,
    };
  };
}

/** Compares HMACs of both values under a per-process key: constant time whatever the lengths. */
function secretMatcher(secret: string): (presented: string | null) => boolean {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`trusted-header secret must have at least ${MIN_SECRET_LENGTH} characters`);
  }
  const key = randomBytes(32);
  const expected = createHmac('sha256', key).update(secret).digest();
  return (presented) => {
    const actual = createHmac('sha256', key)
      .update(presented ?? '')
      .digest();
    return timingSafeEqual(expected, actual) && presented !== null;
  };
}

function proxyAllowlist(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    const [ip, bits, extra] = entry.split('/');
    const family = isIP(ip ?? '');
    if (!ip || family === 0 || extra !== undefined)
      throw new Error(`trusted proxy "${entry}" is not an IP or CIDR block`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(ip, type);
    } else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) {
        throw new Error(`trusted proxy "${entry}" has an invalid prefix length`);
      }
      list.addSubnet(ip, prefix, type);
    }
  }
  return (address) => {
    const ip = normalizeAddress(address ?? '');
    const family = isIP(ip);
    return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** `::ffff:10.0.0.1` (IPv4 seen through a dual-stack socket) → `10.0.0.1`. */
function normalizeAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}
