/**
 * The permission grammar credentials may carry: a permission API.md names, an area wildcard
 * (`query:*`, `bulk:*`, `catalog:*`, `admin:*`) or `*`. Anything else is dropped from tokens and refused on keys,
 * so a principal never carries a string that could break the comma-joined authorizer context.
 * docs/security.md "Permissions" is the table of what each one allows (a test keeps the two equal).
 */
import { type ApiError, invalidRequest } from '../domain/errors.js';
import { PERMISSIONS, type Permission } from '../domain/principal.js';

const AREAS = [...new Set(PERMISSIONS.map((p) => p.split(':')[0]!))];
const KNOWN = new Set<string>(PERMISSIONS);

/** What each permission allows, in the words of docs/security.md. */
export const PERMISSION_DESCRIPTIONS: Record<Permission, string> = {
  'query:execute':
    'Run queries (`POST /v1/queries`, sync and async); list and read jobs and their results (`GET /v1/jobs…`).',
  'query:cancel': 'Cancel a QUEUED or RUNNING query job (`DELETE /v1/jobs/{id}`).',
  'bulk:create':
    'Create bulk export and import jobs, get an import’s upload URL, change a job’s state (`POST /v1/bulk/jobs`, `GET …/upload-url`, `PATCH /v1/bulk/jobs/{id}`).',
  'bulk:read':
    'List and read bulk jobs, their results and failed records; also list and read query jobs (`GET /v1/bulk/jobs…`, `GET /v1/jobs…`).',
  'bulk:cancel':
    'Abort a bulk job (`PATCH /v1/bulk/jobs/{id}` `{"state": "Aborted"}`) and cancel query jobs (`DELETE /v1/jobs/{id}`).',
  'catalog:read':
    'List the tables and columns the tenant can read (`GET /v1/catalog/tables`, `GET /v1/catalog/tables/{name}`).',
  'admin:*':
    'Administration: tenants, keys, the audit trail, `/metrics` (`/v1/admin/…`). Held by the admin key.',
};

/** Every string a credential may carry: the permissions, then the wildcards. */
export function validPermissions(): string[] {
  const wildcards = AREAS.map((a) => `${a}:*`).filter((w) => !KNOWN.has(w));
  return [...PERMISSIONS, ...wildcards, '*'];
}

export function isKnownPermission(p: string): boolean {
  if (p === '*' || KNOWN.has(p)) return true;
  const m = /^([a-z]+):\*$/.exec(p);
  return m !== null && AREAS.includes(m[1]!);
}

/** Returns the unknown entries (empty when all are valid). */
export function unknownPermissions(perms: readonly string[]): string[] {
  return perms.filter((p) => !isKnownPermission(p));
}

/**
 * The one refusal of an unknown permission, for every route and command: it names the unknown
 * entries and lists the valid ones.
 */
export function unknownPermissionError(unknown: readonly string[]): ApiError {
  const valid = validPermissions();
  const named = unknown.map((p) => JSON.stringify(p)).join(', ');
  return invalidRequest(
    `unknown permission${unknown.length > 1 ? 's' : ''} ${named}; valid permissions: ${valid.join(', ')}`,
    { field: 'permissions', unknown: [...unknown], valid },
  );
}

/** Throws unknownPermissionError when any entry is unknown. */
export function assertKnownPermissions(perms: readonly string[]): void {
  const unknown = unknownPermissions(perms);
  if (unknown.length > 0) throw unknownPermissionError(unknown);
}
