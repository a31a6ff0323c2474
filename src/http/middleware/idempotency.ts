/**
 * Idempotency keys for POSTs (`X-Idempotency-Key` or `Idempotency-Key`): the first request with a
 * key runs and its response is recorded for the tenant; a repeat with the same method, path and
 * (canonical JSON) body within the TTL gets that response again, marked `Idempotent-Replayed: true`,
 * without running. The same key with a different request is 422 IDEMPOTENCY_CONFLICT.
 *
 * Concurrent duplicates run once: the record is taken with a conditional write, and the requests
 * that lose wait (polling the record) for the winner's response and replay it; if the winner takes
 * longer than `waitMs` they get 409 CONFLICT with `Retry-After`. Responses the client should be
 * able to retry (5xx, 401, 403, 408, 409, 429) are not recorded: the key is released instead.
 * Generic over routes: mount it on any POST whose handler is safe to run once per key.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../domain/errors.js';
import type { IdempotencyRecord, IdempotencyStore, StoredResponse } from '../../state/port.js';
import type { ResultStore } from '../../storage/port.js';
import type { AppEnv } from '../env.js';

export const REPLAY_HEADER = 'Idempotent-Replayed';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const POLL_MS = 25;
/** Statuses that describe the caller or the moment, not the request: never replayed. */
const NOT_RECORDED = new Set([401, 403, 408, 409, 429]);
/** Response headers kept for replays (others, like X-Request-ID or rate limits, are per request). */
const KEPT_HEADERS = /^(content-type|content-disposition|location|x-spectra-.*)$/i;

export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** How long a key is remembered (API.md: 24 h). */
  ttlMs: number;
  /** How long a concurrent duplicate waits for the first request's response before 409. */
  waitMs: number;
  /** After this long, an in-progress record is taken as abandoned (its process died). */
  lockMs: number;
  /** Bodies over this many bytes are kept in `spill` instead of the record (DynamoDB items stop at 400 KB). */
  maxInlineBodyBytes: number;
  spill: ResultStore;
}

/** JSON with object keys sorted, so `{"a":1,"b":2}` and `{ "b": 2, "a": 1 }` are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function requestHash(method: string, path: string, body: string): string {
  let normalized = body;
  try {
    normalized = canonical(JSON.parse(body));
  } catch {}
  return createHash('sha256').update(`${method} ${path}\n${normalized}`).digest('hex');
}

export function idempotency(opts: IdempotencyOptions): MiddlewareHandler<AppEnv> {
  return async function idempotencyMiddleware(c, next) {
    const primary = c.req.header('x-idempotency-key');
    const alternate = c.req.header('idempotency-key');
    const key = primary ?? alternate;
    if (key === undefined) return next();
    if (primary !== undefined && alternate !== undefined && primary !== alternate) {
      throw new ApiError('INVALID_REQUEST', 'X-Idempotency-Key and Idempotency-Key differ', {
        field: 'X-Idempotency-Key',
      });
    }
    if (!KEY_PATTERN.test(key)) {
      throw new ApiError('INVALID_REQUEST', 'an idempotency key is 1–255 printable ASCII characters', {
        field: 'X-Idempotency-Key',
      });
    }
    const tenantId = c.get('principal').tenantId;
    const hash = requestHash(c.req.method, c.req.path, await c.req.text());
    const owner = randomUUID();
    const deadline = Date.now() + opts.waitMs;

    for (;;) {
      const now = Date.now();
      const taken = await opts.store.acquire({
        tenantId,
        key,
        requestHash: hash,
        owner,
        expiresAt: new Date(now + opts.ttlMs).toISOString(),
        lockedUntil: new Date(now + opts.lockMs).toISOString(),
      });
      if (taken.acquired) break;
      const record = await waitForCompletion(opts.store, taken.record, deadline);
      if (record === null) continue; // released by a failed first request: run it ourselves
      if (record.requestHash !== hash) {
        throw new ApiError(
          'IDEMPOTENCY_CONFLICT',
          'this idempotency key was used with a different request; use a new key for a new request',
          { key },
        );
      }
      if (record.state !== 'completed' || !record.response) {
        throw new ApiError(
          'CONFLICT',
          'a request with this idempotency key is still in progress; retry later',
          { key },
          1,
        );
      }
      return replay(c, record.response, opts.spill);
    }

    await next();
    const res = c.res;
    if (res.status >= 500 || NOT_RECORDED.has(res.status)) {
      await opts.store.release(tenantId, key, owner).catch(() => {});
      return;
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      if (KEPT_HEADERS.test(k)) headers[k] = v;
    });
    if (!res.body) {
      await complete(opts, tenantId, key, owner, { status: res.status, headers, body: '', bodyKey: null });
      return;
    }
    // The client gets one branch as it is produced; the other is recorded (streams included).
    const [toClient, toRecord] = res.body.tee();
    c.res = new Response(toClient, res);
    const recording = record(opts, tenantId, key, owner, res.status, headers, toRecord);
    // Small bodies are recorded before the response leaves, so an immediate retry replays at once.
    if (res.headers.get('content-length') !== null || !isStreaming(res)) await recording;
  };
}

function isStreaming(res: Response): boolean {
  const type = res.headers.get('content-type') ?? '';
  return type.includes('ndjson') || type.includes('csv');
}

async function waitForCompletion(
  store: IdempotencyStore,
  first: IdempotencyRecord,
  deadline: number,
): Promise<IdempotencyRecord | null> {
  let record: IdempotencyRecord | null = first;
  while (record && record.state === 'in_progress' && record.requestHash === first.requestHash) {
    if (Date.now() >= deadline) return record;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    record = await store.get(first.tenantId, first.key);
  }
  return record;
}

async function record(
  opts: IdempotencyOptions,
  tenantId: string,
  key: string,
  owner: string,
  status: number,
  headers: Record<string, string>,
  body: ReadableStream<Uint8Array>,
): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  let spilled: Awaited<ReturnType<ResultStore['createWriter']>> | undefined;
  const bodyKey = `${tenantId}/_idempotency/${createHash('sha256').update(key).digest('hex')}-${owner}.body`;
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (!spilled && size > opts.maxInlineBodyBytes) {
        spilled = await opts.spill.createWriter(bodyKey);
        for (const c of chunks.splice(0)) await spilled.write(c);
      }
      if (spilled) await spilled.write(chunk);
      else chunks.push(Buffer.from(chunk));
    }
    if (spilled) await spilled.close();
    const text = spilled ? null : Buffer.concat(chunks).toString('utf8');
    await complete(opts, tenantId, key, owner, {
      status,
      headers,
      body: text,
      bodyKey: spilled ? bodyKey : null,
    });
  } catch {
    // The response could not be recorded whole (e.g. the stream failed): let a retry run again.
    await spilled?.abort().catch(() => {});
    await opts.store.release(tenantId, key, owner).catch(() => {});
  }
}

async function complete(
  opts: IdempotencyOptions,
  tenantId: string,
  key: string,
  owner: string,
  response: StoredResponse,
): Promise<void> {
  const done = await opts.store.complete(tenantId, key, owner, response).catch(() => false);
  if (!done && response.bodyKey) await opts.spill.delete(response.bodyKey).catch(() => {});
}

async function replay(
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  stored: StoredResponse,
  spill: ResultStore,
): Promise<Response> {
  const headers: Record<string, string> = { ...stored.headers, [REPLAY_HEADER]: 'true' };
  const status = stored.status as 200;
  if (stored.bodyKey) {
    const source = (await spill.read(stored.bodyKey))[Symbol.asyncIterator]();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await source.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await source.return?.();
      },
    });
    return c.body(stream, status, headers);
  }
  return c.body(stored.body ?? '', status, headers);
}

/** The request headers, for the OpenAPI document of routes that mount this middleware. */
export const IdempotencyHeaders = z.object({
  'x-idempotency-key': z
    .string()
    .max(255)
    .optional()
    .openapi({
      description:
        'Same key + same body within 24 h replays the first response (`Idempotent-Replayed: true`) without running ' +
        'again; a different body → 422 IDEMPOTENCY_CONFLICT; a concurrent duplicate waits for the first response ' +
        '(409 if it takes too long). `Idempotency-Key` is accepted too.',
    }),
});
