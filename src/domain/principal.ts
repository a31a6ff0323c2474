/** Who is calling, as decided by authentication. Never built from unverified request data. */
export interface Principal {
  tenantId: string;
  /** Database role every statement of this principal runs as. */
  dbUser: string;
  dbGroups: string[];
  permissions: string[];
  /** How the caller authenticated, and which credential (key id or JWT subject): for audit and logs. */
  authMethod: 'api_key' | 'jwt' | 'trusted_header' | 'authorizer';
  credentialId: string;
}

export const PERMISSIONS = [
  'query:execute',
  'query:cancel',
  'bulk:create',
  'bulk:read',
  'bulk:cancel',
  'catalog:read',
  'admin:*',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** `*` grants everything; `bulk:*` grants every `bulk:` permission; otherwise exact match. */
export function hasPermission(granted: readonly string[], needed: string): boolean {
  const [area] = needed.split(':');
  return granted.some((g) => g === '*' || g === needed || g === `${area}:*`);
}

/** Verifies a bearer credential (API key or JWT) and says who is calling; throws UNAUTHORIZED/FORBIDDEN. */
export interface Authenticate {
  (credential: string): Promise<Principal>;
  /**
   * The principal this credential was verified as, if that verification is still cached (it never
   * waits for I/O or verification work; a cached entry due for renewal is renewed in the
   * background); undefined otherwise. Only for decisions that refuse a request (the
   * overload shed): whatever it grants must still go through the call itself.
   */
  peek?: ((credential: string) => Principal | undefined) | undefined;
}
