import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialCacheKey } from '../../../src/auth/credential-cache-key.js';

describe('credential cache key', () => {
  it('is the base64 SHA-256 of the credential, never the credential itself', () => {
    for (const credential of ['sk_live_abc', 'eyJhbGciOiJIUzI1NiJ9.e30.sig', 'ünïcödé', '']) {
      const key = credentialCacheKey(credential);
      expect(key).toBe(createHash('sha256').update(credential).digest('base64'));
      if (credential) expect(key).not.toContain(credential);
    }
  });
});
