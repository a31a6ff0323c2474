/** The permission list, its documentation table and the one refusal of an unknown permission. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  assertKnownPermissions,
  isKnownPermission,
  PERMISSION_DESCRIPTIONS,
  validPermissions,
} from '../../../src/auth/permissions.js';
import { PERMISSIONS } from '../../../src/domain/principal.js';

describe('permissions', () => {
  it('docs/api.md has one table row per permission, with its description', () => {
    const doc = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    const table = /<!-- permissions:begin -->\n([\s\S]*?)<!-- permissions:end -->/.exec(doc)?.[1] ?? '';
    const rows = table
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => /^\| `([^`]+)` \| (.*) \|$/.exec(l)!.slice(1));
    expect(rows).toEqual(PERMISSIONS.map((p) => [p, PERMISSION_DESCRIPTIONS[p]]));
  });

  it('an unknown permission is refused naming it and listing every valid one', () => {
    let err: unknown;
    try {
      assertKnownPermissions(['query:*', 'query:read']);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('unknown permission "query:read"; valid permissions: query:execute,'),
      details: { field: 'permissions', unknown: ['query:read'], valid: validPermissions() },
    });
    expect(validPermissions()).toEqual([...PERMISSIONS, 'query:*', 'bulk:*', 'catalog:*', '*']);
    for (const p of validPermissions()) expect(isKnownPermission(p)).toBe(true);
  });
});
