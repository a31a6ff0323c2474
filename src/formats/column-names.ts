/**
 * Output names for result columns. SQL allows `SELECT 1 AS a, 2 AS a`; keyed formats (JSON objects,
 * CSV headers read by name) would silently keep only one of them, so repeats get a suffix.
 */
import type { ColumnInfo } from '../warehouse/port.js';

/**
 * The first column with a name keeps it; each repeat gets `_2`, `_3`, … — skipping any suffix that
 * is already another column's own name, so no real column is ever renamed or shadowed.
 * `[a, a, a_2]` → `[a, a_3, a_2]`.
 */
export function uniqueColumnNames(columns: readonly ColumnInfo[]): string[] {
  const own = new Set(columns.map((c) => c.name));
  if (own.size === columns.length) return columns.map((c) => c.name);
  const used = new Set<string>();
  return columns.map(({ name }) => {
    let unique = name;
    for (let k = 2; used.has(unique) || (unique !== name && own.has(unique)); k++) unique = `${name}_${k}`;
    used.add(unique);
    return unique;
  });
}
