/**
 * Core of the API Gateway Lambda authorizer: an authorizer event (TOKEN or REQUEST) → an IAM policy,
 * using the same authenticators as the HTTP API. A bad or missing credential throws
 * `Error('Unauthorized')` (API Gateway's convention for 401); a FORBIDDEN outcome (suspended tenant,
 * foreign db_user) returns a Deny policy. Any other failure (state store down) is rethrown, so API
 * Gateway answers 500 and caches nothing.
 *
 * Allow and Deny resources are wildcarded to the whole stage (`…/stage/*\/*`): API Gateway caches the
 * result per identity source, and a policy naming only the first method ARN would deny every other
 * route for the cache TTL. What the principal may do per route is decided by the API's permission
 * check, not by this policy. The API reads the context back with `principalFromAuthorizerContext`,
 * and must do so only when it runs behind API Gateway — never from HTTP headers.
 */
import { isApiError, unauthorized } from '../domain/errors.js';
import type { Authenticate, Principal } from '../domain/principal.js';
import { TENANT_ID_PATTERN } from '../domain/tenant.js';
import { isKnownPermission } from './permissions.js';

/** Longest credential accepted, as in the HTTP middleware. */
const MAX_CREDENTIAL_LENGTH = 8192;
const METHOD_ARN = /^arn:(aws[a-z-]*):execute-api:([a-z0-9-]+):(\d{12}):([A-Za-z0-9]+)\/([^/*]+)(\/.*)?$/;

export interface AuthorizerTokenEvent {
  type: 'TOKEN';
  authorizationToken: string;
  methodArn: string;
}

export interface AuthorizerRequestEvent {
  type: 'REQUEST';
  /** REST APIs (and HTTP APIs with payload 1.0) send `methodArn`; HTTP APIs with payload 2.0 send `routeArn`. */
  methodArn?: string;
  routeArn?: string;
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  [other: string]: unknown;
}

export type AuthorizerEvent = AuthorizerTokenEvent | AuthorizerRequestEvent;

/** Flat string values: API Gateway allows only strings, numbers and booleans in the context. */
export interface AuthorizerContext {
  tenant_id: string;
  db_user: string;
  /** Comma-separated. */
  db_groups: string;
  /** Comma-separated. */
  permissions: string;
  auth_method: Principal['authMethod'];
  credential_id: string;
}

export interface AuthorizerPolicy {
  principalId: string;
  policyDocument: {
    Version: '2012-10-17';
    Statement: [{ Action: 'execute-api:Invoke'; Effect: 'Allow' | 'Deny'; Resource: string }];
  };
  context?: AuthorizerContext;
}

/** Event → policy. Throws `Error('Unauthorized')` for 401. */
export async function authorizeRequest(
  event: AuthorizerEvent,
  authenticate: Authenticate,
): Promise<AuthorizerPolicy> {
  const arn = event.type === 'TOKEN' ? event.methodArn : (event.methodArn ?? event.routeArn);
  const resource = arn ? stageWildcard(arn) : null;
  if (!resource) throw new Error('Unauthorized');
  const raw = event.type === 'TOKEN' ? event.authorizationToken : authorizationHeader(event);
  const credential = raw ? bearerCredential(raw) : null;
  if (!credential) throw new Error('Unauthorized');

  let principal: Principal;
  try {
    principal = await authenticate(credential);
  } catch (e) {
    if (isApiError(e) && e.code === 'UNAUTHORIZED') throw new Error('Unauthorized');
    if (isApiError(e) && e.code === 'FORBIDDEN') return policy('anonymous', 'Deny', resource);
    throw e;
  }
  return {
    ...policy(principal.tenantId, 'Allow', resource),
    context: {
      tenant_id: principal.tenantId,
      db_user: principal.dbUser,
      db_groups: principal.dbGroups.join(','),
      permissions: principal.permissions.join(','),
      auth_method: principal.authMethod,
      credential_id: principal.credentialId,
    },
  };
}

/** The Lambda handler shape: `export const handler = createLambdaAuthorizer(authenticate)`. */
export function createLambdaAuthorizer(
  authenticate: Authenticate,
): (event: AuthorizerEvent) => Promise<AuthorizerPolicy> {
  return function lambdaAuthorizer(event) {
    return authorizeRequest(event, authenticate);
  };
}

/**
 * The API side: `requestContext.authorizer` of an API Gateway event → Principal. UNAUTHORIZED when
 * the context lacks a tenant or a db_user.
 */
export function principalFromAuthorizerContext(ctx: Record<string, unknown> | null | undefined): Principal {
  const tenantId = ctx?.tenant_id;
  const dbUser = ctx?.db_user;
  if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId)) throw unauthorized();
  if (typeof dbUser !== 'string' || dbUser === '') throw unauthorized();
  const credentialId = ctx?.credential_id;
  return {
    tenantId,
    dbUser,
    dbGroups: commaList(ctx?.db_groups),
    permissions: commaList(ctx?.permissions).filter(isKnownPermission),
    authMethod: 'authorizer',
    credentialId: typeof credentialId === 'string' ? credentialId : '',
  };
}

function policy(principalId: string, effect: 'Allow' | 'Deny', resource: string): AuthorizerPolicy {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
  };
}

/** `arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/v1/jobs` → `…:abc123/prod/*\/*`. */
export function stageWildcard(methodArn: string): string | null {
  const m = METHOD_ARN.exec(methodArn);
  if (!m) return null;
  const [, partition, region, account, apiId, stage] = m;
  return `arn:${partition}:execute-api:${region}:${account}:${apiId}/${stage}/*/*`;
}

function authorizationHeader(event: AuthorizerRequestEvent): string | undefined {
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === 'authorization' && value) return value;
  }
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (name.toLowerCase() === 'authorization' && values?.[0]) return values[0];
  }
  return undefined;
}

/** `Bearer <token>` (scheme case-insensitive) or the bare token; printable ASCII, no spaces inside. */
function bearerCredential(value: string): string | null {
  const m = /^(?:Bearer +)?([\x21-\x7e]+) *$/i.exec(value);
  const token = m?.[1];
  if (!token || token.length > MAX_CREDENTIAL_LENGTH || /^bearer$/i.test(token)) return null;
  return token;
}

function commaList(v: unknown): string[] {
  return typeof v === 'string' ? v.split(',').filter((s) => s !== '') : [];
}
