/**
 * The core of the API and worker functions (config, adapters, services), built once per container
 * on the first invocation, with every AWS SDK client captured by the function's tracer. The
 * authorizer does not use it: it opens only the stores it reads (authorizer.ts).
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { createLogger } from '../../observability/logger.js';
import { type BuildCoreOptions, buildCore, type Core } from '../core.js';
import { loadLambdaConfig } from './environment.js';
import { captureAwsClients } from './observability.js';

export async function openLambdaCore(
  tracer: Tracer,
  options: Omit<BuildCoreOptions, 'capture'> = {},
): Promise<Core> {
  const config = await loadLambdaConfig();
  return buildCore(config, createLogger(config.logLevel), { ...options, capture: captureAwsClients(tracer) });
}
