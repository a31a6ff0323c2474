/**
 * The core of the API function (ports, planner, services, authenticators), built once per container
 * on the first invocation, with every AWS SDK client captured by the function's tracer. The worker
 * function opens the ports alone (ports.ts); the authorizer only the stores it reads (authorizer.ts).
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { buildCore, type Core } from '../core.js';
import { lambdaSetup } from './ports.js';

export async function openLambdaCore(tracer: Tracer): Promise<Core> {
  const { config, log, capture } = await lambdaSetup(tracer);
  return buildCore(config, log, { capture });
}
