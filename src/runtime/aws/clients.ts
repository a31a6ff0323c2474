/**
 * What every AWS SDK client a composition root builds shares: the configured region (else the SDK's
 * own chain) and a capture hook — the Lambda roots capture each client with Powertools Tracer
 * (X-Ray subsegments per call), the Node roots pass none.
 */
import type { ServerConfig } from '../../config/index.js';

export type CaptureAwsClient = <C extends object>(client: C) => C;

export const awsRegion = (config: Pick<ServerConfig, 'awsRegion'>) =>
  config.awsRegion ? { region: config.awsRegion } : {};
