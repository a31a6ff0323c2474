/**
 * Pure text helpers for the editor: the statement under the cursor, the `:name` parameters of a
 * statement, and mapping the guard's 1-based code-point position back to an editor offset.
 */

/** Spans [from, to) of the statements in `text`, split at semicolons outside quotes and comments. */
export function statementSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (ch === "'" || ch === '"') {
      const close = text.indexOf(ch, i + 1);
      i = close < 0 ? text.length : close + 1;
      continue;
    }
    if (ch === '-' && next === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
      continue;
    }
    if (ch === '/' && next === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 2;
      continue;
    }
    if (ch === ';') {
      spans.push([start, i]);
      start = i + 1;
    }
    i++;
  }
  spans.push([start, text.length]);
  return spans.filter(([a, b]) => text.slice(a, b).trim() !== '');
}

/** The statement containing `cursor` (or the nearest one before it), trimmed, with its offset. */
export function statementAt(text: string, cursor: number): { sql: string; from: number } {
  const spans = statementSpans(text);
  const span =
    spans.find(([a, b]) => cursor >= a && cursor <= b + 1) ??
    spans.filter(([a]) => a <= cursor).pop() ??
    spans[0];
  if (!span) return { sql: '', from: 0 };
  const raw = text.slice(span[0], span[1]);
  const lead = raw.length - raw.trimStart().length;
  return { sql: raw.trim(), from: span[0] + lead };
}

/** Names of `:name` placeholders outside quotes and comments (`::type` casts are not parameters). */
export function parameterNames(sql: string): string[] {
  const names: string[] = [];
  const stripped = sql
    .replace(/'(?:[^']|'')*'/g, (m) => ' '.repeat(m.length))
    .replace(/"[^"]*"/g, (m) => ' '.repeat(m.length))
    .replace(/--[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '');
  for (const m of stripped.matchAll(/(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const name = m[1]!;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** A parameter's text as the JSON value the API binds: numbers, booleans and null as such, else a string. */
export function parameterValue(text: string): string | number | boolean | null {
  const t = text.trim();
  if (t === 'null' || t === 'NULL') return null;
  if (t === 'true' || t === 'false') return t === 'true';
  if (/^-?\d+(\.\d+)?$/.test(t) && Number.isSafeInteger(Math.trunc(Number(t)))) return Number(t);
  return text;
}

/** The UTF-16 index of the 1-based code-point `position` in `text`. */
export function indexOfCodePoint(text: string, position: number): number {
  let index = 0;
  let seen = 1;
  for (const ch of text) {
    if (seen === position) return index;
    index += ch.length;
    seen++;
  }
  return text.length;
}
