/**
 * Bulk CSV export through UNLOAD (the Data API's result pages stop at 100 MB per statement):
 * Redshift writes the result as gzipped CSV parts and a manifest under a staging prefix of the
 * tenant's S3 prefix (`<prefix><tenant>/[<label>/]unload-<uuid>/`), this module reads the manifest,
 * streams the parts back in order (gunzipped) into the sink, and deletes every staging object
 * afterwards — also when the export fails or is cancelled.
 *
 * The bytes match the PostgreSQL adapter's `COPY … TO STDOUT (FORMAT csv)`: no header, NULL as an
 * unquoted empty field, '' as `""`, LF records, booleans as `true`/`false` (rewritten in SQL, as
 * postgres/bulk-copy-out.ts does). PARALLEL OFF keeps the query's ORDER BY across the parts.
 */
import { createGunzip } from 'node:zlib';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ApiError } from '../../domain/errors.js';
import type { ColumnInfo, CopyOutOptions, CopyOutSink, ExecutionContext } from '../port.js';
import { StatementCancelledError } from '../statement-cancelled.js';
import { assertS3Key, type FieldDelimiter, unloadStatement } from './unload-copy-sql.js';

export interface RedshiftUnloadOptions {
  /** Reads the parts and deletes them afterwards; Redshift itself writes them with `iamRoleArn`. */
  s3: S3Client;
  /** The adapter destroys `s3` on close. */
  ownsS3?: boolean;
  bucket: string;
  /** Key prefix above the tenants' folders (`results/`): staging goes to `<prefix><tenant>/…`. */
  prefix: string;
  /** The role Redshift assumes to write the parts (associated with the cluster or namespace). */
  iamRoleArn: string;
  /** Part size (MAXFILESIZE, 5 … 6200 MB); default Redshift's own (6.2 GB). */
  maxFileSizeMb?: number;
}

/** What the adapter does for this module: run one statement as the tenant until it finishes. */
export interface UnloadRunner {
  /** Submits `sql` as `ctx.dbUser`, reports its ref, waits for FINISHED (cancels on abort/timeout). */
  run(sql: string): Promise<void>;
}

const SAFE_LABEL = /^[A-Za-z0-9_-]{1,60}$/;
const LIMIT_WORD = /\blimit\b/i;
const LF = 0x0a;
const QUOTE = 0x22;
const DELETE_BATCH = 1000;

interface ManifestEntry {
  key: string;
  contentLength: number | undefined;
  recordCount: number | undefined;
}

/** Where one export's parts and manifest go. */
export function stagingPrefix(opts: RedshiftUnloadOptions, ctx: ExecutionContext): string {
  const label = ctx.label && SAFE_LABEL.test(ctx.label) ? `${ctx.label}/` : '';
  const prefix = `${opts.prefix}${ctx.tenantId}/${label}unload-${crypto.randomUUID()}/`;
  assertS3Key(prefix);
  return prefix;
}

/**
 * The SELECT that UNLOAD runs: booleans as `true`/`false`; wrapped in a subquery when needed
 * (Redshift refuses a LIMIT in UNLOAD's outer SELECT), its columns renamed `c1…cn` so repeated
 * output names stay addressable.
 */
export function unloadQuery(sql: string, columns: ColumnInfo[]): string {
  const hasBool = columns.some((c) => c.type === 'BOOLEAN');
  if (!hasBool && !LIMIT_WORD.test(sql)) return sql;
  if (columns.length === 0) return `SELECT * FROM (${sql}) AS q`;
  const alias = columns.map((_, i) => `c${i + 1}`);
  const select = columns.map((c, i) =>
    c.type === 'BOOLEAN'
      ? `CASE WHEN c${i + 1} THEN 'true' WHEN NOT c${i + 1} THEN 'false' END`
      : `c${i + 1}`,
  );
  return `SELECT ${select.join(', ')} FROM (${sql}) AS q(${alias.join(', ')})`;
}

export async function exportThroughUnload(
  opts: RedshiftUnloadOptions,
  ctx: ExecutionContext,
  query: string,
  copy: CopyOutOptions,
  sink: CopyOutSink,
  runner: UnloadRunner,
  deadline: number,
): Promise<number> {
  const keyPrefix = stagingPrefix(opts, ctx);
  const sql = unloadStatement({
    query,
    bucket: opts.bucket,
    keyPrefix,
    iamRole: opts.iamRoleArn,
    format: 'CSV',
    delimiter: copy.delimiter as FieldDelimiter,
    gzip: true,
    ...(opts.maxFileSizeMb !== undefined ? { maxFileSizeMb: opts.maxFileSizeMb } : {}),
    manifest: 'verbose',
    parallel: false,
  });
  try {
    await runner.run(sql);
    const entries = await readManifest(opts, keyPrefix, ctx);
    const counter = entries.some((e) => e.recordCount === undefined) ? new RecordCounter() : null;
    for (const entry of entries) {
      if (entry.contentLength === 0) continue;
      await streamPart(opts, entry.key, ctx, deadline, async (chunk) => {
        counter?.add(chunk);
        await sink.data(chunk);
      });
    }
    const listed = entries.map((e) => e.recordCount);
    return counter ? counter.records : listed.reduce<number>((a, b) => a + b!, 0);
  } finally {
    await deleteStaging(opts, keyPrefix).catch(() => {});
  }
}

/** The manifest's entries, each checked to lie under this export's staging prefix. */
async function readManifest(
  opts: RedshiftUnloadOptions,
  keyPrefix: string,
  ctx: ExecutionContext,
): Promise<ManifestEntry[]> {
  const text = await getText(opts, `${keyPrefix}manifest`, ctx);
  let manifest: {
    entries?: { url?: unknown; meta?: { content_length?: unknown; record_count?: unknown } }[];
  };
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new ApiError('INTERNAL_ERROR', 'the UNLOAD manifest is not JSON');
  }
  const base = `s3://${opts.bucket}/${keyPrefix}`;
  return (manifest.entries ?? []).map((e) => {
    if (typeof e.url !== 'string' || !e.url.startsWith(base)) {
      throw new ApiError('INTERNAL_ERROR', 'the UNLOAD manifest lists a file outside its staging prefix');
    }
    const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined);
    return {
      key: e.url.slice(`s3://${opts.bucket}/`.length),
      contentLength: count(e.meta?.content_length),
      recordCount: count(e.meta?.record_count),
    };
  });
}

async function getText(opts: RedshiftUnloadOptions, key: string, ctx: ExecutionContext): Promise<string> {
  try {
    const out = await opts.s3.send(
      new GetObjectCommand({ Bucket: opts.bucket, Key: key }),
      ctx.signal ? { abortSignal: ctx.signal } : {},
    );
    return await out.Body!.transformToString('utf8');
  } catch (e) {
    throw s3Failure(e, ctx, key);
  }
}

async function streamPart(
  opts: RedshiftUnloadOptions,
  key: string,
  ctx: ExecutionContext,
  deadline: number,
  deliver: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  let body: NodeJS.ReadableStream;
  try {
    const out = await opts.s3.send(
      new GetObjectCommand({ Bucket: opts.bucket, Key: key }),
      ctx.signal ? { abortSignal: ctx.signal } : {},
    );
    body = out.Body as NodeJS.ReadableStream;
  } catch (e) {
    throw s3Failure(e, ctx, key);
  }
  const gunzip = createGunzip();
  body.on('error', (e) => gunzip.destroy(e));
  body.pipe(gunzip);
  try {
    // Async iteration pauses the stream while `deliver` is pending: that is the backpressure.
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (ctx.signal?.aborted) throw new StatementCancelledError();
      if (Date.now() > deadline) {
        const seconds = Math.round(ctx.timeoutMs / 1000);
        throw new ApiError(
          'QUERY_TIMEOUT',
          `the export exceeded its timeout of ${seconds}s and was stopped`,
          {
            timeout_seconds: seconds,
          },
        );
      }
      await deliver(chunk);
    }
  } catch (e) {
    if (ctx.signal?.aborted) throw new StatementCancelledError();
    if (e instanceof ApiError || e instanceof StatementCancelledError) throw e;
    // A sink's own failure (e.g. the result store) is not an S3 read failure.
    if ((e as { code?: string }).code?.startsWith('Z_')) {
      throw new ApiError('INTERNAL_ERROR', `an UNLOAD part is not valid gzip: ${(e as Error).message}`);
    }
    throw e;
  } finally {
    (body as unknown as { destroy?: () => void }).destroy?.();
    gunzip.destroy();
  }
}

/** Deletes every object under the staging prefix (parts, manifest, anything a failed UNLOAD left). */
export async function deleteStaging(opts: RedshiftUnloadOptions, keyPrefix: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await opts.s3.send(
      new ListObjectsV2Command({
        Bucket: opts.bucket,
        Prefix: keyPrefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    const keys = (page.Contents ?? []).map((o) => o.Key!).filter(Boolean);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      await opts.s3.send(
        new DeleteObjectsCommand({
          Bucket: opts.bucket,
          Delete: { Objects: keys.slice(i, i + DELETE_BATCH).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

function s3Failure(e: unknown, ctx: ExecutionContext, key: string): Error {
  if (ctx.signal?.aborted) return new StatementCancelledError();
  const name = (e as { name?: string }).name ?? 'Error';
  return new ApiError('WAREHOUSE_UNAVAILABLE', `reading the UNLOAD output from S3 failed (${name})`, { key });
}

/** Counts CSV records (LF outside quotes) across chunks, for manifests without record counts. */
class RecordCounter {
  records = 0;
  private inQuotes = false;

  add(chunk: Uint8Array): void {
    let inQuotes = this.inQuotes;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === QUOTE) inQuotes = !inQuotes;
      else if (c === LF && !inQuotes) this.records++;
    }
    this.inQuotes = inQuotes;
  }
}
