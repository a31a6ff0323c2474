/**
 * The typed client of the Redshift Spectra API: one object per server and credential, with
 * `query`, `stream`, `jobs`, `bulk`, `catalog` and `me`. Requests go through openapi-fetch with the
 * types generated from our OpenAPI document (api-schema.ts); row streams, downloads and uploads use
 * fetch directly so that nothing is buffered whole.
 */
import createFetchClient from 'openapi-fetch';
import type { components, paths } from './api-schema.js';
import { errorFromResponse, SpectraError } from './errors.js';
import { ndjsonRows } from './ndjson.js';
import { type Fetch, type RetryOptions, retryingFetch, sleep } from './transport.js';

type Schemas = components['schemas'];
export type Job = Schemas['Job'];
export type JobStatus = Job['status'];
export type JobResultPage = Schemas['JobResultPage'];
export type QueryMetadata = Schemas['QueryMetadata'];
export type BulkJob = Schemas['BulkJob'];
export type BulkExportResults = Schemas['BulkExportResults'];
export type BulkImportResults = Schemas['BulkImportResults'];
export type ParamValue = string | number | boolean | null;
export type Params = Record<string, ParamValue>;
export type Row = Record<string, unknown>;

export interface SpectraClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** An API key `spk_<tenant>_<secret>` or a JWT. */
  apiKey: string;
  retry?: RetryOptions;
  /** Another fetch (tests, proxies); default the global one. */
  fetch?: typeof fetch;
  /** Sent on every request, e.g. `{'User-Agent': …}`. */
  headers?: Record<string, string>;
}

export interface QueryOptions {
  /** Rows at most (the server's default and cap apply: 10,000 unless configured). */
  limit?: number;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface QueryResult<R> {
  jobId: string;
  rows: R[];
  metadata: QueryMetadata;
}

/** What a streamed query's headers say; known once the first byte has arrived. */
export interface StreamInfo {
  jobId: string;
  columns: string[];
  columnTypes: string[];
  /** The row cap that applied: as many rows as this means the result may have been cut. */
  rowLimit: number | null;
  requestId: string | null;
}

export interface RowStream<R> extends AsyncIterable<R> {
  /** Resolves with the response's metadata once the server has answered. */
  readonly info: Promise<StreamInfo>;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** First poll interval; it grows to 2 s (default 200 ms). */
  pollIntervalMs?: number;
  onProgress?: (job: Job) => void;
}

export interface TransferProgress {
  bytes: number;
  /** Known for uploads of files and downloads with a size; null otherwise. */
  totalBytes: number | null;
}

export type BulkFormat = 'csv' | 'json' | 'parquet';
export type ImportOperation = 'insert' | 'update' | 'upsert' | 'delete';

export interface ExportOptions {
  query: string;
  format?: BulkFormat;
  gzip?: boolean;
  signal?: AbortSignal;
  pollIntervalMs?: number;
  /** The job while the server writes the file (`number_records_processed` moves). */
  onProgress?: (job: BulkJob) => void;
  /** Bytes of the file downloaded so far. */
  onDownloadProgress?: (progress: TransferProgress) => void;
}

export interface BulkExport {
  job: BulkJob;
  results: BulkExportResults;
  /** The file, streamed as it downloads (gzip-compressed when asked for). */
  body: ReadableStream<Uint8Array>;
}

export type BulkSource =
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | Uint8Array
  | string;

export interface ImportOptions {
  table: string;
  operation: ImportOperation;
  source: BulkSource;
  format?: 'csv' | 'json';
  /** The source is gzip-compressed. */
  gzip?: boolean;
  /** update/upsert/delete: the key column. */
  key?: string;
  delimiter?: ',' | '|' | '\t';
  /** The source's size, for the upload's progress (a file's size). */
  sizeBytes?: number;
  signal?: AbortSignal;
  pollIntervalMs?: number;
  onUploadProgress?: (progress: TransferProgress) => void;
  onProgress?: (job: BulkJob) => void;
}

export interface CatalogColumn {
  name: string;
  type: string;
  nullable: boolean;
}

export interface CatalogTable {
  schema: string;
  name: string;
  kind: string;
  columns: CatalogColumn[];
  primary_key: string[];
  row_estimate: number | null;
  description: string | null;
}

export interface Me {
  tenant_id: string;
  key_id: string | null;
  auth: 'api_key' | 'jwt' | 'admin';
  permissions: string[];
  rate_limit: { limit: number; remaining: number; reset_seconds: number } | null;
}

const TERMINAL_JOB = new Set<JobStatus>(['COMPLETED', 'FAILED', 'CANCELLED']);
const TERMINAL_BULK = new Set<BulkJob['state']>(['JobComplete', 'Failed', 'Aborted']);
const PAGE_ROWS = 10_000;

export function createSpectraClient(options: SpectraClientOptions): SpectraClient {
  return new SpectraClient(options);
}

export class SpectraClient {
  readonly url: string;
  private readonly send: Fetch;
  private readonly rawFetch: typeof fetch;
  private readonly headers: Record<string, string>;
  private readonly api: ReturnType<typeof createFetchClient<paths>>;

  readonly jobs = {
    /** Submits an async query → its job id (status QUEUED). Retried safely: it carries an idempotency key. */
    submit: async (sql: string, params: Params = {}, opts: QueryOptions = {}) => {
      const { data, response, error } = await this.api.POST('/v1/queries', {
        body: { sql, params, async: true, ...limits(opts) },
        headers: { 'Idempotency-Key': crypto.randomUUID() },
        signal: opts.signal ?? null,
      });
      return this.ok(data as Schemas['JobSubmitted'] | undefined, response, error);
    },
    get: async (jobId: string, signal?: AbortSignal): Promise<Job> => {
      const { data, response, error } = await this.api.GET('/v1/jobs/{id}', {
        params: { path: { id: jobId } },
        signal: signal ?? null,
      });
      return this.ok(data, response, error);
    },
    /** The caller's jobs, newest first, following `next_cursor`. */
    list: (
      filter: { status?: JobStatus; pageSize?: number; signal?: AbortSignal } = {},
    ): AsyncIterable<Job> => {
      const self = this;
      return {
        async *[Symbol.asyncIterator]() {
          let cursor: string | undefined;
          do {
            const { data, response, error } = await self.api.GET('/v1/jobs', {
              params: { query: { status: filter.status, limit: filter.pageSize ?? 100, cursor } },
              signal: filter.signal ?? null,
            });
            const page = self.ok(data, response, error);
            yield* page.jobs;
            cursor = page.next_cursor ?? undefined;
          } while (cursor);
        },
      };
    },
    /** Polls until the job is COMPLETED (→ the job); FAILED or CANCELLED throw a SpectraError with the job's error. */
    wait: async (jobId: string, opts: WaitOptions = {}): Promise<Job> => {
      let interval = opts.pollIntervalMs ?? 200;
      for (;;) {
        const job = await this.jobs.get(jobId, opts.signal);
        opts.onProgress?.(job);
        if (TERMINAL_JOB.has(job.status)) {
          if (job.status === 'COMPLETED') return job;
          throw new SpectraError(
            job.error?.code ?? job.status,
            job.error?.message ?? `job ${jobId} is ${job.status}`,
            0,
            { job_id: jobId, status: job.status, ...job.error?.details },
          );
        }
        await sleep(interval, opts.signal);
        interval = Math.min(2000, interval * 1.5);
      }
    },
    /** Pages of a COMPLETED async job's rows, following `next_cursor`. */
    pages: (
      jobId: string,
      opts: { pageSize?: number; signal?: AbortSignal } = {},
    ): AsyncIterable<JobResultPage> => {
      const self = this;
      return {
        async *[Symbol.asyncIterator]() {
          let cursor: string | undefined;
          do {
            const { data, response, error } = await self.api.GET('/v1/jobs/{id}/results', {
              params: { path: { id: jobId }, query: { limit: opts.pageSize ?? PAGE_ROWS, cursor } },
              signal: opts.signal ?? null,
            });
            const page = self.ok(data, response, error);
            if (!('data' in page))
              throw new SpectraError('UNEXPECTED_RESPONSE', 'expected a page of rows', response.status);
            yield page;
            cursor = page.next_cursor ?? undefined;
          } while (cursor);
        },
      };
    },
    /** A COMPLETED async job's rows, one page in memory at a time. */
    rows: <R = Row>(
      jobId: string,
      opts: { pageSize?: number; signal?: AbortSignal } = {},
    ): AsyncIterable<R> => {
      const pages = this.jobs.pages(jobId, opts);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const page of pages) yield* page.data as R[];
        },
      };
    },
    /** The whole result as a file (csv, ndjson, json; or parquet, never gzipped), streamed from its signed URL. */
    download: async (
      jobId: string,
      opts: { format: 'csv' | 'ndjson' | 'json' | 'parquet'; gzip?: boolean; signal?: AbortSignal },
    ) => {
      const { data, response, error } = await this.api.GET('/v1/jobs/{id}/results', {
        params: {
          path: { id: jobId },
          query: { format: opts.format, compression: opts.gzip ? 'gzip' : 'none' },
        },
        signal: opts.signal ?? null,
      });
      const descriptor = this.ok(data, response, error);
      if (!('download_url' in descriptor))
        throw new SpectraError('UNEXPECTED_RESPONSE', 'expected a download', response.status);
      return { descriptor, body: await this.download(descriptor.download_url, opts.signal) };
    },
    /** Cancels a QUEUED or RUNNING job (its statement is cancelled in the warehouse). */
    cancel: async (jobId: string) => {
      const { data, response, error } = await this.api.DELETE('/v1/jobs/{id}', {
        params: { path: { id: jobId } },
      });
      return this.ok(data, response, error);
    },
  };

  readonly bulk = {
    create: async (
      body: Partial<Schemas['BulkJobCreate']> & { operation: Schemas['BulkJobCreate']['operation'] },
      signal?: AbortSignal,
    ) => {
      const { data, response, error } = await this.api.POST('/v1/bulk/jobs', {
        body: body as Schemas['BulkJobCreate'],
        headers: { 'Idempotency-Key': crypto.randomUUID() },
        signal: signal ?? null,
      });
      return this.ok(data, response, error);
    },
    get: async (jobId: string, signal?: AbortSignal): Promise<BulkJob> => {
      const { data, response, error } = await this.api.GET('/v1/bulk/jobs/{id}', {
        params: { path: { id: jobId } },
        signal: signal ?? null,
      });
      return this.ok(data, response, error);
    },
    setState: async (jobId: string, state: 'UploadComplete' | 'Aborted'): Promise<BulkJob> => {
      const { data, response, error } = await this.api.PATCH('/v1/bulk/jobs/{id}', {
        params: { path: { id: jobId } },
        body: { state },
      });
      return this.ok(data, response, error);
    },
    /** Aborts a bulk job that has not finished (an import leaves the table unchanged). */
    abort: (jobId: string) => this.bulk.setState(jobId, 'Aborted'),
    /** Polls until JobComplete (→ the job); Failed or Aborted throw a SpectraError with the job's error. */
    wait: async (
      jobId: string,
      opts: { signal?: AbortSignal; pollIntervalMs?: number; onProgress?: (job: BulkJob) => void } = {},
    ) => {
      let interval = opts.pollIntervalMs ?? 200;
      for (;;) {
        const job = await this.bulk.get(jobId, opts.signal);
        opts.onProgress?.(job);
        if (TERMINAL_BULK.has(job.state)) {
          if (job.state === 'JobComplete') return job;
          throw new SpectraError(
            job.error?.code ?? job.state.toUpperCase(),
            job.error?.message ?? `bulk job ${jobId} is ${job.state}`,
            0,
            {
              job_id: jobId,
              state: job.state,
              ...job.error?.details,
            },
          );
        }
        await sleep(interval, opts.signal);
        interval = Math.min(2000, interval * 1.5);
      }
    },
    results: async (jobId: string, signal?: AbortSignal) => {
      const { data, response, error } = await this.api.GET('/v1/bulk/jobs/{id}/results', {
        params: { path: { id: jobId } },
        signal: signal ?? null,
      });
      return this.ok(data, response, error);
    },
    /**
     * Exports a query to a file: creates the job, waits for it (onProgress) and returns the file as
     * a stream (onDownloadProgress). An abort signal aborts the job on the server too.
     */
    export: async (opts: ExportOptions): Promise<BulkExport> => {
      const created = await this.bulk.create(
        {
          operation: 'query',
          query: opts.query,
          content_type: (opts.format ?? 'csv').toUpperCase() as BulkJob['content_type'],
          compression: opts.gzip ? 'GZIP' : 'NONE',
        },
        opts.signal,
      );
      const job = await this.runBulk(created, opts);
      const results = await this.bulk.results(job.job_id, opts.signal);
      if (!('download_url' in results))
        throw new SpectraError('UNEXPECTED_RESPONSE', 'expected export results', 200);
      const body = await this.download(results.download_url, opts.signal, (bytes) =>
        opts.onDownloadProgress?.({ bytes, totalBytes: results.size_bytes }),
      );
      return { job, results, body };
    },
    /**
     * Imports a file into a table: creates the job, uploads `source` (onUploadProgress), waits for
     * it (onProgress) → the counts. Rejected records: `bulk.failedRecords(job_id)`.
     */
    import: async (opts: ImportOptions): Promise<{ job: BulkJob; results: BulkImportResults }> => {
      const created = await this.bulk.create(
        {
          operation: opts.operation,
          object: opts.table,
          content_type: (opts.format ?? 'csv').toUpperCase() as 'CSV' | 'JSON',
          compression: opts.gzip ? 'GZIP' : 'NONE',
          ...(opts.key ? { external_id_field: opts.key } : {}),
          ...(opts.delimiter ? { column_delimiter: opts.delimiter } : {}),
        },
        opts.signal,
      );
      try {
        await this.upload(created.job_id, opts);
      } catch (e) {
        await this.bulk.abort(created.job_id).catch(() => {});
        throw e;
      }
      const job = await this.runBulk(created, opts);
      const results = await this.bulk.results(job.job_id, opts.signal);
      if (!('number_records_failed' in results))
        throw new SpectraError('UNEXPECTED_RESPONSE', 'expected import results', 200);
      return { job, results };
    },
    /** The rejected records of an import: CSV of the input's columns plus `error`. */
    failedRecords: async (jobId: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> => {
      const res = await this.send(
        new Request(`${this.url}/v1/bulk/jobs/${encodeURIComponent(jobId)}/failed-results`, {
          headers: this.headers,
          signal: signal ?? null,
        }),
      );
      if (!res.ok) throw await errorFromResponse(res);
      return res.body ?? emptyStream();
    },
  };

  readonly catalog = {
    /** The tables and views the caller's tenant can read, with their columns. */
    tables: async (signal?: AbortSignal): Promise<CatalogTable[]> =>
      ((await this.getJson('/v1/catalog/tables', signal)) as { tables: CatalogTable[] }).tables,
    /** One table (`name` or `schema.name`); NOT_FOUND for what the tenant cannot see. */
    table: async (name: string, signal?: AbortSignal): Promise<CatalogTable> =>
      (await this.getJson(`/v1/catalog/tables/${encodeURIComponent(name)}`, signal)) as CatalogTable,
  };

  constructor(options: SpectraClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.rawFetch = options.fetch ?? globalThis.fetch;
    this.send = retryingFetch(this.rawFetch, options.retry);
    this.headers = { ...options.headers, Authorization: `Bearer ${options.apiKey}` };
    this.api = createFetchClient<paths>({ baseUrl: this.url, fetch: this.send, headers: this.headers });
  }

  /** Runs one SELECT and returns its rows (at most the row limit; `metadata.truncated` says whether more existed). */
  async query<R = Row>(sql: string, params: Params = {}, opts: QueryOptions = {}): Promise<QueryResult<R>> {
    const { data, response, error } = await this.api.POST('/v1/queries', {
      body: { sql, params, async: false, ...limits(opts) },
      headers: { 'Idempotency-Key': crypto.randomUUID() },
      signal: opts.signal ?? null,
    });
    const body = this.ok(data as Schemas['QueryResponse'] | undefined, response, error);
    return { jobId: body.job_id, rows: body.data as R[], metadata: body.metadata };
  }

  /**
   * Runs one SELECT (the request starts at once) and yields its rows as they arrive (NDJSON), in constant memory: the next chunk
   * is read when the loop asks for the next row. Breaking out of the loop closes the connection.
   * Retried on 429/503 without an idempotency key (a read; the server would otherwise keep the whole body).
   */
  stream<R = Row>(sql: string, params: Params = {}, opts: QueryOptions = {}): RowStream<R> {
    const response = this.streamBody(sql, params, { ...opts, format: 'ndjson' });
    const info = response.then((r) => r.info);
    // The iteration (or `info`) reports a failure; an ignored stream must not crash the process.
    response.catch(() => {});
    info.catch(() => {});
    return {
      info,
      async *[Symbol.asyncIterator]() {
        yield* ndjsonRows<R>((await response).body);
      },
    };
  }

  /**
   * Runs one SELECT and returns its result as a byte stream, NDJSON or CSV (header row first), with
   * the response's metadata: for copying a result to a file without parsing it.
   */
  async streamBody(
    sql: string,
    params: Params = {},
    opts: QueryOptions & { format: 'ndjson' | 'csv' },
  ): Promise<{ info: StreamInfo; body: ReadableStream<Uint8Array> }> {
    const res = await this.send(
      new Request(`${this.url}/v1/queries`, {
        method: 'POST',
        headers: {
          ...this.headers,
          'Content-Type': 'application/json',
          Accept: opts.format === 'csv' ? 'text/csv' : 'application/x-ndjson',
        },
        body: JSON.stringify({ sql, params, ...limits(opts) }),
        signal: opts.signal ?? null,
      }),
    );
    if (!res.ok) throw await errorFromResponse(res);
    const list = (name: string) => JSON.parse(res.headers.get(name) ?? '[]') as string[];
    const limit = res.headers.get('x-spectra-row-limit');
    return {
      info: {
        jobId: res.headers.get('x-spectra-job-id') ?? '',
        columns: list('x-spectra-columns'),
        columnTypes: list('x-spectra-column-types'),
        rowLimit: limit === null ? null : Number(limit),
        requestId: res.headers.get('x-request-id'),
      },
      body: res.body ?? emptyStream(),
    };
  }

  /** Who the credential is: tenant, key, permissions and the current rate-limit budget. */
  async me(signal?: AbortSignal): Promise<Me> {
    return (await this.getJson('/v1/me', signal)) as Me;
  }

  /** Raw GET of a JSON route, for routes newer than this client's generated types. */
  private async getJson(pathname: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.send(
      new Request(`${this.url}${pathname}`, { headers: this.headers, signal: signal ?? null }),
    );
    if (!res.ok) throw await errorFromResponse(res);
    return res.json();
  }

  private ok<T>(data: T | undefined, response: Response, error: unknown): T {
    if (response.ok && data !== undefined) return data;
    throw envelopeError(response, error);
  }

  /** Starts an Open bulk job (exports start when created on newer servers) and waits for it; an abort aborts it. */
  private async runBulk(
    created: BulkJob,
    opts: {
      signal?: AbortSignal | undefined;
      pollIntervalMs?: number | undefined;
      onProgress?: ((job: BulkJob) => void) | undefined;
    },
  ): Promise<BulkJob> {
    try {
      if (created.state === 'Open') await this.bulk.setState(created.job_id, 'UploadComplete');
      return await this.bulk.wait(created.job_id, opts);
    } catch (e) {
      if (opts.signal?.aborted) await this.bulk.abort(created.job_id).catch(() => {});
      throw e;
    }
  }

  private async upload(jobId: string, opts: ImportOptions): Promise<void> {
    const { data, response, error } = await this.api.GET('/v1/bulk/jobs/{id}/upload-url', {
      params: { path: { id: jobId } },
      signal: opts.signal ?? null,
    });
    const target = this.ok(data, response, error);
    let bytes = 0;
    const counted = toStream(opts.source).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          bytes += chunk.byteLength;
          opts.onUploadProgress?.({ bytes, totalBytes: opts.sizeBytes ?? null });
          controller.enqueue(chunk);
        },
      }),
    );
    // The body is a stream read once: an upload is not retried (signed upload URLs are not rate-limited).
    const res = await this.rawFetch(target.upload_url, {
      method: 'PUT',
      body: counted,
      duplex: 'half',
      headers: { 'Content-Type': opts.format === 'json' ? 'application/x-ndjson' : 'text/csv' },
      signal: opts.signal ?? null,
    } as RequestInit);
    if (!res.ok) throw await errorFromResponse(res);
    await res.body?.cancel().catch(() => {});
  }

  /** GETs a signed URL (no credential: the signature is one), counting bytes as they are read. */
  private async download(
    url: string,
    signal?: AbortSignal,
    onBytes?: (bytes: number) => void,
  ): Promise<ReadableStream<Uint8Array>> {
    const res = await this.send(new Request(url, { signal: signal ?? null }));
    if (!res.ok) throw await errorFromResponse(res);
    const body = res.body ?? emptyStream();
    if (!onBytes) return body;
    let bytes = 0;
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          bytes += chunk.byteLength;
          onBytes(bytes);
          controller.enqueue(chunk);
        },
      }),
    );
  }
}

function limits(opts: QueryOptions): { limit?: number; timeout_seconds?: number } {
  return {
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    ...(opts.timeoutSeconds !== undefined ? { timeout_seconds: opts.timeoutSeconds } : {}),
  };
}

/** openapi-fetch parsed the error body already: rebuild the SpectraError from it and the headers. */
function envelopeError(res: Response, body: unknown): SpectraError {
  const e = (
    body as {
      error?: { code?: string; message?: string; details?: Record<string, unknown>; request_id?: string };
    }
  )?.error;
  const requestId = e?.request_id ?? res.headers.get('x-request-id');
  if (e?.code)
    return new SpectraError(e.code, e.message ?? res.statusText, res.status, e.details ?? {}, requestId);
  return new SpectraError(
    `HTTP_${res.status}`,
    typeof body === 'string' && body ? body.slice(0, 200) : res.statusText,
    res.status,
    {},
    requestId,
  );
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}

function toStream(source: BulkSource): ReadableStream<Uint8Array> {
  if (source instanceof ReadableStream) return source;
  const utf8 = new TextEncoder();
  if (typeof source === 'string') source = utf8.encode(source);
  if (source instanceof Uint8Array) {
    const whole = source;
    return new ReadableStream({
      start(c) {
        c.enqueue(whole);
        c.close();
      },
    });
  }
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const { value, done } = await iterator.next();
      if (done) c.close();
      else c.enqueue(typeof value === 'string' ? utf8.encode(value) : value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}
