/**
 * The permission grammar credentials may carry: a permission API.md names, an area wildcard
 * (`query:*`, `bulk:*`, `admin:*`) or `*`. Anything else is dropped from tokens and refused on keys,
 * so a principal never carries a string that could break the comma-joined authorizer context.
 */
import { PERMISSIONS } from '../domain/principal.js';

const AREAS = new Set(PERMISSIONS.map((p) => p.split(':')[0]));
const KNOWN = new Set<string>(PERMISSIONS);

export function isKnownPermission(p: string): boolean {
  if (p === '*' || KNOWN.has(p)) return true;
  const m = /^([a-z]+):\*$/.exec(p);
  return m !== null && AREAS.has(m[1]);
}

/** Returns the unknown entries (empty when all are valid). */
export function unknownPermissions(perms: readonly string[]): string[] {
  return perms.filter((p) => !isKnownPermission(p));
}
