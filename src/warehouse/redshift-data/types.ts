/**
 * Data API `ColumnMetadata` → Redshift-style type names and value decoders. Every type is mapped
 * onto the PostgreSQL type it shares its text form with, so both adapters apply the very same
 * rules (docs/types.md): the JSON a client sees does not depend on the warehouse adapter.
 */
import type { ColumnMetadata, Field } from '@aws-sdk/client-redshift-data';
import {
  columnTypeName,
  decoderFor,
  PG_OID,
  type PgFieldInfo,
  TEXT_ONLY_TYPE_NAMES,
  type ValueDecoder,
} from '../column-types.js';
import type { ColumnInfo } from '../port.js';

/** Type name as the Data API reports it (lower-case internal name) → PostgreSQL type OID. */
const BASE_TYPES = new Map<string, number>([
  ['int2', PG_OID.int2],
  ['smallint', PG_OID.int2],
  ['int4', PG_OID.int4],
  ['integer', PG_OID.int4],
  ['int', PG_OID.int4],
  ['int8', PG_OID.int8],
  ['bigint', PG_OID.int8],
  ['oid', PG_OID.oid],
  ['numeric', PG_OID.numeric],
  ['decimal', PG_OID.numeric],
  ['float4', PG_OID.float4],
  ['real', PG_OID.float4],
  ['float8', PG_OID.float8],
  ['float', PG_OID.float8],
  ['double precision', PG_OID.float8],
  ['bool', PG_OID.bool],
  ['boolean', PG_OID.bool],
  ['text', PG_OID.text],
  ['varchar', PG_OID.varchar],
  ['character varying', PG_OID.varchar],
  ['bpchar', PG_OID.bpchar],
  ['character', PG_OID.bpchar],
  ['char', PG_OID.char],
  ['name', PG_OID.name],
  ['uuid', PG_OID.uuid],
  ['date', PG_OID.date],
  ['time', PG_OID.time],
  ['time without time zone', PG_OID.time],
  ['timetz', PG_OID.timetz],
  ['time with time zone', PG_OID.timetz],
  ['timestamp', PG_OID.timestamp],
  ['timestamp without time zone', PG_OID.timestamp],
  ['timestamptz', PG_OID.timestamptz],
  ['timestamp with time zone', PG_OID.timestamptz],
  ['interval', PG_OID.interval],
  ['intervaly2m', PG_OID.interval],
  ['intervald2s', PG_OID.interval],
  ['json', PG_OID.json],
  ['jsonb', PG_OID.jsonb],
  ['super', PG_OID.json],
  ['bytea', PG_OID.bytea],
  ['varbyte', PG_OID.bytea],
  ['varbinary', PG_OID.bytea],
  ['binary varying', PG_OID.bytea],
]);

/** PostgreSQL array type OIDs by element OID (Redshift has no arrays; PostgreSQL behind the Data API does). */
const ARRAY_OF = new Map<number, number>([
  [PG_OID.int2, 1005],
  [PG_OID.int4, 1007],
  [PG_OID.int8, 1016],
  [PG_OID.oid, 1028],
  [PG_OID.numeric, 1231],
  [PG_OID.float4, 1021],
  [PG_OID.float8, 1022],
  [PG_OID.bool, 1000],
  [PG_OID.text, 1009],
  [PG_OID.varchar, 1015],
  [PG_OID.bpchar, 1014],
  [PG_OID.char, 1002],
  [PG_OID.name, 1003],
  [PG_OID.uuid, 2951],
  [PG_OID.date, 1182],
  [PG_OID.time, 1183],
  [PG_OID.timetz, 1270],
  [PG_OID.timestamp, 1115],
  [PG_OID.timestamptz, 1185],
  [PG_OID.interval, 1187],
  [PG_OID.json, 199],
  [PG_OID.jsonb, 3807],
  [PG_OID.bytea, 1001],
]);

/** Redshift types with no PostgreSQL counterpart, sent as their text. */
const REDSHIFT_TEXT_TYPES = new Set(['GEOMETRY', 'GEOGRAPHY', 'HLLSKETCH']);

const VARHDRSZ = 4;

const identity: ValueDecoder = (text) => text;

/** Redshift prints booleans as `t`/`f` or `true`/`false` depending on the path. */
const decodeBool: ValueDecoder = (text) => text === 't' || text === 'true' || text === '1';

/** VARBYTE: hex, with PostgreSQL's `\x` prefix or without it (Redshift) → base64. */
const decodeVarbyte: ValueDecoder = (text) =>
  Buffer.from(text.startsWith('\\x') ? text.slice(2) : text, 'hex').toString('base64');

export interface ResultColumn {
  info: ColumnInfo;
  /** Decodes a non-NULL value from its text (the CSV field, or a typed field's `stringValue`). */
  decodeText: ValueDecoder;
  /** Decodes a typed field of `GetStatementResult` (NULL included). */
  decodeField: (field: Field) => unknown;
}

/** The PostgreSQL field a Data API column is read as; undefined for types without a rule. */
export function pgFieldOf(meta: ColumnMetadata): PgFieldInfo | undefined {
  let name = (meta.typeName ?? '').trim().toLowerCase();
  const isArray = name.startsWith('_');
  if (isArray) name = name.slice(1);
  const base = BASE_TYPES.get(name);
  if (base === undefined) return undefined;
  const oid = isArray ? ARRAY_OF.get(base) : base;
  if (oid === undefined) return undefined;
  return { name: meta.name ?? '', dataTypeID: oid, dataTypeModifier: typmodOf(base, meta) };
}

/** `precision` is a decimal's precision or a character column's length; 0 or absent = unconstrained. */
function typmodOf(base: number, meta: ColumnMetadata): number {
  const precision = meta.precision ?? 0;
  if (precision <= 0) return -1;
  if (base === PG_OID.numeric) return ((precision << 16) | ((meta.scale ?? 0) & 0x7ff)) + VARHDRSZ;
  if (base === PG_OID.varchar || base === PG_OID.bpchar) return precision + VARHDRSZ;
  return -1;
}

export function resultColumn(meta: ColumnMetadata, index: number): ResultColumn {
  const name = meta.name || meta.label || `column${index + 1}`;
  const field = pgFieldOf(meta);
  let type: string;
  let decodeText: ValueDecoder;
  if (field) {
    type = columnTypeName(field);
    decodeText =
      field.dataTypeID === PG_OID.bool
        ? decodeBool
        : field.dataTypeID === PG_OID.bytea
          ? decodeVarbyte
          : decoderFor(field);
  } else {
    const upper = (meta.typeName ?? '').trim().toUpperCase();
    type = TEXT_ONLY_TYPE_NAMES.has(upper) || REDSHIFT_TEXT_TYPES.has(upper) ? upper : 'UNKNOWN';
    decodeText = identity;
  }
  return { info: { name, type }, decodeText, decodeField: fieldDecoder(decodeText) };
}

function fieldDecoder(decodeText: ValueDecoder): (field: Field) => unknown {
  return (field) => {
    if (field.isNull) return null;
    if (field.stringValue !== undefined) return decodeText(field.stringValue);
    if (field.longValue !== undefined) return field.longValue;
    if (field.doubleValue !== undefined) {
      const d = field.doubleValue;
      return Number.isFinite(d) ? d : String(d);
    }
    if (field.booleanValue !== undefined) return field.booleanValue;
    if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString('base64');
    return null;
  };
}

export function resultColumns(metadata: readonly ColumnMetadata[]): ResultColumn[] {
  return metadata.map(resultColumn);
}
