/**
 * Upload URLs of the filesystem ResultStore for bulk imports: `PUT /v1/bulk/uploads/{key}`, served
 * by the API (routes/bulk.ts), which enforces the job's state and the size cap while it streams the
 * body into the store. The HMAC covers `PUT`, the key under an `upload/` namespace and the expiry,
 * so the signature is worthless on any other route (the generic `/v1/downloads/` PUT included).
 */
import type { SignedUrl, UploadUrlIssuer } from '../port.js';
import type { UrlSigner } from './url-signer.js';

export const BULK_UPLOAD_PATH_PREFIX = '/v1/bulk/uploads/';
const NAMESPACE = 'upload/';

export class FsUploadUrls implements UploadUrlIssuer {
  private readonly publicUrl: string;

  constructor(
    private readonly signer: UrlSigner,
    publicUrl = '',
  ) {
    this.publicUrl = publicUrl.replace(/\/+$/, '');
  }

  async issue(key: string, expiresInSeconds: number): Promise<SignedUrl> {
    const expires = Math.floor(Date.now() / 1000) + Math.max(1, Math.floor(expiresInSeconds));
    const q = new URLSearchParams({
      expires: String(expires),
      signature: this.signer.sign('PUT', NAMESPACE + key, expires),
    });
    return {
      url: `${this.publicUrl}${BULK_UPLOAD_PATH_PREFIX}${key}?${q}`,
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  }

  /** Throws FORBIDDEN when the signature does not match or the URL has expired. */
  verify(key: string, expires: string | undefined, signature: string | undefined): void {
    this.signer.verify('PUT', NAMESPACE + key, expires, signature);
  }
}
