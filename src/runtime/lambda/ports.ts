/**
 * The ports of a function (worker.ts opens nothing else), built once per container on the first
 * invocation with every AWS SDK client captured by the function's tracer. The API function builds
 * its core from the same start (core.ts); the authorizer opens only the stores it reads.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Config } from '../../config/index.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import type { CaptureAwsClient } from '../aws/clients.js';
import { openPorts, type Ports } from '../ports.js';
import { loadLambdaConfig } from './environment.js';
import { captureAwsClients } from './observability.js';

/** The function's configuration, its logger, and the capture every AWS SDK client passes through. */
export async function lambdaSetup(
  tracer: Tracer,
): Promise<{ config: Config; log: Logger; capture: CaptureAwsClient }> {
  const config = await loadLambdaConfig();
  return { config, log: createLogger(config.logLevel), capture: captureAwsClients(tracer) };
}

export async function openLambdaPorts(tracer: Tracer): Promise<Ports> {
  const { config, log, capture } = await lambdaSetup(tracer);
  return openPorts(config, log, { capture });
}
