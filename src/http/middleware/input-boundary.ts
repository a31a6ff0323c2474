/**
 * The input boundary: every string that enters over HTTP — path segments, query parameters,
 * request headers and JSON bodies (values and keys, at any depth) — is checked here, once, for
 * text no layer below can store or pass on: NUL (U+0000), unpaired UTF-16 surrogates, and in the
 * URL percent escapes that are malformed or not UTF-8. Such a request is 400 INVALID_REQUEST
 * naming the field (`path.id`, `query.cursor`, `header.x-tenant-id`, `sql`, `params.x`).
 *
 * Two mount points, one rule: `requestLineBoundary` before anything reads the request (routes
 * served without authentication included); `jsonBodyBoundary` after the body size limit.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { ApiError } from '../../domain/errors.js';
import type { AppEnv } from '../env.js';

export type UnsafeTextReason = 'nul_character' | 'unpaired_surrogate' | 'malformed_percent_escape';

const REASON_TEXT: Record<UnsafeTextReason, string> = {
  nul_character: 'contains a NUL character (U+0000)',
  unpaired_surrogate: 'contains an unpaired UTF-16 surrogate (not valid Unicode text)',
  malformed_percent_escape: 'has a malformed percent escape or one that is not UTF-8',
};

const UNSAFE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Why `text` cannot cross the boundary, or null when it can. */
export function unsafeTextReason(text: string): UnsafeTextReason | null {
  const m = UNSAFE.exec(text);
  if (!m) return null;
  return m[0] === '\0' ? 'nul_character' : 'unpaired_surrogate';
}

/** A field name fit for an error body and a log line, even when it is itself the offending text. */
function printable(name: string): string {
  return name.replace(new RegExp(UNSAFE.source, 'g'), '\uFFFD');
}

export function unsafeInput(field: string, reason: UnsafeTextReason): ApiError {
  const name = printable(field);
  return new ApiError('INVALID_REQUEST', `${name}: ${REASON_TEXT[reason]}`, { field: name, reason });
}

/**
 * The first string in a parsed JSON value (keys included) that cannot cross the boundary, with
 * its path in the request's field notation (`params.x`, `parameters.0.value`). Iterative: a
 * deeply nested body must not overflow the stack.
 */
export function findUnsafeJson(
  value: unknown,
  root = '',
): { field: string; reason: UnsafeTextReason } | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const reason = unsafeTextReason(v);
      if (reason) return { field: path || 'body', reason };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], path ? `${path}.${i}` : String(i)]);
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const field = path ? `${path}.${key}` : key;
        const reason = unsafeTextReason(key);
        if (reason) return { field, reason };
        stack.push([(v as Record<string, unknown>)[key], field]);
      }
    }
  }
  return null;
}

/** Strict decoding: unlike the router's lenient one, a bad escape is an error, not literal text. */
function decodeComponent(raw: string, plusIsSpace: boolean): string | null {
  const text = plusIsSpace ? raw.replaceAll('+', ' ') : raw;
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** The raw (still percent-encoded) path and query of the request URL. */
function rawTarget(url: string): { path: string; query: string } {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  if (start === -1) return { path: '/', query: '' };
  const hash = url.indexOf('#', start);
  const end = hash === -1 ? url.length : hash;
  const q = url.indexOf('?', start);
  return q === -1 || q > end
    ? { path: url.slice(start, end), query: '' }
    : { path: url.slice(start, q), query: url.slice(q + 1, end) };
}

/** The pattern (`/v1/jobs/:id`) of the route that will answer, to name path parameters. */
function routePattern(c: Context<AppEnv>): string | null {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    if (r.method !== 'ALL') return r.path;
  }
  return null;
}

function pathField(pattern: string | null, index: number): string {
  const segment = pattern?.split('/')[index];
  if (segment?.startsWith(':')) return `path.${segment.slice(1).replace(/[{?].*$/, '')}`;
  return 'path';
}

function checkPath(c: Context<AppEnv>, rawPath: string): void {
  const segments = rawPath.split('/');
  for (let i = 0; i < segments.length; i++) {
    const decoded = decodeComponent(segments[i]!, false);
    const reason = decoded === null ? 'malformed_percent_escape' : unsafeTextReason(decoded);
    if (reason) throw unsafeInput(pathField(routePattern(c), i), reason);
  }
}

function checkQuery(rawQuery: string): void {
  if (!rawQuery) return;
  for (const pair of rawQuery.split('&')) {
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const name = decodeComponent(rawName, true);
    const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1), true);
    const field = `query.${name ?? rawName}`;
    if (name === null || value === null) throw unsafeInput(field, 'malformed_percent_escape');
    const reason = unsafeTextReason(name) ?? unsafeTextReason(value);
    if (reason) throw unsafeInput(field, reason);
  }
}

/** The same rule over Node's `[name, value, name, value, …]` list (names lower-cased as fetch Headers has them). */
function checkRawHeaders(raw: readonly string[]): void {
  for (let i = 1; i < raw.length; i += 2) {
    const reason = unsafeTextReason(raw[i]!);
    if (reason) throw unsafeInput(`header.${raw[i - 1]!.toLowerCase()}`, reason);
  }
}

function checkHeaders(headers: Headers): void {
  // Fetch Headers (ByteString, no NUL) cannot hold these today; checked so the rule does not rest on that.
  headers.forEach((value, name) => {
    const reason = unsafeTextReason(value);
    if (reason) throw unsafeInput(`header.${name}`, reason);
  });
}

/** Path segments, query parameters and headers: before any middleware or route reads them. */
export function requestLineBoundary(): MiddlewareHandler<AppEnv> {
  return async function requestLineBoundaryMiddleware(c, next) {
    const { path, query } = rawTarget(c.req.url);
    checkPath(c, path);
    checkQuery(query);
    // Node's raw header list when there is one: iterating a fetch Headers builds it per request.
    const raw = c.env?.incoming?.rawHeaders;
    if (raw) checkRawHeaders(raw);
    else checkHeaders(c.req.raw.headers);
    await next();
  };
}

/**
 * JSON request bodies, deep. Parsed once: Hono caches the parse for the route's validator. A body
 * that is not JSON is left to the validator, which answers it as it always has.
 */
export function jsonBodyBoundary(): MiddlewareHandler<AppEnv> {
  return async function jsonBodyBoundaryMiddleware(c, next) {
    const type = c.req.header('content-type');
    // Not `c.req.raw.body`: on the Node server that builds a web Request and stream per request.
    const method = c.req.method;
    const hasBody = method !== 'GET' && method !== 'HEAD' && method !== 'TRACE';
    if (hasBody && type && JSON_MEDIA_TYPE.test(type.split(';')[0]!.trim())) {
      let body: unknown;
      let parsed = true;
      try {
        body = await c.req.json();
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
        parsed = false;
      }
      const bad = parsed ? findUnsafeJson(body) : null;
      if (bad) throw unsafeInput(bad.field, bad.reason);
    }
    await next();
  };
}
