/**
 * Requests Node's HTTP layer refuses before the app sees them — headers over the size limit, a
 * malformed request line, an `Expect` other than `100-continue`, a backslash in the path, a request
 * that never finished arriving — answered with the same JSON error envelope as every other error.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { RequestError } from '@hono/node-server';
import { ApiError, errorBody } from '../domain/errors.js';
import type { Logger } from '../observability/logger.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
};

/** The ApiError for a parser error (`err.code` is llhttp's `HPE_*` or Node's `ERR_HTTP_*`). */
function parserError(err: NodeJS.ErrnoException): ApiError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError('HEADERS_TOO_LARGE', 'request headers are larger than the server accepts');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError('REQUEST_TIMEOUT', 'the request did not arrive in time');
    default:
      return new ApiError('INVALID_REQUEST', 'malformed HTTP request', { reason: err.code ?? 'unknown' });
  }
}

/** `clientError` listener: one envelope on the raw socket, then the connection is closed. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already under way on this socket cannot be replaced by another one.
  const responding = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    ?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || responding) {
    socket.destroy();
    return;
  }
  const apiError = parserError(err);
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(apiError, requestId));
  socket.end(
    `HTTP/1.1 ${apiError.status} ${REASONS[apiError.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-ID: ${requestId}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** `checkExpectation` listener: only `Expect: 100-continue` is understood (RFC 9110 §10.1.1). */
export function answerExpectationFailed(req: IncomingMessage, res: ServerResponse): void {
  const requestId = randomUUID();
  const apiError = new ApiError('EXPECTATION_FAILED', 'only "Expect: 100-continue" is supported', {
    field: 'expect',
  });
  const body = JSON.stringify(errorBody(apiError, requestId));
  res.shouldKeepAlive = false;
  res.writeHead(apiError.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Request-ID': requestId,
  });
  res.end(body);
  req.resume();
}

/**
 * @hono/node-server's error handler: a request it cannot turn into a web Request (a backslash in the
 * path, an invalid Host) is the client's fault; anything else is ours.
 */
export function answerUnparsableRequest(err: unknown, log: Logger): Response {
  const requestId = randomUUID();
  let apiError: ApiError;
  if (err instanceof RequestError) {
    apiError = new ApiError('INVALID_REQUEST', `malformed request: ${err.message}`);
  } else {
    log.error({ err, request_id: requestId }, 'request failed outside the app');
    apiError = new ApiError('INTERNAL_ERROR', 'internal error');
  }
  return new Response(JSON.stringify(errorBody(apiError, requestId)), {
    status: apiError.status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-ID': requestId },
  });
}
