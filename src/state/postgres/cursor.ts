/** Cursor = base64url JSON of the last item's sort key. Tenant is never inside: it comes from the caller. */
import { invalidRequest } from '../../domain/errors.js';

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): string[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === 'string'))
      return parts;
  } catch {}
  throw invalidRequest('malformed cursor', { field: 'cursor' });
}
