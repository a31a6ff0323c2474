/**
 * Worker-thread entry of the planner pool (planner-pool.ts): loads the WASM parser once, then
 * plans one statement per message with the same `planQueryUncached` the main thread uses and
 * answers with structured-clone-friendly data.
 */
import { parentPort } from 'node:worker_threads';
import { isApiError } from '../domain/errors.js';
import { initSqlGuard } from './parser.js';
import { planQueryUncached, SourceColumnsNeeded } from './plan.js';
import type { PlanReply, PlanTask } from './planner-pool.js';

const port = parentPort;
if (port === null) throw new Error('plan-worker.ts runs only as a worker thread');

const ready = initSqlGuard();

port.on('message', async (task: PlanTask) => {
  let reply: PlanReply;
  try {
    await ready;
    reply = { id: task.id, plan: planQueryUncached(task.req, task.policy) };
  } catch (error) {
    const refusal = error instanceof SourceColumnsNeeded ? error.refusal : error;
    reply = isApiError(refusal)
      ? {
          id: task.id,
          error: { code: refusal.code, message: refusal.message, details: refusal.details },
          ...(error instanceof SourceColumnsNeeded ? { needs: error.relations } : {}),
        }
      : { id: task.id, failure: refusal instanceof Error ? refusal.message : String(refusal) };
  }
  port.postMessage(reply);
});
