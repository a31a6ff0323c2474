/**
 * What one request carries: its id, its logger (request id, tenant, job id bound), its trace span,
 * what the query pipeline reports for the audit record, and when its response is written. Set by
 * the request-context middleware as `c.get('scope')`; the layers below HTTP get the parts they need
 * as call options (no AsyncLocalStorage: on Node 20 it puts a hook on every promise).
 */
import type { QueryFacts } from '../services/query-service.js';
import type { RequestLog } from './request-log.js';
import type { Span } from './tracing.js';

export interface ResponseDone {
  /** False when the client went away before the response was fully written. */
  finished: boolean;
  /** Bytes written on the socket for this response (headers included); null when unknown. */
  bytes: number | null;
  /** performance.now() at the end. */
  endedAt: number;
}

export interface RequestScope {
  requestId: string;
  /** performance.now() when the request arrived. */
  startedAt: number;
  /** Wall clock when the request arrived. */
  receivedAt: Date;
  log: RequestLog;
  span: Span;
  query: QueryFacts;
  /** Settles once the response is fully written or the connection closed. */
  done: Promise<ResponseDone>;
}
