/**
 * The SQL text of Redshift's bulk paths: `UNLOAD ('<select>') TO 's3://…'` for exports and
 * `COPY <table> FROM 's3://…'` into a staging table, then INSERT / UPDATE / MERGE / DELETE from it,
 * for imports. Pure string building; every name and value that reaches the text goes through one
 * of the quoting functions below.
 *
 * Quoting rules (Redshift, not PostgreSQL): a string literal reads `''` as `'` AND a backslash as
 * an escape (`\\` = `\`, `\'` = `'`, `\n` = newline, …), so a literal escapes both; NUL cannot be
 * stored in Redshift text and is refused. UNLOAD takes no bind parameters and its query is itself
 * a literal: the `$n` values are inlined as literals first, then the whole query is quoted again,
 * so Redshift's first reading of the UNLOAD gives back exactly the query text we built. S3
 * buckets, key prefixes and IAM role ARNs are checked against a safe character set before quoting
 * (defence in depth: a key cannot even contain a quote). Identifiers are quoted with `"`, `""`
 * doubling (Redshift does not read backslashes in identifiers).
 */
import { ApiError } from '../../domain/errors.js';
import { type ScanToken, scanSql } from '../../sql/parser.js';
import { byteOffsetMapper } from '../../sql/source-map.js';

/** `'…'` as Redshift reads it back to `value`. */
export function redshiftStringLiteral(value: string): string {
  if (value.includes('\u0000')) {
    throw new ApiError('INVALID_REQUEST', 'text values cannot contain the NUL character (U+0000)');
  }
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** `"…"`; Redshift folds unquoted names to lower case, quoted ones keep their spelling. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\u0000') || Buffer.byteLength(name) > 127) {
    throw new ApiError('INVALID_REQUEST', 'an identifier must be 1 to 127 bytes without NUL', { name });
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.name` or `name`, each part quoted. */
export function qualifiedName(table: { schema?: string | null; name: string }): string {
  return table.schema
    ? `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`
    : quoteIdentifier(table.name);
}

/** S3 general-purpose bucket naming rules (lower case, digits, `.`, `-`; 3–63 characters). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Key characters we let into SQL text: S3's "safe characters" minus the ones quoting would touch. */
const KEY = /^[A-Za-z0-9!_.*()/-]*$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;

export function assertS3Bucket(bucket: string): void {
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new ApiError('INTERNAL_ERROR', 'the S3 bucket name is not a valid bucket name', { bucket });
  }
}

/** A key or key prefix: safe characters only, no empty, `.` or `..` segment. */
export function assertS3Key(key: string): void {
  const segments = key.split('/');
  const bad =
    key.length === 0 ||
    key.length > 1024 ||
    !KEY.test(key) ||
    key.startsWith('/') ||
    segments.some((s, i) => s === '.' || s === '..' || (s === '' && i !== segments.length - 1));
  if (bad) {
    throw new ApiError('INTERNAL_ERROR', 'an S3 key holds characters outside the safe set', { key });
  }
}

/** `'s3://bucket/key'` after both checks. */
export function s3UrlLiteral(bucket: string, key: string): string {
  assertS3Bucket(bucket);
  assertS3Key(key);
  return redshiftStringLiteral(`s3://${bucket}/${key}`);
}

/** One role ARN, or a comma-separated chain of them (Redshift's role chaining). */
export function iamRoleLiteral(roleArn: string): string {
  const roles = roleArn.split(',');
  if (!roles.every((r) => ROLE_ARN.test(r))) {
    throw new ApiError('INTERNAL_ERROR', 'the IAM role for UNLOAD/COPY is not an IAM role ARN', {
      role: roleArn,
    });
  }
  return redshiftStringLiteral(roleArn);
}

const WORD_CHARACTER = /[\w$\u0080-\uffff]/;

/** A bind value as a Redshift literal; numbers stay numbers, text becomes a quoted literal. */
export function parameterLiteral(value: unknown, n: number): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return redshiftStringLiteral(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'bigint') return value < 0n ? `(${value})` : String(value);
  if (typeof value === 'number' && Number.isFinite(value)) {
    // `5-$1` with -1 would read `5--1`: a comment. Negative numbers are parenthesised.
    return value < 0 || Object.is(value, -0) ? `(${value})` : String(value);
  }
  throw new ApiError('INTERNAL_ERROR', `parameter $${n} has a value that cannot be inlined`, {
    parameter: n,
    type: typeof value,
  });
}

/**
 * `$n` → its value as a literal (statements that take no bind parameters: UNLOAD). The guard's
 * tokenizer finds the placeholders, so `$1` inside strings, comments or quoted names is untouched.
 * Needs `initSqlGuard()` to have run.
 */
export function inlineParameters(sql: string, values: readonly unknown[]): string {
  if (values.length === 0 && !sql.includes('$')) return sql;
  const tokens: ScanToken[] = scanSql(sql);
  const toIndex = byteOffsetMapper(sql);
  let out = '';
  let copied = 0;
  let highest = 0;
  for (const token of tokens) {
    if (token.tokenName !== 'PARAM') continue;
    const n = Number(token.text.slice(1));
    if (!Number.isSafeInteger(n) || n < 1 || n > values.length) throw countMismatch(n, values.length);
    highest = Math.max(highest, n);
    const start = toIndex(token.start);
    const end = toIndex(token.end);
    let literal = parameterLiteral(values[n - 1], n);
    const before = sql.charAt(start - 1);
    const after = sql.charAt(end);
    if (WORD_CHARACTER.test(before) || before === ':' || before === "'") literal = ` ${literal}`;
    if (WORD_CHARACTER.test(after) || after === ':' || after === "'") literal = `${literal} `;
    out += sql.slice(copied, start) + literal;
    copied = end;
  }
  if (highest !== values.length) throw countMismatch(highest, values.length);
  return out + sql.slice(copied);
}

function countMismatch(n: number, count: number): ApiError {
  return new ApiError('INTERNAL_ERROR', `the statement uses $${n} but has ${count} parameter(s)`);
}

export type FieldDelimiter = ',' | '|' | '\t';

/** The delimiter as Redshift writes it in its docs (`'\t'` is read as a tab by the literal rules). */
function delimiterLiteral(delimiter: FieldDelimiter): string {
  if (delimiter === '\t') return `'\\t'`;
  if (delimiter === ',' || delimiter === '|') return `'${delimiter}'`;
  throw new ApiError('INVALID_REQUEST', 'unsupported column delimiter', { field: 'column_delimiter' });
}

export interface UnloadSpec {
  /** The SELECT, parameters already inlined (`inlineParameters`). */
  query: string;
  bucket: string;
  /** Key prefix of the files and the manifest, e.g. `results/acme/unload-…/`. */
  keyPrefix: string;
  iamRole: string;
  format: 'CSV' | 'PARQUET';
  /** CSV only. */
  header?: boolean;
  /** CSV only; default `,`. */
  delimiter?: FieldDelimiter;
  /** CSV only. */
  gzip?: boolean;
  /** 5 … 6200 (Redshift's range); omitted = Redshift's default (6.2 GB). */
  maxFileSizeMb?: number;
  /** `verbose` adds the schema and each file's record count. */
  manifest?: boolean | 'verbose';
  /** `false`: one writer, files in the query's ORDER BY. Default: Redshift's (parallel). */
  parallel?: boolean;
  allowOverwrite?: boolean;
}

export const MIN_UNLOAD_FILE_MB = 5;
export const MAX_UNLOAD_FILE_MB = 6200;

export function unloadStatement(spec: UnloadSpec): string {
  const parts = [
    `UNLOAD (${redshiftStringLiteral(spec.query)})`,
    `TO ${s3UrlLiteral(spec.bucket, spec.keyPrefix)}`,
    `IAM_ROLE ${iamRoleLiteral(spec.iamRole)}`,
    `FORMAT AS ${spec.format}`,
  ];
  if (spec.format === 'CSV') {
    if (spec.header) parts.push('HEADER');
    if (spec.delimiter && spec.delimiter !== ',')
      parts.push(`DELIMITER AS ${delimiterLiteral(spec.delimiter)}`);
    if (spec.gzip) parts.push('GZIP');
  } else if (spec.header || spec.delimiter || spec.gzip) {
    throw new ApiError('INTERNAL_ERROR', 'HEADER, DELIMITER and GZIP apply to CSV unloads only');
  }
  if (spec.maxFileSizeMb !== undefined) {
    const mb = spec.maxFileSizeMb;
    if (!Number.isInteger(mb) || mb < MIN_UNLOAD_FILE_MB || mb > MAX_UNLOAD_FILE_MB) {
      throw new ApiError(
        'INTERNAL_ERROR',
        `MAXFILESIZE must be a whole number of MB between ${MIN_UNLOAD_FILE_MB} and ${MAX_UNLOAD_FILE_MB}`,
      );
    }
    parts.push(`MAXFILESIZE ${mb} MB`);
  }
  if (spec.manifest) parts.push(spec.manifest === 'verbose' ? 'MANIFEST VERBOSE' : 'MANIFEST');
  if (spec.parallel === false) parts.push('PARALLEL OFF');
  if (spec.allowOverwrite) parts.push('ALLOWOVERWRITE');
  return parts.join(' ');
}

export interface TableRef {
  schema?: string | null;
  name: string;
}

export interface CopySpec {
  table: TableRef;
  columns: string[];
  bucket: string;
  /** An object key (or a prefix: COPY loads every object under it; or a manifest with `manifest`). */
  key: string;
  iamRole: string;
  delimiter?: FieldDelimiter;
  gzip?: boolean;
  /** Header lines to skip. */
  ignoreHeader?: number;
  /** `key` names a manifest listing the files. */
  manifest?: boolean;
}

/** `COPY <table> (<cols>) FROM 's3://…' … CSV`: an unquoted empty field loads as NULL, `""` as ''. */
export function copyStatement(spec: CopySpec): string {
  if (spec.columns.length === 0) throw new ApiError('INTERNAL_ERROR', 'COPY needs at least one column');
  const parts = [
    `COPY ${qualifiedName(spec.table)} (${spec.columns.map(quoteIdentifier).join(', ')})`,
    `FROM ${s3UrlLiteral(spec.bucket, spec.key)}`,
    `IAM_ROLE ${iamRoleLiteral(spec.iamRole)}`,
    'FORMAT AS CSV',
  ];
  if (spec.delimiter && spec.delimiter !== ',')
    parts.push(`DELIMITER AS ${delimiterLiteral(spec.delimiter)}`);
  if (spec.gzip) parts.push('GZIP');
  if (spec.ignoreHeader) {
    if (!Number.isInteger(spec.ignoreHeader) || spec.ignoreHeader < 0) {
      throw new ApiError('INTERNAL_ERROR', 'IGNOREHEADER takes a line count');
    }
    parts.push(`IGNOREHEADER ${spec.ignoreHeader}`);
  }
  if (spec.manifest) parts.push('MANIFEST');
  return parts.join(' ');
}

/** A session-scoped staging table shaped like the target's columns (dropped at session end). */
export function createStagingTable(staging: string, target: TableRef, columns: string[]): string {
  const cols = columns.map(quoteIdentifier).join(', ');
  return `CREATE TEMP TABLE ${quoteIdentifier(staging)} AS SELECT ${cols} FROM ${qualifiedName(target)} WHERE FALSE`;
}

export interface ApplySpec {
  target: TableRef;
  staging: string;
  columns: string[];
  /** Key of update, upsert and delete. */
  key: string | null;
}

/** The statement that applies the staged rows: INSERT, UPDATE … FROM, MERGE, or DELETE … USING. */
export function applyStatement(
  operation: 'insert' | 'update' | 'upsert' | 'delete',
  spec: ApplySpec,
): string {
  const target = qualifiedName(spec.target);
  const staging = quoteIdentifier(spec.staging);
  const cols = spec.columns.map(quoteIdentifier);
  if (operation === 'insert')
    return `INSERT INTO ${target} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${staging}`;
  if (!spec.key) throw new ApiError('INTERNAL_ERROR', `${operation} needs a key column`);
  const key = quoteIdentifier(spec.key);
  const match = `${target}.${key} = s.${key}`;
  const updates = cols.filter((c) => c !== key).map((c) => `${c} = s.${c}`);
  if (operation === 'delete') return `DELETE FROM ${target} USING ${staging} AS s WHERE ${match}`;
  if (updates.length === 0)
    throw new ApiError('INTERNAL_ERROR', `${operation} needs a column besides the key`);
  if (operation === 'update')
    return `UPDATE ${target} SET ${updates.join(', ')} FROM ${staging} AS s WHERE ${match}`;
  return (
    `MERGE INTO ${target} USING ${staging} AS s ON ${match}` +
    ` WHEN MATCHED THEN UPDATE SET ${updates.join(', ')}` +
    ` WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`
  );
}
