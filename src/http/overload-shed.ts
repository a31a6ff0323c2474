/**
 * The overload shed: under sustained overload, a synchronous query that admission control would
 * refuse at once is refused here, in the HTTP listener, before the app parses it further. Measured
 * (docs/benchmarks.md): a refusal through the app cost 0.35–0.59 ms of server CPU (framework,
 * authentication, request scope, envelope, a warn line each), over half an admitted query's; at 2×
 * overload those refusals took the CPU the admitted queries needed. Here one costs 0.05–0.08 ms,
 * against 0.023–0.027 ms for a fixed 503 from the same listener: no promise on the way unless the
 * rate limiter is on, and each distinct refusal's body built once around the request id.
 *
 * It acts only when every one of these holds, and otherwise hands the request to the app untouched:
 * - admission is saturated: every slot in use and SPECTRA_QUERY_QUEUE_SIZE waiting (two comparisons);
 * - `POST /v1/queries` exactly, a JSON body with a Content-Length of at most SHED_MAX_BODY_BYTES
 *   and SPECTRA_MAX_BODY_BYTES (a larger one gets the app's 413 unread), no `Origin` header when
 *   CORS is on (the app adds the CORS headers);
 * - an `Authorization: Bearer` API key or JWT whose verification is cached (`Authenticate.peek`: a
 *   key verified within the last second, a JWT whose tenant was read within the last second) and
 *   that may run queries, with no other tenant named in `X-Tenant-ID` —
 *   so an unauthenticated or unknown caller never learns anything here, and the per-tenant share
 *   rule still applies: a tenant under its share displaces a waiter instead of being refused;
 * - the body parses and is not an async submission (those only enqueue a job and take no slot);
 * - admission, asked again once the body is read, still refuses (`QueryAdmission.refusalNow`).
 *
 * The answer is the one the app would give: the rate limiter's token is taken first (its 429 when
 * the tenant is over its rate limit), then 503 WAREHOUSE_UNAVAILABLE or 429 RATE_LIMITED (over its
 * share) in the error envelope, with `X-Request-ID`, `Retry-After`, the `X-RateLimit-*` headers and
 * `Server-Timing: shed`, counted in spectra_overload_rejections_total (or spectra_rate_limit_rejections_total)
 * and the HTTP metrics. Like a rate-limited request it gets no audit entry and no span (no
 * `traceparent`); instead of a warn line each, one warn line a second sums up the shed requests by
 * status and tenant.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, errorBody } from '../domain/errors.js';
import { type Authenticate, hasPermission } from '../domain/principal.js';
import type { RateDecision } from '../domain/rate-limit.js';
import type { Logger } from '../observability/logger.js';
import type { ServiceMetrics } from '../observability/service-metrics.js';
import type { QueryAdmission } from '../services/query-admission.js';
import type { RateLimiter } from '../services/rate-limiter.js';
import { BEARER } from './middleware/authenticate.js';
import { observeResponse } from './middleware/metrics.js';
import { rateLimited, rateLimitHeaders, takenBeforeApp } from './middleware/rate-limit.js';
import { requestIdFrom } from './middleware/request-id.js';

/** Larger bodies go to the app (a sync query's body is its SQL and parameters: rarely over a few KiB). */
export const SHED_MAX_BODY_BYTES = 64 * 1024;
/** How often the summary line of shed requests is written while requests are shed. */
const SUMMARY_INTERVAL_MS = 1000;
/** Tenants named in one summary line; the rest are counted under `_other`. */
const SUMMARY_TENANTS = 20;

const ROUTE = '/v1/queries';

export interface OverloadShedDeps {
  admission: QueryAdmission;
  authenticate: Authenticate;
  metrics: ServiceMetrics | null;
  log: Logger;
  /** CORS is configured: requests with an `Origin` go to the app, which adds its headers. */
  cors: boolean;
  /** SPECTRA_MAX_BODY_BYTES: a body over it is the app's to refuse (413) without reading it. */
  maxBodyBytes: number;
  /** The app's per-tenant rate limiter, when enabled: a shed request takes its token like any other. */
  rateLimiter?: RateLimiter | undefined;
}

/** Takes `req` (refusing it, or reading its body first) or calls `next` at once; see the file comment. */
export interface OverloadShed {
  (req: IncomingMessage, res: ServerResponse, next: () => void): void;
  /** Writes the pending summary line now (shutdown), instead of at the end of its interval. */
  flush(): void;
}

export function overloadShed(deps: OverloadShedDeps): OverloadShed {
  const { admission, metrics } = deps;
  const limiter = deps.rateLimiter?.enabled ? deps.rateLimiter : undefined;
  const peek = deps.authenticate.peek;
  const summary = new ShedSummary(deps.log);
  const maxBody = Math.min(SHED_MAX_BODY_BYTES, deps.maxBodyBytes);

  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    tenantId: string,
    err: ApiError,
    rate: RateDecision | null,
  ) => {
    const requestId = requestIdOf(req);
    const canned = cannedAnswer(err);
    const payload = canned.head + JSON.stringify(requestId) + canned.tail;
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(payload),
      'X-Request-ID': requestId,
      // Every response has Server-Timing (docs/api.md); this one names where it was answered.
      'Server-Timing': 'shed',
    };
    if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = err.retryAfterSeconds;
    if (rate) for (const [k, v] of rateLimitHeaders(rate)) headers[k] = v;
    res.writeHead(err.status, headers);
    res.end(payload);
    summary.add(err.status, tenantId);
    // Answered as soon as its body was read: observed with a latency of 0.
    if (metrics)
      observeResponse(metrics, {
        method: 'POST',
        route: ROUTE,
        status: err.status,
        seconds: 0,
        tenantId,
        rateClass: 'queries',
      });
  };

  /** Nothing here is expected to throw; if it does, this request fails alone (an unhandled rejection would stop the process for everyone). */
  const failed = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    const requestId = requestIdOf(req);
    deps.log.error({ err, request_id: requestId }, 'overload shed failed on a request');
    if (!res.headersSent) {
      res.writeHead(500, { 'Content-Type': 'application/json', 'X-Request-ID': requestId });
      res.end(JSON.stringify(errorBody(new ApiError('INTERNAL_ERROR', 'internal error'), requestId)));
    } else res.destroy();
  };

  /** The app reads the body from here (@hono/node-server's rawBody). */
  const handOn = (req: IncomingMessage, body: Buffer, next: () => void) => {
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    next();
  };

  /**
   * The body is read: refuse as the app would (rate limit first, then admission), or hand it on.
   * Synchronous unless the rate limiter is on: a refusal is then answered in the tick its body
   * arrived, with no promise made for it.
   */
  const decide = (
    req: IncomingMessage,
    res: ServerResponse,
    tenantId: string,
    body: Buffer,
    next: () => void,
  ) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return handOn(req, body, next);
    }
    const sync =
      parsed !== null && typeof parsed === 'object' && (parsed as { async?: unknown }).async !== true;
    if (!sync) return handOn(req, body, next);
    if (limiter) {
      if (!admission.wouldRefuse(tenantId)) return handOn(req, body, next);
      limitThenDecide(req, res, tenantId, body, next, limiter).catch((err: unknown) => failed(req, res, err));
      return;
    }
    const err = admission.refusalNow(tenantId);
    if (!err) return handOn(req, body, next);
    answer(req, res, tenantId, err, null);
  };

  /**
   * The app's rate limiter runs before admission: a shed request takes its token too, and a tenant
   * over its rate limit gets the limiter's 429. A store that cannot be reached lets it through, as
   * in the app (rate-limit.ts).
   */
  const limitThenDecide = async (
    req: IncomingMessage,
    res: ServerResponse,
    tenantId: string,
    body: Buffer,
    next: () => void,
    limiter: RateLimiter,
  ) => {
    const rate = await limiter.take(tenantId, 'queries').catch(() => null);
    if (rate && !rate.allowed) {
      metrics?.rateLimited.inc({ class: 'queries' });
      return answer(req, res, tenantId, rateLimited('queries', rate), rate);
    }
    const err = admission.refusalNow(tenantId);
    if (!err) {
      // Room after all (the limiter's store answered meanwhile): the app must not take a second token.
      if (rate) takenBeforeApp.set(req, rate);
      return handOn(req, body, next);
    }
    answer(req, res, tenantId, err, rate);
  };

  const shed = function shed(req: IncomingMessage, res: ServerResponse, next: () => void) {
    if (!admission.saturated || !peek || req.method !== 'POST' || req.url !== ROUTE) return next();
    const h = req.headers;
    const length = Number(h['content-length']);
    if (
      !(length <= maxBody) ||
      h['transfer-encoding'] !== undefined ||
      !h['content-type']?.toLowerCase().includes('json') ||
      (deps.cors && h.origin !== undefined)
    )
      return next();
    const credential = h.authorization ? BEARER.exec(h.authorization)?.[1] : undefined;
    const principal = credential ? peek(credential) : undefined;
    if (
      !principal ||
      !hasPermission(principal.permissions, 'query:execute') ||
      (h['x-tenant-id'] !== undefined && h['x-tenant-id'] !== principal.tenantId)
    )
      return next();
    // Read the (small) body before answering, so the connection stays usable and an async submission is told apart.
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      req.off('data', onData);
      // A body longer than declared is the HTTP parser's to refuse; shorter cannot reach 'end'.
      try {
        decide(
          req,
          res,
          principal.tenantId,
          chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
          next,
        );
      } catch (err) {
        failed(req, res, err);
      }
    });
  };
  return Object.assign(shed, { flush: () => summary.flush() });
}

/** A refusal's JSON body around its request id, built once per error (QueryAdmission reuses them). */
interface CannedAnswer {
  head: string;
  tail: string;
}

const REQUEST_ID_MARK = '\u0000request-id\u0000';
const canned = new WeakMap<ApiError, CannedAnswer>();

function cannedAnswer(err: ApiError): CannedAnswer {
  let c = canned.get(err);
  if (!c) {
    const json = JSON.stringify(errorBody(err, REQUEST_ID_MARK));
    const at = json.indexOf(JSON.stringify(REQUEST_ID_MARK));
    c = { head: json.slice(0, at), tail: json.slice(at + JSON.stringify(REQUEST_ID_MARK).length) };
    canned.set(err, c);
  }
  return c;
}

/** The client's `X-Request-ID` when it is sane, else a new one (as the app's request-id middleware). */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return requestIdFrom(typeof given === 'string' ? given : undefined);
}

/** Counts shed requests and writes one warn line per interval while there are any. */
class ShedSummary {
  private total = 0;
  private readonly byStatus = new Map<number, number>();
  private readonly byTenant = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger) {}

  add(status: number, tenantId: string): void {
    this.total++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    const key = this.byTenant.has(tenantId) || this.byTenant.size < SUMMARY_TENANTS ? tenantId : '_other';
    this.byTenant.set(key, (this.byTenant.get(key) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), SUMMARY_INTERVAL_MS).unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.total === 0) return;
    this.log.warn(
      {
        shed: this.total,
        by_status: Object.fromEntries(this.byStatus),
        by_tenant: Object.fromEntries(this.byTenant),
        interval_ms: SUMMARY_INTERVAL_MS,
      },
      'overload: sync queries refused before parsing (every slot in use, queue full)',
    );
    this.total = 0;
    this.byStatus.clear();
    this.byTenant.clear();
  }
}
