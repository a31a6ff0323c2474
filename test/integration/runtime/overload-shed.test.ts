/**
 * The overload shed in the HTTP listener (src/http/overload-shed.ts), on a real node:http server on
 * loopback, with real admission control, the real API-key authenticator (its clock held still, so
 * a verified key stays cached for the whole test) and real metrics: what it refuses, with what,
 * and every request it must hand to the app untouched.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../src/auth/api-key.js';
import { createAuthenticator } from '../../../src/auth/index.js';
import type { Authenticate } from '../../../src/domain/principal.js';
import { takenBeforeApp } from '../../../src/http/middleware/rate-limit.js';
import { type OverloadShed, overloadShed, SHED_MAX_BODY_BYTES } from '../../../src/http/overload-shed.js';
import { createLogger } from '../../../src/observability/logger.js';
import { ServiceMetrics } from '../../../src/observability/service-metrics.js';
import { QueryAdmission, type ReleaseSlot } from '../../../src/services/query-admission.js';
import { LocalRateLimitStore, RateLimiter } from '../../../src/services/rate-limiter.js';
import type { RateLimitStore } from '../../../src/state/port.js';
import { MemoryState } from '../../fakes/memory-state.js';
import { claims, HS_SECRET, signHs } from '../../helpers/jwt-tokens.js';
import { json } from '../../helpers/spectra.js';
import { manualClock, waitFor } from '../../helpers/time.js';

const PEPPER = 'pepper-for-tests';
const QUERY = JSON.stringify({ sql: 'SELECT 1' });
/** SPECTRA_MAX_BODY_BYTES of this server: above the shed's own cap. */
const MAX_BODY = 1024 * 1024;

let authenticate: Authenticate;
const keys: Record<string, string> = {};
let logLines: string[] = [];
let shedFor: (cors: boolean) => OverloadShed;
const cors = false;
let shed: OverloadShed;
let metrics: ServiceMetrics;
let admission: QueryAdmission;
let held: Promise<ReleaseSlot | undefined>[] = [];
let arrived = 0;
const arrivedAtApp: http.IncomingMessage[] = [];
let server: http.Server;
let base: string;

beforeAll(async () => {
  const clock = manualClock();
  const state = new MemoryState();
  state.addTenant('acme', { dbUser: 'tenant_acme' });
  state.addTenant('globex', { dbUser: 'tenant_globex' });
  authenticate = createAuthenticator({
    state,
    pepper: PEPPER,
    apiKeyCacheTtlMs: 1000,
    now: clock.now,
    jwt: { secret: HS_SECRET, now: clock.now },
  });
  keys.acme = (await createApiKey(state, PEPPER, 'acme')).apiKey;
  keys.globex = (await createApiKey(state, PEPPER, 'globex')).apiKey;
  keys.acmeReader = (await createApiKey(state, PEPPER, 'acme', { permissions: ['catalog:read'] })).apiKey;
  keys.acmeUncached = (await createApiKey(state, PEPPER, 'acme')).apiKey;
  keys.acmeJwt = await signHs(claims('acme'));
  keys.acmeJwtUncached = await signHs(claims('acme', { sub: 'other-user' }));
  for (const k of ['acme', 'globex', 'acmeReader', 'acmeJwt']) await authenticate(keys[k]!);
  // Each shed writes to the lines of the test that made it (a summary may come after its test).
  shedFor = (withCors) => {
    const lines = logLines;
    const log = createLogger('warn', { write: (line: string) => void lines.push(line) });
    return overloadShed({ admission, authenticate, metrics, log, cors: withCors, maxBodyBytes: MAX_BODY });
  };
  // The app stands for Hono: it answers 200 with the body it read (as @hono/node-server would).
  server = http.createServer((req, res) => {
    arrived++;
    shed(req, res, () => {
      arrivedAtApp.push(req);
      const raw = (req as http.IncomingMessage & { rawBody?: Buffer }).rawBody;
      const answer = (body: string) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ app: true, body }));
      };
      if (raw) return answer(raw.toString());
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => answer(Buffer.concat(chunks).toString()));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

/** One running and one waiting acme query in a queue of one: the queue is full. */
beforeEach(() => {
  logLines = [];
  metrics = new ServiceMetrics({ version: 'test' });
  admission = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 1, maxWaitMs: 60_000 });
  admission.onRefused = (scope) => metrics.overloadRejections.inc({ scope });
  shed = shedFor(cors);
  held = [admission.acquire('acme'), admission.acquire('acme').catch(() => undefined)];
});
afterEach(async () => {
  const [first, second] = held;
  (await first)?.();
  (await second)?.();
});

function post(init: { key?: string; body?: string; headers?: Record<string, string>; path?: string } = {}) {
  return fetch(`${base}${init.path ?? '/v1/queries'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(init.key !== undefined ? { authorization: `Bearer ${init.key}` } : {}),
      ...init.headers,
    },
    body: init.body ?? QUERY,
  });
}

const metricText = async () => (await metrics.registry.render()) as string;

describe('refused in the listener while the queue is full', () => {
  it('answers 503 WAREHOUSE_UNAVAILABLE in the error envelope with Retry-After and a request id', async () => {
    expect(admission.saturated).toBe(true);
    const res = await post({ key: keys.acme });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('retry-after')).toBe('30');
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({
      error: {
        code: 'WAREHOUSE_UNAVAILABLE',
        message: 'the warehouse is saturated (queue full); retry later',
        details: { reason: 'overloaded', max_concurrent: 1, queue_size: 1 },
        request_id: id,
      },
    });
    expect(admission.stats).toEqual({ running: 1, queued: 1 });
  });

  it('a JWT whose verification and tenant are cached is refused alike', async () => {
    const res = await post({ key: keys.acmeJwt });
    expect(res.status).toBe(503);
    expect((await json(res)).error.code).toBe('WAREHOUSE_UNAVAILABLE');
  });

  it('echoes a sane X-Request-ID and replaces one that is not', async () => {
    const given = await post({ key: keys.acme, headers: { 'x-request-id': 'client-id.42' } });
    expect(given.headers.get('x-request-id')).toBe('client-id.42');
    expect((await json(given)).error.request_id).toBe('client-id.42');
    const bad = await post({ key: keys.acme, headers: { 'x-request-id': 'no spaces allowed' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('counts each refusal in the overload and HTTP metrics and sums them up in one warn line', async () => {
    for (let i = 0; i < 3; i++) expect((await post({ key: keys.acme })).status).toBe(503);
    const text = await metricText();
    expect(text).toContain('spectra_overload_rejections_total{scope="global"} 3');
    expect(text).toContain('spectra_http_requests_total{method="POST",route="/v1/queries",status="503"} 3');
    // One line a second: three refusals fall into one line, or two on a slow machine.
    const summed = () => logLines.map((l) => JSON.parse(l)).reduce((n, l) => n + l.shed, 0);
    await waitFor(() => summed() === 3, { what: 'the summary lines of shed requests' });
    for (const line of logLines.map((l) => JSON.parse(l))) {
      expect(line).toMatchObject({
        level: 40,
        by_status: { 503: line.shed },
        by_tenant: { acme: line.shed },
        msg: 'overload: sync queries refused before parsing (every slot in use, queue full)',
      });
    }
  });

  it('writes a pending summary at once when flushed (shutdown), and nothing when none is pending', async () => {
    expect((await post({ key: keys.acme })).status).toBe(503);
    shed.flush();
    expect(logLines.map((l) => JSON.parse(l).shed)).toEqual([1]);
    shed.flush();
    expect(logLines).toHaveLength(1);
  });

  it('a fault while deciding fails that request alone with 500, and is logged', async () => {
    const broken = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 0, maxWaitMs: 1000 });
    await broken.acquire('acme');
    broken.refusalNow = () => {
      throw new Error('boom');
    };
    const lines: string[] = [];
    const log = createLogger('error', { write: (line: string) => void lines.push(line) });
    shed = overloadShed({
      admission: broken,
      authenticate,
      metrics,
      log,
      cors: false,
      maxBodyBytes: MAX_BODY,
    });
    const res = await post({ key: keys.acme, headers: { 'x-request-id': 'client-id.500' } });
    expect(res.status).toBe(500);
    // The client's request id, as on every other answer, so the failure can be found in the log.
    expect(res.headers.get('x-request-id')).toBe('client-id.500');
    expect((await json(res)).error).toMatchObject({ code: 'INTERNAL_ERROR', request_id: 'client-id.500' });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ msg: 'overload shed failed on a request', request_id: 'client-id.500' }),
    ]);
    shed = shedFor(false);
    expect((await post({ key: keys.acme })).status).toBe(503);
  });

  it('reads the body first, so the next request on the same connection is answered', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: string) =>
      new Promise<{ status: number; reused: boolean; text: string }>((resolve, reject) => {
        const req = http.request(
          `${base}/v1/queries`,
          {
            method: 'POST',
            agent,
            headers: { authorization: `Bearer ${keys.acme}`, 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    try {
      const first = await send(JSON.stringify({ sql: `SELECT '${'x'.repeat(20_000)}'` }));
      const second = await send(QUERY);
      expect([first.status, second.status]).toEqual([503, 503]);
      expect(second.reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('a tenant over its share while another tenant waits gets 429, as from admission itself', async () => {
    // globex displaces acme's waiter: acme now runs one and globex waits.
    held.push(admission.acquire('globex').catch(() => undefined));
    expect(admission.tenantStats('globex').queued).toBe(1);
    const res = await post({ key: keys.acme });
    expect(res.status).toBe(429);
    expect((await json(res)).error).toMatchObject({
      code: 'RATE_LIMITED',
      details: { reason: 'concurrency' },
    });
  });

  it('sustained overload: once more than its standing places stayed waiting through a turnover, the shed refuses beyond its standing places', async () => {
    // A queue of 3 places, 1 under sustained overload; the slot is held by the test, not by the shed's requests.
    admission = new QueryAdmission({
      maxConcurrent: 1,
      perTenant: 0,
      queueSize: 3,
      maxWaitMs: 60_000,
      standingQueueSize: 1,
    });
    shed = shedFor(cors);
    const running: ReleaseSlot[] = [await admission.acquire('acme')];
    const waiting = () => admission.acquire('acme').then((r) => void running.push(r));
    const queued = [waiting(), waiting()];
    // Two of three places taken: the shed hands a request on.
    expect(admission.saturated).toBe(false);
    expect((await post({ key: keys.acme })).status).toBe(200);
    // Three grants while arrivals keep the queue from emptying: it has turned over.
    for (let i = 0; i < 3; i++) {
      queued.push(waiting());
      running.shift()!();
      await queued[i];
    }
    expect(admission.stats).toEqual({ running: 1, queued: 2 });
    expect(admission.queuePlaces).toBe(1);
    const res = await post({ key: keys.acme });
    expect(res.status).toBe(503);
    expect(res.headers.get('server-timing')).toBe('shed');
    expect((await json(res)).error).toMatchObject({
      code: 'WAREHOUSE_UNAVAILABLE',
      message: 'the warehouse is saturated (sustained overload, the queue is held to 1 places); retry later',
      details: { queue_size: 1 },
    });
    // Drained: the queue has its three places back, and the shed hands requests on again.
    for (let i = 3; i < 5; i++) {
      running.shift()!();
      await queued[i];
    }
    expect(admission.queuePlaces).toBe(3);
    expect((await post({ key: keys.acme })).status).toBe(200);
    running.shift()!();
  });
});

describe('with the rate limiter on: the token is taken first, as in the app', () => {
  /** A local bucket store that answers only when the test lets it (to change admission meanwhile). */
  function gatedStore(clock: () => number) {
    const local = new LocalRateLimitStore(clock);
    let open = true;
    let calls = 0;
    const waiting: (() => void)[] = [];
    const store: RateLimitStore = {
      take: async (key, limit, count) => {
        calls++;
        if (!open) await new Promise<void>((r) => waiting.push(r));
        return local.take(key, limit, count);
      },
    };
    return {
      store,
      calls: () => calls,
      close: () => (open = false),
      release: () => {
        open = true;
        for (const r of waiting.splice(0)) r();
      },
    };
  }
  let gate: ReturnType<typeof gatedStore>;
  beforeEach(() => {
    gate = gatedStore(manualClock().now);
    // acme: 3 sync queries a minute; the bucket starts full.
    const rateLimiter = new RateLimiter({ perMinute: 3, store: gate.store });
    const log = createLogger('silent');
    shed = overloadShed({
      admission,
      authenticate,
      metrics,
      log,
      cors: false,
      maxBodyBytes: MAX_BODY,
      rateLimiter,
    });
  });

  it('a shed refusal takes a token and carries the X-RateLimit headers; over the limit it is the limiter’s 429', async () => {
    const first = await post({ key: keys.acme });
    expect(first.status).toBe(503);
    expect(first.headers.get('x-ratelimit-limit')).toBe('3');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(first.headers.get('server-timing')).toBe('shed');
    await post({ key: keys.acme });
    await post({ key: keys.acme });
    const limited = await post({ key: keys.acme });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await json(limited)).error).toMatchObject({
      code: 'RATE_LIMITED',
      details: { class: 'queries', limit: 3 },
    });
    const text = await metricText();
    expect(text).toContain('spectra_rate_limit_rejections_total{class="queries"} 1');
    expect(text).toContain('spectra_overload_rejections_total{scope="global"} 3');
  });

  it('room found while the token was being taken: the app gets the request and that token, not a second one', async () => {
    gate.close();
    const before = arrivedAtApp.length;
    const pending = post({ key: keys.acme });
    await waitFor(() => gate.calls() === 1, { what: 'the shed to ask the rate limiter' });
    (await held[0])?.();
    held[0] = Promise.resolve(undefined);
    gate.release();
    expect(await (await pending).json()).toMatchObject({ app: true });
    expect(arrivedAtApp.length).toBe(before + 1);
    expect(takenBeforeApp.get(arrivedAtApp.at(-1)!)).toMatchObject({ allowed: true, remaining: 2 });
    expect(gate.calls()).toBe(1);
  });
});

describe('handed to the app untouched', () => {
  const app = async (res: Response) => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { app: boolean; body: string }).body;
  };

  it('while the queue has room', async () => {
    (await held[0])?.();
    held[0] = Promise.resolve(undefined);
    (await held[1])?.();
    held[1] = Promise.resolve(undefined);
    expect(admission.saturated).toBe(false);
    expect(await app(await post({ key: keys.acme }))).toBe(QUERY);
  });

  it('a tenant under its share (it would displace a waiter), and nobody is displaced by the shed', async () => {
    expect(await app(await post({ key: keys.globex }))).toBe(QUERY);
    expect(admission.tenantStats('acme')).toEqual({ running: 1, queued: 1 });
  });

  it('an async submission, with its body intact', async () => {
    const body = JSON.stringify({ sql: 'SELECT 2', async: true });
    expect(await app(await post({ key: keys.acme, body }))).toBe(body);
  });

  it('a body that is not JSON, for the app to refuse with its own error', async () => {
    expect(await app(await post({ key: keys.acme, body: '{"sql": ' }))).toBe('{"sql": ');
  });

  it('credentials it cannot vouch for: none, unknown, not yet verified, or not allowed to query', async () => {
    expect(await app(await post())).toBe(QUERY);
    expect(await app(await post({ key: 'spk_acme_0000000000000000' + 'f'.repeat(64) }))).toBe(QUERY);
    expect(await app(await post({ key: keys.acmeUncached }))).toBe(QUERY);
    expect(await app(await post({ key: keys.acmeJwtUncached }))).toBe(QUERY);
    expect(await app(await post({ key: keys.acmeReader }))).toBe(QUERY);
    expect(await app(await post({ key: keys.acme, headers: { 'x-tenant-id': 'globex' } }))).toBe(QUERY);
    expect(await app(await post({ key: keys.acme, headers: { authorization: 'Basic abc' } }))).toBe(QUERY);
  });

  it('other routes, methods, query strings, content types and large or chunked bodies', async () => {
    expect(await app(await post({ key: keys.acme, path: '/v1/queries?x=1' }))).toBe(QUERY);
    expect(await app(await post({ key: keys.acme, path: '/v1/bulk/jobs' }))).toBe(QUERY);
    expect(await app(await post({ key: keys.acme, headers: { 'content-type': 'text/plain' } }))).toBe(QUERY);
    const big = JSON.stringify({ sql: `SELECT '${'x'.repeat(SHED_MAX_BODY_BYTES)}'` });
    expect(await app(await post({ key: keys.acme, body: big }))).toBe(big);
    const get = await fetch(`${base}/v1/queries`, { headers: { authorization: `Bearer ${keys.acme}` } });
    expect(await app(get)).toBe('');
    const chunked = await fetch(`${base}/v1/queries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.acme}`, 'content-type': 'application/json' },
      body: new Blob([QUERY]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(await app(chunked)).toBe(QUERY);
  });

  it('a body over SPECTRA_MAX_BODY_BYTES when that is below the shed’s own cap: the app refuses it unread', async () => {
    shed = overloadShed({
      admission,
      authenticate,
      metrics,
      log: createLogger('silent'),
      cors: false,
      maxBodyBytes: QUERY.length - 1,
    });
    expect(await app(await post({ key: keys.acme }))).toBe(QUERY);
  });

  it('a browser request (Origin) when CORS is on: the app adds the CORS headers', async () => {
    const headers = { origin: 'https://console.example' };
    expect((await post({ key: keys.acme, headers })).status).toBe(503);
    shed = shedFor(true);
    expect(await app(await post({ key: keys.acme, headers }))).toBe(QUERY);
  });

  it('a request whose body arrives after the queue found room', async () => {
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    let answer = '';
    socket.on('data', (c) => (answer += c));
    const before = arrived;
    socket.write(
      `POST /v1/queries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.acme}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${QUERY.length}\r\nConnection: close\r\n\r\n`,
    );
    await waitFor(() => arrived > before, { what: 'the request head to reach the listener' });
    // The running query ends: the waiter starts, and the queue has room.
    (await held[0])?.();
    held[0] = Promise.resolve(undefined);
    expect(admission.saturated).toBe(false);
    socket.end(QUERY);
    await new Promise((r) => socket.on('close', r));
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain(JSON.stringify({ app: true, body: QUERY }));
  });
});
