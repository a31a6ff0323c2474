/**
 * What one request carries through the layers below HTTP without threading it through every
 * signature: its id, its child logger (request id, tenant, job id bound), its trace span, and what
 * the query pipeline reports for the audit record. Set by the request-context middleware through
 * AsyncLocalStorage; code outside a request sees `undefined`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestLog } from './request-log.js';
import type { Span } from './tracing.js';

/** What the query pipeline learnt about the request (filled by the QueryObserver). */
export interface QueryFacts {
  jobId?: string;
  jobStatus?: string;
  fingerprint?: string;
  /** Deparsed SQL, or the start of the submitted text when the guard refused it. */
  sql?: string;
  paramNames?: string[];
  rowCount?: number;
  errorCode?: string;
}

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

const storage = new AsyncLocalStorage<RequestScope>();

export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

export function currentRequest(): RequestScope | undefined {
  return storage.getStore();
}
