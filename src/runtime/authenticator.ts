/**
 * The bearer-credential authenticator from configuration: API keys (the pepper, the key cache) and,
 * when configured, JWTs. It reads only the tenants and API-keys stores, which is all the authorizer
 * function opens.
 */
import { type AuthStores, createAuthenticator } from '../auth/index.js';
import type { AuthConfig } from '../config/index.js';
import { jwtOptions } from '../config/sections/auth.js';
import type { Authenticate } from '../domain/principal.js';

export function openAuthenticator(config: AuthConfig, stores: AuthStores, pepper: string): Authenticate {
  return createAuthenticator({
    state: stores,
    pepper,
    apiKeyCacheTtlMs: config.authCacheTtlMs,
    jwt: jwtOptions(config),
  });
}
