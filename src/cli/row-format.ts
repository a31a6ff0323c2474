/** Rows as a terminal table (aligned columns, a header row, numbers to the right) or as CSV. */

const MAX_CELL = 60;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  const flat = s.replace(/[\r\n\t]+/g, ' ');
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
}

const NUMERIC = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

export function renderTable(columns: string[], rows: Record<string, unknown>[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const numeric = columns.map(
    (_, i) => cells.length > 0 && cells.every((row) => row[i] === '' || NUMERIC.test(row[i]!)),
  );
  const line = (values: string[], header = false) =>
    values
      .map((v, i) => (numeric[i] && !header ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns, true), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map((r) => line(r))]
    .map((l) => `${l}\n`)
    .join('');
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: unknown[]): string {
  return `${values.map(csvField).join(',')}\n`;
}
