/** Hono context typing shared by middleware and routes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../domain/principal.js';
import type { RateDecision } from '../domain/rate-limit.js';
import type { RequestLog } from '../observability/request-log.js';
import type { RequestScope } from '../observability/request-scope.js';
import type { PhaseTimings } from './phase-timings.js';

export type AppEnv = {
  /** Node's request and response when served by @hono/node-server; absent in `app.request()` and on Lambda. */
  Bindings: {
    incoming?: IncomingMessage;
    outgoing?: ServerResponse;
  };
  Variables: {
    requestId: string;
    principal: Principal;
    timings: PhaseTimings;
    /** The request's child logger (request id, trace id; tenant and job id once known). */
    log: RequestLog;
    scope: RequestScope;
    /** This request's rate-limit decision, when one was taken (GET /v1/me reports it). */
    rateLimit?: RateDecision;
  };
};
