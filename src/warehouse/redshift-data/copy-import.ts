/**
 * Bulk import through COPY from S3 (`copyIn` of the Data API adapter). Redshift cannot check a
 * value without failing the statement (no `pg_input_is_valid`) and enforces no UNIQUE or CHECK
 * constraint, so the import runs in three steps:
 *
 *   1. TypeScript reads the staged records once, in order, and checks each one: the reader's own
 *      verdict, the tenant column, a missing external id, NOT NULL, the value for the column's type
 *      (value-checks.ts), keys repeated in the file. Good records go, as they were sent, to a
 *      gzipped CSV object under the tenant's S3 prefix (`<prefix><tenant>/<label>/copy-<uuid>/`);
 *      failed ones to a second object of JSON lines beside it. Memory: one Map entry per key
 *      (key text + record number, ~100 bytes a record) and the upload parts in flight.
 *   2. A validation batch (BatchExecuteStatement: one transaction, as the tenant): CREATE TEMP
 *      TABLE, COPY … FROM S3, then the records whose key matches no row (update, delete) or
 *      already has one (insert), in record order. These and the objects' failures are merged by
 *      record number into the failed sink, which is closed.
 *   3. An apply batch (one transaction): the same staging and COPY, the same predicate again
 *      (rows another writer changed in between are skipped, never half-applied), then INSERT,
 *      UPDATE … FROM, MERGE or DELETE … USING. `loaded` is that statement's ResultRows.
 *
 * Whatever happens, the staging objects are deleted. An abort or a timeout cancels the running
 * batch (CancelStatement) and nothing is applied. See docs/aws.md, "Bulk imports through COPY".
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { planImportColumns, requireImportPrivileges } from '../../domain/bulk-import-rules.js';
import { ApiError } from '../../domain/errors.js';
import { CsvRecordSplitter, csvFieldValues } from '../../formats/csv-records.js';
import type {
  CopyInRequest,
  ExecutionContext,
  FailedRecord,
  FailedRecordSink,
  TableColumn,
  TableDescription,
} from '../port.js';
import { StatementCancelledError } from '../statement-cancelled.js';
import {
  assertS3Key,
  copyStatement,
  qualifiedName,
  quoteIdentifier,
  redshiftStringLiteral,
} from './unload-copy-sql.js';
import { deleteStaging, type RedshiftUnloadOptions } from './unload-export.js';
import { MAX_VARCHAR_BYTES, type ValueCheck, valueCheck } from './value-checks.js';

/** What the adapter does for this module. */
export interface ImportRunner {
  /**
   * BatchExecuteStatement as the tenant, until FINISHED (cancelled on abort or timeout). `ref`: the
   * statement's ref with its owner identity, as every other statement's.
   */
  batch(
    sqls: string[],
  ): Promise<{ id: string; ref: string; subStatements: { id: string; resultRows: number }[] }>;
  /** A sub-statement's rows, page by page, every value as text (null for NULL). */
  records(subStatementId: string): AsyncIterable<(string | null)[][]>;
}

export interface ImportCounts {
  processed: number;
  loaded: number;
  failed: number;
  statementRef: string;
}

const SAFE_LABEL = /^[A-Za-z0-9_-]{1,60}$/;
const FAILED_BATCH = 2000;
const WRITE_BUFFER_CHARS = 64 * 1024;
const TEXT_TYPE = /^(text|character varying(\(\d+\))?|character(\(\d+\))?)$/;
const INTEGER_TYPES = new Set(['SMALLINT', 'INTEGER', 'BIGINT']);

interface StagedColumn {
  /** Staging column name (`c1`…): never a client-supplied string. */
  stage: string;
  column: TableColumn;
  check: ValueCheck | null;
}

/** The statements of one import, built from the catalog's names (pure: unit-tested). */
export interface ImportStatements {
  stagingTable: string;
  /** CREATE TEMP TABLE and COPY, at the head of both batches. */
  stage: string[];
  /** The failing records (`_line`, error, values), in record order; null when nothing is checked in SQL. */
  validate: string | null;
  /** Statements after staging in the apply batch; the last one's ResultRows is `loaded`. */
  apply: string[];
  /**
   * With `validate`: the apply batch's first statement after staging. It divides by zero (rolling
   * the batch back) unless the records failing `validate`'s predicate now are exactly those it
   * found (count and two sums of record numbers), i.e. no other writer changed their rows between
   * the two batches.
   */
  unchangedSince: ((found: LineDigest) => string) | null;
}

/** A set of record numbers, compared by count, sum and a hashed sum (exact in SQL BIGINT and JS numbers up to 10^7 records). */
export interface LineDigest {
  count: number;
  sum: number;
  hashed: number;
}

const LINE_HASH = { factor: 7919, modulus: 1_000_003 };

export function lineDigest(lines: Iterable<number>): LineDigest {
  const d = { count: 0, sum: 0, hashed: 0 };
  for (const line of lines) addLine(d, line);
  return d;
}

function addLine(d: LineDigest, line: number): void {
  d.count++;
  d.sum += line;
  d.hashed += (line * LINE_HASH.factor) % LINE_HASH.modulus;
}

export interface ImportPlan {
  table: TableDescription;
  request: CopyInRequest;
  staging: StagedColumn[];
  keyColumns: string[];
  /** Unique keys a duplicate in the file breaks (insert: every key the file covers; else the external id's). */
  duplicateKeys: string[][];
}

export function planImport(table: TableDescription, req: CopyInRequest, dbUser: string): ImportPlan {
  requireImportPrivileges(table, req.operation, dbUser);
  const plan = planImportColumns(table, req.operation, req.columns, req.externalId);
  const staging = plan.columns.map((name, i) => {
    const column = table.columns.find((c) => c.name === name)!;
    return { stage: `c${i + 1}`, column, check: valueCheck(column.typeName) };
  });
  const present = new Set(plan.columns);
  const duplicateKeys =
    req.operation === 'insert'
      ? table.uniqueKeys.filter((k) => k.every((c) => present.has(c) || c === table.tenantColumn))
      : [plan.keyColumns];
  return { table, request: req, staging, keyColumns: plan.keyColumns, duplicateKeys };
}

export function importStatements(
  p: ImportPlan,
  s3: { bucket: string; key: string; iamRole: string },
  stagingTable: string,
): ImportStatements {
  const { table, request: req, staging } = p;
  const tenantColumn = table.tenantColumn;
  const tenant = redshiftStringLiteral(req.tenantId);
  const stagedTenant = staging.find((s) => s.column.name === tenantColumn);
  const target = qualifiedName(table);
  const stage = quoteIdentifier(stagingTable);
  const col = (s: StagedColumn) => `s.${s.stage}`;
  const typed = (s: StagedColumn) => {
    if (s === stagedTenant) return `COALESCE(${col(s)}, ${tenant})`;
    const t = s.column.sqlType;
    if (TEXT_TYPE.test(t)) return col(s);
    if (t === 'super') return `JSON_PARSE(${col(s)})`;
    return `CAST(${col(s)} AS ${t})`;
  };
  const byName = (name: string) => staging.find((s) => s.column.name === name);
  /** `t.<key> = <staged key>` for each key column; the tenant column is the caller's tenant. */
  const matchOn = (keyColumns: string[]) =>
    keyColumns
      .map((name) => {
        const s = byName(name);
        return name === tenantColumn || !s
          ? `t.${quoteIdentifier(name)} = ${tenant}`
          : `t.${quoteIdentifier(name)} = ${typed(s)}`;
      })
      .concat(
        tenantColumn && !keyColumns.includes(tenantColumn)
          ? [`t.${quoteIdentifier(tenantColumn)} = ${tenant}`]
          : [],
      )
      .join(' AND ');
  const shownKey = (keyColumns: string[]) => keyColumns.filter((n) => n !== tenantColumn);
  const keyText = (keyColumns: string[]) => {
    const parts = shownKey(keyColumns).map((n) => col(byName(n)!));
    return parts.length === 1 ? parts[0]! : parts.join(` || ', ' || `);
  };
  const values = staging.map((s) => s.stage).join(', ');

  const create = `CREATE TEMP TABLE ${stage} (_line BIGINT, ${staging.map((s) => `${s.stage} VARCHAR(${MAX_VARCHAR_BYTES})`).join(', ')})`;
  const copy = copyStatement({
    table: { name: stagingTable },
    columns: ['_line', ...staging.map((s) => s.stage)],
    bucket: s3.bucket,
    key: s3.key,
    iamRole: s3.iamRole,
    gzip: true,
  });

  const insertColumns = [
    ...staging.map((s) => quoteIdentifier(s.column.name)),
    ...(tenantColumn && !stagedTenant ? [quoteIdentifier(tenantColumn)] : []),
  ];
  const insertValues = [...staging.map(typed), ...(tenantColumn && !stagedTenant ? [tenant] : [])];
  const settable = staging.filter((s) => s !== stagedTenant && !p.keyColumns.includes(s.column.name));
  const sets = settable.map((s) => `${quoteIdentifier(s.column.name)} = ${typed(s)}`).join(', ');

  let validate: string | null = null;
  /** The WHERE clause `validate` selects its failing records by. */
  let failing: string | null = null;
  const apply: string[] = [];
  switch (req.operation) {
    case 'insert': {
      if (p.duplicateKeys.length > 0) {
        const exists = p.duplicateKeys.map((k) => `EXISTS (SELECT 1 FROM ${target} t WHERE ${matchOn(k)})`);
        const message = `CASE ${p.duplicateKeys
          .map(
            (k, i) =>
              `WHEN ${exists[i]} THEN ${redshiftStringLiteral(`a row with this ${shownKey(k).join(', ')} already exists`)}`,
          )
          .join(' ')} END`;
        const any = exists.join(' OR ');
        failing = any;
        validate = `SELECT s._line, ${message}, ${values} FROM ${stage} s WHERE ${any} ORDER BY s._line`;
        apply.push(`DELETE FROM ${stage} s WHERE ${any}`);
      }
      apply.push(
        `INSERT INTO ${target} (${insertColumns.join(', ')}) SELECT ${insertValues.join(', ')} FROM ${stage} s`,
      );
      break;
    }
    case 'update':
    case 'delete': {
      const missing = `${redshiftStringLiteral(`no row with ${shownKey(p.keyColumns).join(', ')} `)} || ${keyText(p.keyColumns)}`;
      failing = `NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${matchOn(p.keyColumns)})`;
      validate = `SELECT s._line, ${missing}, ${values} FROM ${stage} s WHERE ${failing} ORDER BY s._line`;
      apply.push(
        req.operation === 'update'
          ? `UPDATE ${target} AS t SET ${sets} FROM ${stage} s WHERE ${matchOn(p.keyColumns)}`
          : `DELETE FROM ${target} AS t USING ${stage} s WHERE ${matchOn(p.keyColumns)}`,
      );
      break;
    }
    case 'upsert': {
      apply.push(
        settable.length > 0
          ? `MERGE INTO ${target} AS t USING ${stage} s ON ${matchOn(p.keyColumns)}` +
              ` WHEN MATCHED THEN UPDATE SET ${sets}` +
              ` WHEN NOT MATCHED THEN INSERT (${insertColumns.join(', ')}) VALUES (${insertValues.join(', ')})`
          : `INSERT INTO ${target} (${insertColumns.join(', ')}) SELECT ${insertValues.join(', ')} FROM ${stage} s` +
              ` WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${matchOn(p.keyColumns)})`,
      );
      break;
    }
  }
  const where = failing;
  const unchangedSince =
    where === null
      ? null
      : (found: LineDigest) =>
          `SELECT 1 / (SELECT CASE WHEN COUNT(*) = ${found.count}` +
          ` AND COALESCE(SUM(s._line), 0) = ${found.sum}` +
          ` AND COALESCE(SUM(MOD(s._line * ${LINE_HASH.factor}, ${LINE_HASH.modulus})), 0) = ${found.hashed}` +
          ` THEN 1 ELSE 0 END FROM ${stage} s WHERE ${where})`;
  return { stagingTable, stage: [create, copy], validate, apply, unchangedSince };
}

/** Checks one staged record; returns its error or null (the tenant column may be filled in). */
export function checkRecord(p: ImportPlan, values: (string | null)[]): string | null {
  const { table, request: req, staging } = p;
  const writes = req.operation !== 'delete';
  for (let i = 0; i < staging.length; i++) {
    const s = staging[i]!;
    const v = values[i] ?? null;
    if (s.column.name === table.tenantColumn) {
      if (v !== null && v !== req.tenantId)
        return `${s.column.name}: ${v} is not the tenant of this credential`;
    }
  }
  for (const name of p.keyColumns) {
    if (name === table.tenantColumn) continue;
    const i = staging.findIndex((s) => s.column.name === name);
    if (values[i] === null || values[i] === undefined) return `${name}: the external id is missing`;
  }
  for (let i = 0; i < staging.length; i++) {
    const s = staging[i]!;
    if (s.column.name === table.tenantColumn) continue;
    if (!writes && !p.keyColumns.includes(s.column.name)) continue;
    const v = values[i] ?? null;
    if (v === null) {
      if (writes && s.column.notNull) return `${s.column.name}: null value violates the NOT NULL constraint`;
      continue;
    }
    const problem = s.check?.(v);
    if (problem) return `${s.column.name}: ${problem}`;
  }
  return null;
}

/** The text a key is compared by: integers by value (`007` = `7`), everything else as sent. */
function keyOf(p: ImportPlan, key: string[], values: (string | null)[]): string | null {
  const parts: string[] = [];
  for (const name of key) {
    if (name === p.table.tenantColumn) continue;
    const i = p.staging.findIndex((s) => s.column.name === name);
    const v = values[i];
    if (v === null || v === undefined) return null;
    parts.push(INTEGER_TYPES.has(p.staging[i]!.column.typeName) ? BigInt(v).toString() : v);
  }
  return parts.length ? parts.join('\u0000') : null;
}

export async function importThroughCopy(
  opts: RedshiftUnloadOptions,
  ctx: ExecutionContext,
  plan: ImportPlan,
  staged: AsyncIterable<Uint8Array>,
  failed: FailedRecordSink,
  runner: ImportRunner,
): Promise<ImportCounts> {
  const label = ctx.label && SAFE_LABEL.test(ctx.label) ? `${ctx.label}/` : '';
  const keyPrefix = `${opts.prefix}${ctx.tenantId}/${label}copy-${crypto.randomUUID()}/`;
  assertS3Key(keyPrefix);
  const rowsKey = `${keyPrefix}records.csv.gz`;
  const failuresKey = `${keyPrefix}failed.jsonl.gz`;
  const deadline = Date.now() + ctx.timeoutMs;
  const stopIfAborted = () => {
    if (ctx.signal?.aborted) throw new StatementCancelledError();
    if (Date.now() > deadline) {
      const seconds = Math.round(ctx.timeoutMs / 1000);
      throw new ApiError('QUERY_TIMEOUT', `the import exceeded its timeout of ${seconds}s and was stopped`, {
        timeout_seconds: seconds,
      });
    }
  };
  try {
    // 1. Check every record; good ones to S3 as CSV, failed ones as JSON lines.
    const rows = new GzipObject(opts.s3, opts.bucket, rowsKey);
    const failures = new GzipObject(opts.s3, opts.bucket, failuresKey);
    const width = plan.staging.length;
    const firstSeen = plan.duplicateKeys.map(() => new Map<string, number>());
    const splitter = new CsvRecordSplitter(plan.request.delimiter);
    let processed = 0;
    let good = 0;
    let failedInFile = 0;
    const take = async (bytes: Buffer) => {
      const fields = csvFieldValues(bytes, plan.request.delimiter);
      const line = Number(fields[0]);
      const values = fields.slice(3, 3 + width);
      while (values.length < width) values.push(null);
      processed++;
      let error = fields[1] ?? null;
      if (error === null) error = checkRecord(plan, values);
      if (error === null) {
        plan.duplicateKeys.forEach((key, k) => {
          if (error !== null) return;
          const text = keyOf(plan, key, values);
          if (text === null) return;
          const first = firstSeen[k]!.get(text);
          if (first === undefined) firstSeen[k]!.set(text, line);
          else {
            const names = key.filter((n) => n !== plan.table.tenantColumn);
            const shown = names
              .map((n) => values[plan.staging.findIndex((s) => s.column.name === n)])
              .join(', ');
            error = `${names.join(', ')} ${shown} appears more than once in the file (first in record ${first})`;
          }
        });
      }
      if (error !== null) {
        failedInFile++;
        await failures.write(`${JSON.stringify({ line, error, raw: fields[2] ?? null, values })}\n`);
        return;
      }
      good++;
      await rows.write(`${line},${values.map(csvField).join(',')}\n`);
    };
    try {
      for await (const chunk of staged) {
        stopIfAborted();
        for (const r of splitter.push(Buffer.from(chunk))) await take(r.bytes);
      }
      for (const r of splitter.end()) await take(r.bytes);
      await Promise.all([rows.end(), failures.end()]);
    } catch (e) {
      rows.abort();
      failures.abort();
      throw e;
    }
    stopIfAborted();

    const statements = importStatements(
      plan,
      { bucket: opts.bucket, key: rowsKey, iamRole: opts.iamRoleArn },
      `spectra_stage_${crypto.randomUUID().replaceAll('-', '')}`,
    );
    // 2. The records SQL finds failing, merged with the file's failures by record number.
    let statementRef = '';
    let sqlFailures: AsyncIterable<FailedRecord[]> = emptyPages();
    const found = lineDigest([]);
    if (good > 0 && statements.validate) {
      const checked = await runner.batch([...statements.stage, statements.validate]);
      statementRef = checked.ref;
      sqlFailures = digested(failedPages(runner.records(checked.subStatements.at(-1)!.id)), found);
    }
    let failedCount = 0;
    let batch: FailedRecord[] = [];
    for await (const f of mergeByLine(readFailures(opts.s3, opts.bucket, failuresKey, ctx), sqlFailures)) {
      batch.push(f);
      failedCount++;
      if (batch.length >= FAILED_BATCH) {
        await failed.write(batch);
        batch = [];
      }
    }
    if (batch.length) await failed.write(batch);
    await failed.close();
    stopIfAborted();

    // 3. Apply what passed, in one transaction.
    let loaded = 0;
    if (good > failedCount - failedInFile) {
      const guard = statements.unchangedSince ? [statements.unchangedSince(found)] : [];
      const applied = await runner
        .batch([...statements.stage, ...guard, ...statements.apply])
        .catch((e: unknown) => {
          // The guard is the batch's only division: its division by zero means rows changed meanwhile.
          if (guard.length && e instanceof ApiError && e.details.sqlstate === '22012')
            throw changedMeanwhile();
          throw e;
        });
      statementRef = applied.ref;
      loaded = applied.subStatements.at(-1)!.resultRows;
    }
    return { processed, loaded, failed: failedCount, statementRef };
  } finally {
    await deleteStaging(opts, keyPrefix).catch(() => {});
  }
}

function csvField(v: string | null): string {
  if (v === null) return '';
  if (v === '') return '""';
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** A gzipped object written as a stream (lib-storage multipart: memory = part size × queue). */
class GzipObject {
  private readonly gzip = createGzip();
  private readonly done: Promise<unknown>;
  private readonly upload: Upload;
  private failure: unknown;
  private buffered = '';

  constructor(s3: S3Client, bucket: string, key: string) {
    this.upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: this.gzip },
      queueSize: 2,
    });
    this.done = this.upload.done();
    this.done.catch((e) => {
      this.failure = e ?? new Error('upload failed');
    });
  }

  async write(text: string): Promise<void> {
    this.buffered += text;
    if (this.buffered.length >= WRITE_BUFFER_CHARS) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    const ok = this.gzip.write(this.buffered);
    this.buffered = '';
    if (!ok) await Promise.race([once(this.gzip, 'drain'), this.done]);
  }

  async end(): Promise<void> {
    if (this.buffered) await this.flush();
    this.gzip.end();
    await this.done;
  }

  abort(): void {
    this.upload.abort().catch(() => {});
    this.gzip.destroy();
  }
}

async function* readFailures(
  s3: S3Client,
  bucket: string,
  key: string,
  ctx: ExecutionContext,
): AsyncGenerator<FailedRecord> {
  const out = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: key }),
    ctx.signal ? { abortSignal: ctx.signal } : {},
  );
  const body = out.Body as NodeJS.ReadableStream;
  const gunzip = createGunzip();
  body.on('error', (e) => gunzip.destroy(e));
  body.pipe(gunzip);
  for await (const line of createInterface({ input: gunzip, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line) yield JSON.parse(line) as FailedRecord;
  }
}

async function* emptyPages(): AsyncGenerator<FailedRecord[]> {}

/** Passes the pages through, adding their record numbers to `digest`. */
async function* digested(
  pages: AsyncIterable<FailedRecord[]>,
  digest: LineDigest,
): AsyncGenerator<FailedRecord[]> {
  for await (const page of pages) {
    for (const f of page) addLine(digest, f.line);
    yield page;
  }
}

/** Retried by the worker (SQLSTATE 40001 is transient): the next attempt checks the records again. */
function changedMeanwhile(): ApiError {
  return new ApiError(
    'QUERY_FAILED',
    'rows of the table changed between checking the records and applying them; nothing was applied',
    { sqlstate: '40001', reason: 'concurrent_change' },
  );
}

async function* failedPages(pages: AsyncIterable<(string | null)[][]>): AsyncGenerator<FailedRecord[]> {
  for await (const page of pages) {
    yield page.map((r) => ({ line: Number(r[0]), error: String(r[1]), raw: null, values: r.slice(2) }));
  }
}

/** Two streams of failures, each in record order, as one in record order. */
async function* mergeByLine(
  a: AsyncIterable<FailedRecord>,
  pages: AsyncIterable<FailedRecord[]>,
): AsyncGenerator<FailedRecord> {
  const left = a[Symbol.asyncIterator]();
  const right = (async function* () {
    for await (const page of pages) yield* page;
  })();
  let x = await left.next();
  let y = await right.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.line < y.value.line)) {
      yield x.value!;
      x = await left.next();
    } else {
      yield y.value;
      y = await right.next();
    }
  }
}
