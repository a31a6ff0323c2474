/** Token minting for the auth tests: real jose signatures, plus hand-built forgeries. */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { type JWTPayload, SignJWT } from 'jose';
import { expect } from 'vitest';
import { ApiError } from '../../src/domain/errors.js';

export const HS_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export interface KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
  publicPem: string;
}

export function rsaKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { publicKey, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function ecKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { publicKey, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const nowSec = () => Math.floor(Date.now() / 1000);

/** Claims of a valid token for `tenant`, valid for 10 minutes, overridable. */
export function claims(tenant: string, over: Record<string, unknown> = {}): JWTPayload {
  return { sub: `user-of-${tenant}`, tenant_id: tenant, iat: nowSec(), exp: nowSec() + 600, ...over };
}

/** Keys whose value is undefined are removed from the payload. */
function clean(payload: JWTPayload): JWTPayload {
  return Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));
}

export async function signHs(
  payload: JWTPayload,
  opts: { secret?: string; alg?: string } = {},
): Promise<string> {
  return new SignJWT(clean(payload))
    .setProtectedHeader({ alg: opts.alg ?? 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(opts.secret ?? HS_SECRET));
}

export async function signWith(
  payload: JWTPayload,
  privateKey: KeyObject,
  alg: 'RS256' | 'ES256',
  kid?: string,
): Promise<string> {
  return new SignJWT(clean(payload))
    .setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) })
    .sign(privateKey);
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** An unsecured JWT: `{"alg":"none"}`, empty signature. */
export function unsignedToken(payload: JWTPayload): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}

/** The classic key-confusion forgery: HS256 with the PEM text of the RSA public key as HMAC secret. */
export function hsWithPublicKeyAsSecret(payload: JWTPayload, publicPem: string): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
}

/**
 * Awaits a rejection with the given ApiError code and checks that nothing secret leaks into what
 * the error carries (message, details, stack, cause).
 */
export async function expectRejected(
  p: Promise<unknown>,
  code: 'UNAUTHORIZED' | 'FORBIDDEN',
  secrets: readonly string[] = [],
): Promise<ApiError> {
  const err = await p.then(
    () => {
      throw new Error(`expected ${code}, but the credential was accepted`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  const apiErr = err as ApiError;
  expect(apiErr.code).toBe(code);
  const visible = JSON.stringify({
    message: apiErr.message,
    details: apiErr.details,
    stack: apiErr.stack,
    cause: String((apiErr as { cause?: unknown }).cause ?? ''),
  });
  for (const s of secrets) {
    for (const fragment of secretFragments(s)) expect(visible).not.toContain(fragment);
  }
  return apiErr;
}

/**
 * The whole value, plus a token's signature part or a key's secret part. Fragments under 8
 * characters are skipped: they occur in any text by chance.
 */
function secretFragments(s: string): string[] {
  const parts = s.split('.');
  const key = /^spk_[a-z0-9-]+_([0-9a-f]{16})([0-9a-f]{64})$/.exec(s);
  const extra = parts.length === 3 ? parts[2] : key?.[2];
  return [s, extra ?? ''].filter((f) => f.length >= 8);
}
