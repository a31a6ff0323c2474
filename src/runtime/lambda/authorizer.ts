/**
 * Authorizer function: API Gateway TOKEN or REQUEST event → IAM policy for the whole stage, with the
 * principal in the context (src/auth/authorizer.ts). With usage plans on, an Allow also names the
 * tenant's usage identifier so API Gateway applies that tenant's plan.
 *
 * Composition: config → the tenants and API-keys stores → authenticator → authorize. Nothing else is
 * opened (no warehouse, result store, SQL planner or background sweep), so none of it is bundled.
 */
import type { LambdaContext } from 'hono/aws-lambda';
import { type AuthorizerEvent, type AuthorizerPolicy, authorizeRequest } from '../../auth/authorizer.js';
import { readLambdaSettings } from '../../config/lambda.js';
import type { Authenticate } from '../../domain/principal.js';
import { createLogger } from '../../observability/logger.js';
import { openAuthenticator } from '../authenticator.js';
import { openStateStore } from '../state-store.js';
import { loadLambdaConfig, once } from './environment.js';
import { METRIC, SERVICE_NAMES } from './metric-names.js';
import {
  captureAwsClients,
  createTelemetry,
  invocation,
  recordMetric,
  type Telemetry,
} from './observability.js';

export type LambdaAuthorizerResult = AuthorizerPolicy & { usageIdentifierKey?: string };

export interface AuthorizerHandlerOptions {
  /** The container's authenticator, built once. */
  authenticate: () => Promise<Authenticate>;
  usagePlans?: boolean;
  telemetry?: Telemetry;
}

/** Value of the API Gateway API key that puts a tenant in a usage plan (≥ 20 characters, as API Gateway requires). */
export function usageIdentifierKey(tenantId: string): string {
  return `spectra-usage-tenant-${tenantId}`;
}

export function createAuthorizerHandler(options: AuthorizerHandlerOptions) {
  const telemetry = options.telemetry ?? createTelemetry(SERVICE_NAMES.authorizer);
  return async function authorizerHandler(
    event: AuthorizerEvent,
    context?: LambdaContext,
  ): Promise<LambdaAuthorizerResult> {
    return invocation(telemetry, context, async (annotate) => {
      const authenticate = await options.authenticate();
      let result: LambdaAuthorizerResult;
      try {
        result = await authorizeRequest(event, authenticate);
      } catch (error) {
        if (error instanceof Error && error.message === 'Unauthorized') {
          recordMetric(telemetry, METRIC.authorizerDenied, null);
        } else {
          telemetry.logger.error('authorizer failed', { error: error as Error });
        }
        throw error;
      }
      const tenantId = result.context?.tenant_id ?? null;
      if (tenantId) annotate(tenantId);
      const allowed = result.policyDocument.Statement[0].Effect === 'Allow';
      recordMetric(telemetry, allowed ? METRIC.authorizerAllowed : METRIC.authorizerDenied, tenantId);
      if (allowed && tenantId && options.usagePlans) result.usageIdentifierKey = usageIdentifierKey(tenantId);
      return result;
    });
  };
}

/** The container's authenticator over the state store's tenants and API keys, opened once. */
export async function openLambdaAuthenticator(telemetry: Telemetry): Promise<Authenticate> {
  const config = await loadLambdaConfig();
  const state = await openStateStore(config, {
    postgres: { connectionString: config.stateUrl, poolSize: config.statePoolSize },
    log: createLogger(config.logLevel),
    capture: captureAwsClients(telemetry.tracer),
  });
  // Lambda requires SPECTRA_API_KEY_PEPPER (environment.ts), so no server secrets file is read.
  return openAuthenticator(config, state, config.apiKeyPepper);
}

const authorizerTelemetry = createTelemetry(SERVICE_NAMES.authorizer);

export const handler = createAuthorizerHandler({
  authenticate: once(() => openLambdaAuthenticator(authorizerTelemetry)),
  telemetry: authorizerTelemetry,
  usagePlans: readLambdaSettings().usagePlans,
});
