/** Hono context typing shared by middleware and routes. */
import type { Principal } from '../domain/principal.js';
import type { PhaseTimings } from './middleware/server-timing.js';

export type AppEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
    timings: PhaseTimings;
  };
};
