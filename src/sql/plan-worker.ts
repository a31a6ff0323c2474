/**
 * Worker-thread entry of the planner pool (planner-pool.ts): loads the WASM parser once, then
 * plans one statement per message with the same `planQueryUncached` the main thread uses and
 * answers with structured-clone-friendly data.
 */
import { parentPort } from 'node:worker_threads';
import { isApiError } from '../domain/errors.js';
import { initSqlGuard } from './parser.js';
import { planQueryUncached } from './plan.js';
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
    reply = isApiError(error)
      ? { id: task.id, error: { code: error.code, message: error.message, details: error.details } }
      : { id: task.id, failure: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
