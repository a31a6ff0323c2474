/**
 * Limits: what one request may ask for and what this process holds at once (rows, timeouts, bytes,
 * query slots, rate limits). A default over its maximum is lowered to it.
 */
import v8 from 'node:v8';
import * as z from 'zod/mini';
import { parseTenantOverrides } from '../../domain/rate-limit.js';
import { type ConfigOf, int, jsonSetting, type Setting } from '../setting.js';

/** `{"tenant": weight}` with positive finite weights (SPECTRA_QUERY_WEIGHTS). */
function parseQueryWeights(text: string): Record<string, number> {
  if (!text.trim()) return {};
  const v: unknown = JSON.parse(text);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error('expected a JSON object of tenant weights');
  const out: Record<string, number> = {};
  for (const [tenant, w] of Object.entries(v)) {
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0)
      throw new Error(`weight of ${tenant} must be a positive number`);
    out[tenant] = w;
  }
  return out;
}

export const LIMITS_SETTINGS = {
  queryDefaultRows: {
    env: 'SPECTRA_QUERY_DEFAULT_ROWS',
    schema: int(1),
    default: 10_000,
    doc: 'Rows a synchronous query returns when the request gives no `limit`.',
  },
  queryMaxRows: {
    env: 'SPECTRA_QUERY_MAX_ROWS',
    schema: int(1),
    default: 10_000,
    doc: 'Largest `limit` a synchronous query may ask for; more rows set `truncated: true` (use the Bulk API).',
  },
  defaultTimeoutSeconds: {
    env: 'SPECTRA_DEFAULT_TIMEOUT_SECONDS',
    schema: int(1),
    default: 60,
    doc: 'Statement timeout when the request gives no `timeout_seconds`.',
  },
  maxTimeoutSeconds: {
    env: 'SPECTRA_MAX_TIMEOUT_SECONDS',
    schema: int(1),
    default: 300,
    doc: 'Largest `timeout_seconds` a request may ask for.',
  },
  maxBodyBytes: {
    env: 'SPECTRA_MAX_BODY_BYTES',
    schema: int(1024),
    default: 1_048_576,
    doc: 'Largest JSON request body; larger bodies get 413 PAYLOAD_TOO_LARGE.',
  },
  maxResultBytes: {
    env: 'SPECTRA_MAX_RESULT_BYTES',
    schema: int(0),
    default: 64 * 1024 * 1024,
    doc: 'Cap on a synchronous result (JSON envelope, NDJSON, CSV), counted as rows arrive from the warehouse: reading stops there, the rows before it are returned and `truncated` is true. 0 = only the row limit.',
  },
  maxRowBytes: {
    env: 'SPECTRA_MAX_ROW_BYTES',
    schema: int(1024),
    default: 16 * 1024 * 1024,
    doc: 'Largest result row (or bulk-export CSV line) the server reads; a larger one fails its query with 413 RESULT_TOO_LARGE before it is read, and its statement is cancelled.',
  },
  resultMemoryBytes: {
    env: 'SPECTRA_RESULT_MEMORY_BYTES',
    schema: int(0),
    default: 0,
    doc: 'Result bytes all running queries, jobs and exports of this process may hold in memory at once; a query that would pass it waits (SPECTRA_RESULT_MEMORY_WAIT_MS), then gets 503 with Retry-After. 0 = a quarter of the V8 heap limit.',
  },
  resultMemoryWaitMs: {
    env: 'SPECTRA_RESULT_MEMORY_WAIT_MS',
    schema: int(0),
    default: 5000,
    doc: 'Longest wait for result memory (SPECTRA_RESULT_MEMORY_BYTES) before 503 WAREHOUSE_UNAVAILABLE.',
  },
  maxConcurrentQueries: {
    env: 'SPECTRA_MAX_CONCURRENT_QUERIES',
    schema: int(0),
    default: 0,
    doc: 'Optional hard cap on the synchronous queries one tenant may run at once in this process, even when slots are free; more wait, then get 429. 0 = none: tenants share the slots fairly (SPECTRA_QUERY_WEIGHTS) and a tenant alone may use them all.',
  },
  maxConcurrentQueriesTotal: {
    env: 'SPECTRA_MAX_CONCURRENT_QUERIES_TOTAL',
    schema: int(0),
    default: 0,
    doc: 'Synchronous queries all tenants may run at once in this process (the slots shared fairly between tenants); more wait in the queue. 0 = the warehouse pool size.',
  },
  queryWeights: {
    env: 'SPECTRA_QUERY_WEIGHTS',
    schema: jsonSetting(parseQueryWeights),
    default: '',
    doc: 'Per-tenant weights of the fair share of query slots, a JSON object such as `{"acme": 2, "bi": 0.5}` (default weight 1). Under contention each waiting tenant gets slots in proportion to its weight; a share left unused goes to the others.',
  },
  queryQueueSize: {
    env: 'SPECTRA_QUERY_QUEUE_SIZE',
    schema: int(0),
    default: 1000,
    doc: 'Synchronous queries that may wait for a slot; beyond it they are refused at once (a newcomer under its share takes the place of the newest waiter of the tenant furthest over its share).',
  },
  queryQueueStandingSize: {
    env: 'SPECTRA_QUERY_QUEUE_STANDING_SIZE',
    schema: int(0),
    default: 200,
    doc: 'Places in the query queue under sustained overload: once more than this many have stayed waiting through a whole turnover of the queue (SPECTRA_QUERY_QUEUE_SIZE waiters granted a slot), it is held to this many until it next empties, and newcomers beyond it are refused at once. A single burst, or a steady load that keeps no more than this many waiting, is never cut. At least SPECTRA_QUERY_QUEUE_SIZE = never held short.',
  },
  queryQueueWaitMs: {
    env: 'SPECTRA_QUERY_QUEUE_WAIT_MS',
    schema: int(0),
    default: 30000,
    doc: 'Longest wait for a query slot before 503 WAREHOUSE_UNAVAILABLE (or 429 for a tenant over its share while others wait), with Retry-After.',
  },
  rateLimitPerMinute: {
    env: 'SPECTRA_RATE_LIMIT_PER_MINUTE',
    schema: int(0),
    default: 100,
    doc: "Requests per minute per tenant for POST /v1/queries; the other classes scale from it (job reads and admin 3×, bulk reads 1×, bulk creates 0.1×). Bursts up to a full minute's worth. 0 = no rate limits.",
  },
  rateLimitStore: {
    env: 'SPECTRA_RATE_LIMIT_STORE',
    schema: z.enum(['auto', 'local', 'state']),
    default: 'auto',
    doc: 'Where the rate-limit buckets live: `local` = this process (exact for one API process), `state` = the control-state database, shared by all API processes (one round trip per request, batched per tenant under load). `auto` = `state` when SPECTRA_STATE_URL is set or SPECTRA_STATE=dynamodb, else `local`.',
  },
  rateLimitTenants: {
    env: 'SPECTRA_RATE_LIMIT_TENANTS',
    schema: jsonSetting(parseTenantOverrides),
    default: '',
    doc: 'Per-tenant overrides, a JSON object: `{"acme": 1000}` scales every class like SPECTRA_RATE_LIMIT_PER_MINUTE; `{"bi": {"queries": 600, "job_reads": 0}}` sets classes (0 = unlimited).',
  },
} satisfies Record<string, Setting>;

export type LimitsConfig = ConfigOf<typeof LIMITS_SETTINGS>;

export function finishLimits(config: LimitsConfig): string[] {
  config.queryDefaultRows = Math.min(config.queryDefaultRows, config.queryMaxRows);
  config.defaultTimeoutSeconds = Math.min(config.defaultTimeoutSeconds, config.maxTimeoutSeconds);
  return [];
}

/** Sync queries all tenants may run at once: SPECTRA_MAX_CONCURRENT_QUERIES_TOTAL, 0 = the warehouse pool. */
export const querySlots = (
  config: Pick<LimitsConfig, 'maxConcurrentQueriesTotal'> & { warehousePoolSize: number },
) => config.maxConcurrentQueriesTotal || config.warehousePoolSize;

/** SPECTRA_RESULT_MEMORY_BYTES; 0 = a quarter of V8's heap limit: room for the copies a result passes through (rows, encoded text). */
export const resultMemoryCapacity = (config: Pick<LimitsConfig, 'resultMemoryBytes'>) =>
  config.resultMemoryBytes || Math.floor(v8.getHeapStatistics().heap_size_limit / 4);

/** Rate-limit buckets shared through the state store: `state`, or `auto` with a state store other processes see too. */
export const sharedRateLimits = (
  config: Pick<LimitsConfig, 'rateLimitStore'> & { stateUrl: string; state: string },
) =>
  config.rateLimitStore === 'state' ||
  (config.rateLimitStore === 'auto' && (!!config.stateUrl || config.state === 'dynamodb'));
