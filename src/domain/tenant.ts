/** Tenants and their credentials as the control state records them. */

export const TENANT_ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

export type TenantStatus = 'active' | 'suspended';

export interface Tenant {
  tenantId: string;
  name: string;
  /** The database role every statement of this tenant runs as. */
  dbUser: string;
  dbGroups: string[];
  status: TenantStatus;
  /** Permissions a new key gets when the request names none. */
  defaultPermissions: string[];
  createdAt: string;
  updatedAt: string;
}

export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  /** Keyed hash (HMAC-SHA256 with the server pepper) of the secret part; never the secret. */
  secretHash: string;
  permissions: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}
