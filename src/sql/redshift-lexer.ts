/**
 * A lexer for the Redshift front end's token pass. libpg-query's scanner costs ~8 ms per KB here
 * (measured), twenty times its parser, so the pass reads tokens itself: strings (standard, E'…',
 * U&'…', dollar-quoted), quoted names and comments (nested) are single tokens it never looks into.
 * It decides nothing: whatever it marks, PostgreSQL's parser reads the result and the guard checks
 * that tree; a disagreement can only make a statement fail to parse, never slip a check.
 */

export type LexKind = 'word' | 'quoted' | 'string' | 'integer' | 'number' | 'param' | 'operator' | 'punct';

export interface LexToken {
  kind: LexKind;
  /** UTF-16 index range in the text. */
  start: number;
  end: number;
  text: string;
  /** `text` upper-cased, filled in by the first reader that needs it. */
  upper?: string;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isWordStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
const isWordPart = (c: number) => isWordStart(c) || isDigit(c) || c === 36;
const DIGIT = { test: (s: string) => s !== '' && isDigit(s.charCodeAt(0)) };
const OPERATOR_CHARS = '+-*/<>=~!@#%^&|`?';

export function lexSql(text: string): LexToken[] {
  const tokens: LexToken[] = [];
  const n = text.length;
  let i = 0;
  const push = (kind: LexKind, start: number) =>
    tokens.push({ kind, start, end: i, text: text.slice(start, i) });
  const quoted = (quote: string, backslashes: boolean) => {
    i++; // the opening quote
    while (i < n) {
      const c = text[i];
      if (backslashes && c === '\\') i += 2;
      else if (c === quote) {
        if (text[i + 1] === quote) i += 2;
        else {
          i++;
          return;
        }
      } else i++;
    }
  };
  while (i < n) {
    const c = text[i] as string;
    const start = i;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      let depth = 0;
      while (i < n) {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else if (c === "'") {
      quoted("'", false);
      push('string', start);
    } else if ((c === 'E' || c === 'e') && text[i + 1] === "'") {
      i++;
      quoted("'", true);
      push('string', start);
    } else if (
      (c === 'U' || c === 'u') &&
      text[i + 1] === '&' &&
      (text[i + 2] === "'" || text[i + 2] === '"')
    ) {
      const quote = text[i + 2] as string;
      i += 2;
      quoted(quote, false);
      push(quote === "'" ? 'string' : 'quoted', start);
    } else if ('BbXxNn'.includes(c) && text[i + 1] === "'") {
      i++;
      quoted("'", false);
      push('string', start);
    } else if (c === '"') {
      quoted('"', false);
      push('quoted', start);
    } else if (c === '$' && DIGIT.test(text[i + 1] ?? '')) {
      i++;
      while (i < n && DIGIT.test(text[i] as string)) i++;
      push('param', start);
    } else if (c === '$') {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(
        text.slice(i, i + 200),
      )?.[0];
      if (tag === undefined) {
        i++;
        push('punct', start);
      } else {
        const close = text.indexOf(tag, i + tag.length);
        i = close < 0 ? n : close + tag.length;
        push('string', start);
      }
    } else if (isWordStart(text.charCodeAt(i))) {
      i++;
      while (i < n && isWordPart(text.charCodeAt(i))) i++;
      push('word', start);
    } else if (DIGIT.test(c) || (c === '.' && DIGIT.test(text[i + 1] ?? ''))) {
      let kind: LexKind = 'integer';
      while (i < n && DIGIT.test(text[i] as string)) i++;
      if (text[i] === '.' && text[i + 1] !== '.') {
        kind = 'number';
        i++;
        while (i < n && DIGIT.test(text[i] as string)) i++;
      }
      if ((text[i] === 'e' || text[i] === 'E') && /[0-9+-]/.test(text[i + 1] ?? '')) {
        kind = 'number';
        i += 2;
        while (i < n && DIGIT.test(text[i] as string)) i++;
      }
      push(kind, start);
    } else if (c === ':' && text[i + 1] === ':') {
      i += 2;
      push('operator', start);
    } else if (OPERATOR_CHARS.includes(c)) {
      while (i < n && OPERATOR_CHARS.includes(text[i] as string)) {
        if ((text[i] === '-' && text[i + 1] === '-') || (text[i] === '/' && text[i + 1] === '*')) break;
        i++;
      }
      if (i === start) i++;
      push('operator', start);
    } else {
      i++;
      push('punct', start);
    }
  }
  return tokens;
}
