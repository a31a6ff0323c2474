/**
 * Per-value checks of a bulk import into Redshift, done in TypeScript before anything is loaded:
 * Redshift has no `pg_input_is_valid`, and one bad value in a COPY or a CAST fails the whole
 * statement. A check accepts only text that both Redshift and PostgreSQL (the fake's engine) read
 * as the same value of the column's type, so a record that passes loads on either; the text
 * itself is loaded unchanged (failed records report what the client sent).
 *
 * Types are named as docs/types.md names them (`INTEGER`, `DECIMAL(12,2)`, `VARCHAR(40)`, …).
 * Types without a check here (INTERVAL, VARBYTE, arrays, …) are cast by the warehouse: a bad
 * value there fails the import as a whole, and nothing is applied.
 */

/** Returns why `text` is not a value of the column's type, or null when it is. */
export type ValueCheck = (text: string) => string | null;

/** Redshift's longest VARCHAR, in bytes (TEXT columns are VARCHAR(256) on Redshift itself). */
export const MAX_VARCHAR_BYTES = 65_535;

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const FLOAT_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT_WORDS = /^[+-]?(?:infinity|inf)$|^nan$/i;
const BOOLEAN_WORDS = new Set(['t', 'true', 'y', 'yes', '1', 'f', 'false', 'n', 'no', '0']);
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

const TIME_TEXT = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  SMALLINT: [-32768n, 32767n],
  INTEGER: [-2147483648n, 2147483647n],
  BIGINT: [-9223372036854775808n, 9223372036854775807n],
};
const REAL_MAX = 3.4028234663852886e38;

const syntax = (type: string, text: string) => `invalid input syntax for type ${type}: "${text}"`;

/** The check for a column of `typeName`, or null when the warehouse's cast is the only check. */
export function valueCheck(typeName: string): ValueCheck | null {
  const range = INTEGER_RANGES[typeName];
  if (range) return integerCheck(typeName.toLowerCase(), range);
  const decimal = /^DECIMAL(?:\((\d+),(-?\d+)\))?$/.exec(typeName);
  if (decimal) return decimalCheck(decimal[1] ? Number(decimal[1]) : null, Number(decimal[2] ?? 0));
  if (typeName === 'REAL') return floatCheck('real', REAL_MAX);
  if (typeName === 'DOUBLE PRECISION') return floatCheck('double precision', Number.MAX_VALUE);
  if (typeName === 'BOOLEAN')
    return (t) => (BOOLEAN_WORDS.has(t.trim().toLowerCase()) ? null : syntax('boolean', t));
  if (typeName === 'DATE') return (t) => (validDate(DATE_TEXT.exec(t)) ? null : syntax('date', t));
  if (typeName === 'TIMESTAMP' || typeName === 'TIMESTAMPTZ') return timestampCheck(typeName.toLowerCase());
  if (typeName === 'TIME' || typeName === 'TIMETZ') return timeCheck(typeName === 'TIMETZ');
  if (typeName === 'UUID') return (t) => (UUID_TEXT.test(t) ? null : syntax('uuid', t));
  const varchar = /^VARCHAR(?:\((\d+)\))?$/.exec(typeName);
  if (varchar)
    return textCheck('character varying', varchar[1] ? Number(varchar[1]) : MAX_VARCHAR_BYTES, false);
  const char = /^CHAR\((\d+)\)$/.exec(typeName);
  if (char) return textCheck('character', Number(char[1]), true);
  if (typeName === 'BPCHAR') return textCheck('character', MAX_VARCHAR_BYTES, true);
  if (typeName === 'SUPER') return jsonCheck;
  return null;
}

function integerCheck(type: string, [min, max]: [bigint, bigint]): ValueCheck {
  return (t) => {
    if (!INTEGER_TEXT.test(t)) return syntax(type, t);
    const n = BigInt(t);
    return n < min || n > max ? `value "${t}" is out of range for type ${type}` : null;
  };
}

/** DECIMAL(p,s): at most p digits once rounded to s decimals (both engines round extra decimals half up). */
function decimalCheck(precision: number | null, scale: number): ValueCheck {
  return (t) => {
    const m = DECIMAL_TEXT.exec(t);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) return syntax('numeric', t);
    if (precision === null) return null;
    const whole = m[2]!.replace(/^0+/, '');
    const fraction = m[3] ?? '';
    let digits = BigInt(`${whole}${fraction.slice(0, scale).padEnd(scale, '0')}` || '0');
    if (fraction.length > scale && Number(fraction[scale]) >= 5) digits += 1n;
    return digits >= 10n ** BigInt(precision)
      ? `numeric field overflow: "${t}" does not fit DECIMAL(${precision},${scale})`
      : null;
  };
}

function floatCheck(type: string, max: number): ValueCheck {
  return (t) => {
    if (FLOAT_WORDS.test(t)) return null;
    if (!FLOAT_TEXT.test(t)) return syntax(type, t);
    return Math.abs(Number(t)) > max ? `"${t}" is out of range for type ${type}` : null;
  };
}

function validDate(m: RegExpExecArray | null): boolean {
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  return d <= days;
}

/** ISO 8601 dates and times (`2024-01-31`, `2024-01-31 12:30`, `2024-01-31T12:30:00.123456+02:00`). */
function timestampCheck(type: string): ValueCheck {
  return (t) => {
    const m = TIMESTAMP_TEXT.exec(t);
    if (!m || !validDate(m)) return syntax(type, t);
    const [h, mi, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
    if (h > 23 || mi > 59 || s > 59) return `date/time field value out of range: "${t}"`;
    const zone = m[8];
    if (zone && zone !== 'Z') {
      const digits = zone.replace(':', '');
      if (Number(digits.slice(1, 3)) > 15 || Number(digits.slice(3) || 0) > 59)
        return `time zone displacement out of range: "${t}"`;
    }
    return null;
  };
}

/** Clock times `HH:MM[:SS[.ffffff]]` up to 24:00:00; a zone only for TIMETZ (Redshift drops one given to TIME). */
function timeCheck(withZone: boolean): ValueCheck {
  const type = withZone ? 'time with time zone' : 'time without time zone';
  return (t) => {
    const m = TIME_TEXT.exec(t);
    if (!m || (m[5] && !withZone)) return syntax(type, t);
    const [h, mi, s, frac] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
    const endOfDay = h === 24 && mi === 0 && s === 0 && frac === 0;
    if ((h > 23 && !endOfDay) || mi > 59 || s > 59) return `date/time field value out of range: "${t}"`;
    const zone = m[5];
    if (zone && zone !== 'Z') {
      const digits = zone.replace(':', '');
      if (Number(digits.slice(1, 3)) > 15 || Number(digits.slice(3) || 0) > 59)
        return `time zone displacement out of range: "${t}"`;
    }
    return null;
  };
}

/** Redshift measures VARCHAR and CHAR lengths in bytes (UTF-8); CHAR holds single-byte characters only. */
function textCheck(type: string, maxBytes: number, singleByte: boolean): ValueCheck {
  return (t) => {
    if (t.includes('\u0000')) return 'text values cannot contain the NUL character (U+0000)';
    if (singleByte && /[^\u0000-\u007f]/.test(t))
      return `${type}(${maxBytes}) holds single-byte characters only: "${t}"`;
    const bytes = Buffer.byteLength(t, 'utf8');
    return bytes > maxBytes ? `value too long for type ${type}(${maxBytes}) (${bytes} bytes)` : null;
  };
}

const jsonCheck: ValueCheck = (t) => {
  try {
    JSON.parse(t);
    return null;
  } catch (e) {
    return `invalid input syntax for type json: ${(e as Error).message}`;
  }
};
