/**
 * HMAC-SHA256 signatures for the fs adapter's URLs: `signature = HMAC(key, METHOD \n key \n expires)`,
 * base64url. The URL carries `expires` (Unix seconds) and `signature`; the API verifies both before
 * serving `/v1/downloads/{key}`. Changing the method, the key or the expiry breaks the signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../../domain/errors.js';
import type { SignedMethod } from '../port.js';

export const DOWNLOAD_PATH_PREFIX = '/v1/downloads/';

export class UrlSigner {
  private readonly secret: Buffer;

  constructor(secret: string) {
    if (secret.length < 32) throw new Error('the URL signing key must be at least 32 characters');
    this.secret = Buffer.from(secret, 'utf8');
  }

  sign(method: SignedMethod, key: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${method}\n${key}\n${expires}`).digest('base64url');
  }

  /** The path and query of a URL for `method` on `key` until `expires` (Unix seconds). */
  path(method: SignedMethod, key: string, expires: number, filename?: string): string {
    const q = new URLSearchParams({ expires: String(expires), signature: this.sign(method, key, expires) });
    // The filename only names the download; it is not signed because it cannot change what is served.
    if (filename) q.set('filename', filename);
    return `${DOWNLOAD_PATH_PREFIX}${key}?${q}`;
  }

  /** Throws FORBIDDEN when the signature does not match or the URL has expired. */
  verify(
    method: SignedMethod,
    key: string,
    expires: string | undefined,
    signature: string | undefined,
    nowMs = Date.now(),
  ): void {
    if (!expires || !/^\d{1,12}$/.test(expires) || !signature || !/^[A-Za-z0-9_-]{43}$/.test(signature)) {
      throw new ApiError('FORBIDDEN', 'missing or malformed URL signature');
    }
    const expected = Buffer.from(this.sign(method, key, Number(expires)), 'base64url');
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ApiError('FORBIDDEN', 'invalid URL signature');
    }
    if (Number(expires) * 1000 <= nowMs) throw new ApiError('FORBIDDEN', 'the URL has expired');
  }
}
