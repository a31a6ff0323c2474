/**
 * Authentication: a bearer credential → Principal. `spk_…` is an API key, a compact JWS is a JWT
 * (when JWT is configured), anything else is UNAUTHORIZED. Trusted-header auth and the Lambda
 * authorizer core are separate entry points built on the same rules.
 */
import { unauthorized } from '../domain/errors.js';
import type { Authenticate } from '../domain/principal.js';
import { ApiKeyAuthenticator, looksLikeApiKey } from './api-key.js';
import { JwtAuthenticator, type JwtOptions, looksLikeJwt } from './jwt.js';
import type { AuthStores } from './stores.js';

export type { AuthStores } from './stores.js';
export type { Authenticate };

/** Longest credential accepted, whatever its kind (the HTTP middleware applies the same cap). */
export const MAX_CREDENTIAL_LENGTH = 8192;

export interface AuthenticatorDeps {
  state: AuthStores;
  /** Server secret of the API key hash. */
  pepper: string;
  /** Verified-key cache; capped at 1000 ms so revocation shows within 1 s. */
  apiKeyCacheTtlMs: number;
  /** JWT verification; absent = JWTs are refused. */
  jwt?: JwtOptions | undefined;
  /** The API keys' clock (cache and expiry); tests inject one. Default the real clock. */
  now?: (() => number) | undefined;
}

/** Throws JwtConfigError at once on an invalid JWT configuration. */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticate {
  const apiKeys = new ApiKeyAuthenticator(deps.state, deps.pepper, deps.apiKeyCacheTtlMs, deps.now);
  const jwt = deps.jwt ? new JwtAuthenticator(deps.state, deps.jwt) : undefined;
  const authenticate: Authenticate = async function authenticateCredential(credential) {
    if (credential.length > MAX_CREDENTIAL_LENGTH) throw unauthorized();
    if (looksLikeApiKey(credential)) return apiKeys.authenticate(credential);
    if (jwt && looksLikeJwt(credential)) return jwt.authenticate(credential);
    throw unauthorized();
  };
  authenticate.peek = (credential) => {
    if (credential.length > MAX_CREDENTIAL_LENGTH) return undefined;
    if (looksLikeApiKey(credential)) return apiKeys.peek(credential);
    return jwt && looksLikeJwt(credential) ? jwt.peek(credential) : undefined;
  };
  return authenticate;
}

export {
  ApiKeyAuthenticator,
  type ApiKeyStatus,
  apiKeyId,
  apiKeyStatus,
  type CreateApiKeyOptions,
  createApiKey,
  DEFAULT_KEY_PERMISSIONS,
  DEFAULT_ROTATION_GRACE_MS,
  hashSecret,
  type IssuedKey,
  issueApiKey,
  looksLikeApiKey,
  MAX_API_KEY_CACHE_TTL_MS,
  type RotateApiKeyOptions,
  type RotatedKey,
  revokeApiKey,
  rotateApiKey,
} from './api-key.js';
export {
  type AuthorizerContext,
  type AuthorizerEvent,
  type AuthorizerPolicy,
  type AuthorizerRequestEvent,
  type AuthorizerTokenEvent,
  authorizeRequest,
  createLambdaAuthorizer,
  principalFromAuthorizerContext,
  stageWildcard,
} from './authorizer.js';
export {
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  JwtAuthenticator,
  type JwtClaimNames,
  JwtConfigError,
  type JwtOptions,
  looksLikeJwt,
} from './jwt.js';
export {
  isKnownPermission,
  PERMISSION_DESCRIPTIONS,
  unknownPermissionError,
  unknownPermissions,
  validPermissions,
} from './permissions.js';
export {
  createTrustedHeaderAuthenticator,
  DEFAULT_PROXY_SECRET_HEADER,
  type TrustedHeaderAuthenticate,
  type TrustedHeaderOptions,
  trustedHeaderEnabled,
} from './trusted-header.js';
