/**
 * PostgreSQL wire values → JSON-ready values, and PostgreSQL types → Redshift-style type names:
 * one set of rules for both warehouse adapters (the Data API maps each column onto the PostgreSQL
 * type it shares its text form with), so neither adapter imports the other.
 *
 * The adapter asks node-postgres for every value as PostgreSQL's text, with the session settings
 * `TimeZone=UTC`, `IntervalStyle=iso_8601`, `DateStyle=ISO,MDY`, `bytea_output=hex`; the decoders
 * below rely on those output forms. Every rule, with examples, is in docs/types.md.
 */
import { parse as parseArray } from 'postgres-array';

/** The part of node-postgres' `FieldDef` the decoders need. */
export interface PgFieldInfo {
  name: string;
  dataTypeID: number;
  dataTypeModifier: number;
}

/** Decodes one non-NULL value from its text form (the adapter maps SQL NULL to null itself). */
export type ValueDecoder = (text: string) => unknown;

/** Type OIDs from PostgreSQL's pg_type catalogue (stable across versions). */
export const PG_OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

const identity: ValueDecoder = (text) => text;

const decodeInt: ValueDecoder = (text) => +text;

/** int8 beyond ±(2^53 − 1) would round in a JS number, so it stays a string of its exact digits. */
const decodeInt8: ValueDecoder = (text) => {
  // Up to 15 digits (plus sign) is always within the safe range.
  if (text.length < 16) return +text;
  const n = +text;
  return Number.isSafeInteger(n) ? n : text;
};

/** PostgreSQL prints the shortest text that round-trips the float; only NaN and ±Infinity stay strings. */
const decodeFloat: ValueDecoder = (text) => {
  const n = +text;
  return Number.isFinite(n) ? n : text;
};

const decodeBool: ValueDecoder = (text) => text === 't';

const CODE_C = 67; // 'C', the last letter of an era suffix ' BC'
const CODE_SPACE = 32;
const CODE_PLUS = 43;
const CODE_ZERO = 48;

/** 'YYYY-MM-DD' unchanged; 'YYYY-MM-DD BC' → ISO 8601 astronomical year ('0044-03-15 BC' → '-0043-03-15'). */
const decodeDate: ValueDecoder = (text) => {
  if (text.charCodeAt(text.length - 1) !== CODE_C) return text;
  const dash = text.indexOf('-');
  return formatYear(1 - Number(text.slice(0, dash))) + text.slice(dash, -3);
};

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' → 'YYYY-MM-DDTHH:MM:SS[.ffffff]'. */
const decodeTimestamp: ValueDecoder = (text) => {
  if (text.charCodeAt(10) === CODE_SPACE && text.charCodeAt(text.length - 1) !== CODE_C) {
    return text.slice(0, 10) + 'T' + text.slice(11);
  }
  return slowTimestamp(text, false);
};

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]+00' → 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' (any other offset is converted to UTC). */
const decodeTimestamptz: ValueDecoder = (text) => {
  const n = text.length;
  if (
    text.charCodeAt(10) === CODE_SPACE &&
    text.charCodeAt(n - 3) === CODE_PLUS &&
    text.charCodeAt(n - 2) === CODE_ZERO &&
    text.charCodeAt(n - 1) === CODE_ZERO
  ) {
    return text.slice(0, 10) + 'T' + text.slice(11, n - 3) + 'Z';
  }
  return slowTimestamp(text, true);
};

const TIMESTAMP_TEXT =
  /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

/** BC eras, years past 9999, and non-UTC offsets. 'infinity' and '-infinity' pass through unchanged. */
function slowTimestamp(text: string, withZone: boolean): string {
  const m = TIMESTAMP_TEXT.exec(text);
  if (!m) return text;
  let year = Number(m[1]);
  if (m[12]) year = 1 - year;
  let [month, day, hour, minute, second] = [m[2]!, m[3]!, m[4]!, m[5]!, m[6]!];
  const fraction = m[7] ?? '';
  const offsetSeconds = m[8]
    ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0))
    : 0;
  if (offsetSeconds !== 0) {
    const d = new Date(0);
    d.setUTCFullYear(year, Number(month) - 1, Number(day));
    d.setUTCHours(Number(hour), Number(minute), Number(second) - offsetSeconds);
    year = d.getUTCFullYear();
    [month, day, hour, minute, second] = [
      d.getUTCMonth() + 1,
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
    ].map(pad2) as [string, string, string, string, string];
  }
  const iso = `${formatYear(year)}-${month}-${day}T${hour}:${minute}:${second}${fraction}`;
  return withZone ? iso + 'Z' : iso;
}

const pad2 = (n: number) => (n < 10 ? '0' + n : String(n));

/** ISO 8601 year: at least 4 digits, '-' for years before 0000 (1 BC is year 0000). */
function formatYear(year: number): string {
  const digits = String(Math.abs(year)).padStart(4, '0');
  return year < 0 ? '-' + digits : digits;
}

/** '\x0aff' → base64. The escape format (bytea_output=escape) is decoded too, should a session use it. */
const decodeBytea: ValueDecoder = (text) => {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex').toString('base64');
  return decodeByteaEscape(text).toString('base64');
};

function decodeByteaEscape(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      out[n++] = text.charCodeAt(i);
    } else if (text[i + 1] === '\\') {
      out[n++] = 92;
      i++;
    } else {
      out[n++] = Number.parseInt(text.slice(i + 1, i + 4), 8);
      i += 3;
    }
  }
  return out.subarray(0, n);
}

/**
 * A JSON number literal needs at least 16 characters from this set, or a 3-digit exponent, to lose
 * anything in a double; the regex is a cheap filter so ordinary documents go straight to JSON.parse.
 */
const MAYBE_INEXACT_NUMBER = /[0-9.eE+-]{16}|[eE][+-]?\d{3}/;

/** json/jsonb → parsed value; a number a double cannot hold exactly becomes a string of its literal. */
const decodeJson: ValueDecoder = (text) => {
  if (!MAYBE_INEXACT_NUMBER.test(text)) return JSON.parse(text);
  return JSON.parse(quoteInexactNumbers(text));
};

/** Rewrites JSON text so number literals that would not survive a double become JSON strings. */
export function quoteInexactNumbers(json: string): string {
  let out = '';
  let copied = 0;
  const n = json.length;
  for (let i = 0; i < n; i++) {
    const c = json.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < n; i++) {
        const s = json.charCodeAt(i);
        if (s === 92 /* \ */) i++;
        else if (s === 34) break;
      }
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      while (i + 1 < n && isNumberChar(json.charCodeAt(i + 1))) i++;
      const literal = json.slice(start, i + 1);
      if (!isExactInDouble(literal)) {
        out += json.slice(copied, start) + '"' + literal + '"';
        copied = i + 1;
      }
    }
  }
  return copied === 0 ? json : out + json.slice(copied);
}

const isNumberChar = (c: number) =>
  (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;

/** True when the double nearest to `literal` prints back as the same decimal value. */
function isExactInDouble(literal: string): boolean {
  const n = Number(literal);
  if (!Number.isFinite(n)) return false;
  return canonicalDecimal(literal) === canonicalDecimal(String(n));
}

/** '-1.50e2' → '-15e1': sign, significant digits without leading/trailing zeros, decimal exponent. */
function canonicalDecimal(text: string): string {
  let s = text;
  let sign = '';
  if (s[0] === '-') {
    sign = '-';
    s = s.slice(1);
  }
  let exponent = 0;
  const e = s.search(/[eE]/);
  if (e >= 0) {
    exponent = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf('.');
  if (dot >= 0) {
    exponent -= s.length - dot - 1;
    s = s.slice(0, dot) + s.slice(dot + 1);
  }
  s = s.replace(/^0+/, '');
  if (s === '') return '0';
  const trimmed = s.replace(/0+$/, '');
  exponent += s.length - trimmed.length;
  return `${sign}${trimmed}e${exponent}`;
}

interface ScalarType {
  name: string;
  decode: ValueDecoder;
}

/** The types with a dedicated rule. Names without a typmod; `scalarTypeName` adds (p,s) and (n). */
const SCALARS = new Map<number, ScalarType>([
  [PG_OID.int2, { name: 'SMALLINT', decode: decodeInt }],
  [PG_OID.int4, { name: 'INTEGER', decode: decodeInt }],
  [PG_OID.int8, { name: 'BIGINT', decode: decodeInt8 }],
  [PG_OID.oid, { name: 'OID', decode: decodeInt }],
  [PG_OID.numeric, { name: 'DECIMAL', decode: identity }],
  [PG_OID.float4, { name: 'REAL', decode: decodeFloat }],
  [PG_OID.float8, { name: 'DOUBLE PRECISION', decode: decodeFloat }],
  [PG_OID.bool, { name: 'BOOLEAN', decode: decodeBool }],
  [PG_OID.text, { name: 'VARCHAR', decode: identity }],
  [PG_OID.varchar, { name: 'VARCHAR', decode: identity }],
  [PG_OID.bpchar, { name: 'BPCHAR', decode: identity }],
  [PG_OID.char, { name: 'CHAR(1)', decode: identity }],
  [PG_OID.name, { name: 'NAME', decode: identity }],
  [PG_OID.uuid, { name: 'UUID', decode: identity }],
  [PG_OID.date, { name: 'DATE', decode: decodeDate }],
  [PG_OID.time, { name: 'TIME', decode: identity }],
  [PG_OID.timetz, { name: 'TIMETZ', decode: identity }],
  [PG_OID.timestamp, { name: 'TIMESTAMP', decode: decodeTimestamp }],
  [PG_OID.timestamptz, { name: 'TIMESTAMPTZ', decode: decodeTimestamptz }],
  [PG_OID.interval, { name: 'INTERVAL', decode: identity }],
  [PG_OID.json, { name: 'SUPER', decode: decodeJson }],
  [PG_OID.jsonb, { name: 'SUPER', decode: decodeJson }],
  [PG_OID.bytea, { name: 'VARBYTE', decode: decodeBytea }],
]);

/** Array type OID → element type OID, for every element type in SCALARS. */
const ARRAY_ELEMENT = new Map<number, number>([
  [1005, PG_OID.int2],
  [1007, PG_OID.int4],
  [1016, PG_OID.int8],
  [1028, PG_OID.oid],
  [1231, PG_OID.numeric],
  [1021, PG_OID.float4],
  [1022, PG_OID.float8],
  [1000, PG_OID.bool],
  [1009, PG_OID.text],
  [1015, PG_OID.varchar],
  [1014, PG_OID.bpchar],
  [1002, PG_OID.char],
  [1003, PG_OID.name],
  [2951, PG_OID.uuid],
  [1182, PG_OID.date],
  [1183, PG_OID.time],
  [1270, PG_OID.timetz],
  [1115, PG_OID.timestamp],
  [1185, PG_OID.timestamptz],
  [1187, PG_OID.interval],
  [199, PG_OID.json],
  [3807, PG_OID.jsonb],
  [1001, PG_OID.bytea],
]);

/** Types decoded as their text, named so a client can still tell what they are. */
const TEXT_ONLY_NAMES = new Map<number, string>([
  [22, 'INT2VECTOR'],
  [24, 'REGPROC'],
  [27, 'TID'],
  [28, 'XID'],
  [30, 'OIDVECTOR'],
  [142, 'XML'],
  [600, 'POINT'],
  [601, 'LSEG'],
  [602, 'PATH'],
  [603, 'BOX'],
  [604, 'POLYGON'],
  [628, 'LINE'],
  [650, 'CIDR'],
  [718, 'CIRCLE'],
  [774, 'MACADDR8'],
  [790, 'MONEY'],
  [829, 'MACADDR'],
  [869, 'INET'],
  [1560, 'BIT'],
  [1562, 'VARBIT'],
  [2205, 'REGCLASS'],
  [2206, 'REGTYPE'],
  [2249, 'RECORD'],
  [3614, 'TSVECTOR'],
  [3615, 'TSQUERY'],
  [3904, 'INT4RANGE'],
  [3906, 'NUMRANGE'],
  [3908, 'TSRANGE'],
  [3910, 'TSTZRANGE'],
  [3912, 'DATERANGE'],
  [3926, 'INT8RANGE'],
  [4072, 'JSONPATH'],
  [5069, 'XID8'],
]);

/** Upper-case names of the built-in types sent as their text (other adapters name them alike). */
export const TEXT_ONLY_TYPE_NAMES: ReadonlySet<string> = new Set(TEXT_ONLY_NAMES.values());

const VARHDRSZ = 4;

function scalarTypeName(oid: number, typmod: number): string | undefined {
  const base = SCALARS.get(oid)?.name;
  if (base === undefined || typmod < 0) return base;
  switch (oid) {
    case PG_OID.numeric: {
      const mod = typmod - VARHDRSZ;
      const precision = (mod >> 16) & 0xffff;
      // Since PostgreSQL 15 the scale is an 11-bit signed number (NUMERIC(3,-2) is legal).
      const scale = ((mod & 0x7ff) ^ 1024) - 1024;
      return `DECIMAL(${precision},${scale})`;
    }
    case PG_OID.varchar:
      return `VARCHAR(${typmod - VARHDRSZ})`;
    case PG_OID.bpchar:
      return `CHAR(${typmod - VARHDRSZ})`;
    default:
      return base;
  }
}

/**
 * The Redshift-style type name of a result column: `INTEGER`, `DECIMAL(12,2)`, `VARCHAR(64)`,
 * `TIMESTAMPTZ`, `INTEGER[]`, … Types without a rule get their upper-case PostgreSQL name when it
 * is a built-in, else `UNKNOWN` (enums, composites, extension types).
 */
export function columnTypeName(field: PgFieldInfo): string {
  const { dataTypeID: oid, dataTypeModifier: typmod } = field;
  const scalar = scalarTypeName(oid, typmod);
  if (scalar !== undefined) return scalar;
  // An array column's typmod is its element's (VARCHAR(3)[] has typmod 7).
  const element = ARRAY_ELEMENT.get(oid);
  if (element !== undefined) return `${scalarTypeName(element, typmod)}[]`;
  return TEXT_ONLY_NAMES.get(oid) ?? 'UNKNOWN';
}

function arrayDecoder(element: ValueDecoder): ValueDecoder {
  if (element === identity) return (text) => parseArray(text);
  return (text) => parseArray(text, element);
}

const ARRAY_DECODERS = new Map<number, ValueDecoder>(
  [...ARRAY_ELEMENT].map(([arrayOid, elementOid]) => [
    arrayOid,
    arrayDecoder(SCALARS.get(elementOid)!.decode),
  ]),
);

/** The decoder for one result column: look it up once per statement, apply it to every non-NULL value. */
export function decoderFor(field: PgFieldInfo): ValueDecoder {
  return SCALARS.get(field.dataTypeID)?.decode ?? ARRAY_DECODERS.get(field.dataTypeID) ?? identity;
}
