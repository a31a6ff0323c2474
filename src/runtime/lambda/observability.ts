/**
 * Powertools for the Lambda entry points: a JSON logger with the invocation context, EMF metrics
 * (cold starts counted; per-tenant metrics published under `service` and `service`+`tenant`), and
 * an X-Ray subsegment per invocation annotated with the tenant. Outside Lambda, tracing is off.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

import { Tracer } from '@aws-lambda-powertools/tracer';
import type { LambdaContext } from 'hono/aws-lambda';
import { METRICS_NAMESPACE } from './metric-names.js';

export interface Telemetry {
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
}

export function createTelemetry(serviceName: string): Telemetry {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
      serviceName,
    }),
    tracer: new Tracer({ serviceName }),
  };
}

/** One metric for one tenant (or for the service alone when the tenant is unknown), flushed at once. */
export function recordMetric(
  t: Telemetry,
  name: string,
  tenantId: string | null,
  value = 1,
  unit: Unit = MetricUnit.Count,
): void {
  const single = t.metrics.singleMetric();
  if (tenantId) {
    // An empty set keeps the service-only aggregate (what alarms watch) beside the per-tenant one.
    single.addDimensions({});
    single.addDimensions({ tenant: tenantId });
  }
  single.addMetric(name, unit, value);
}

/** Runs one invocation: cold start metric, logger context, a traced subsegment, metrics flushed at the end. */
export async function invocation<T>(
  t: Telemetry,
  context: LambdaContext | undefined,
  run: (annotate: (tenantId: string) => void) => Promise<T>,
): Promise<T> {
  t.metrics.captureColdStartMetric(context?.functionName);
  if (context) t.logger.addContext(context as Parameters<Logger['addContext']>[0]);
  const tracing = t.tracer.isTracingEnabled();
  const parent = tracing ? t.tracer.getSegment() : undefined;
  const sub = parent?.addNewSubsegment(`## ${context?.functionName ?? 'handler'}`);
  if (sub) {
    t.tracer.setSegment(sub);
    t.tracer.annotateColdStart();
    t.tracer.addServiceNameAnnotation();
  }
  const annotate = (tenantId: string) => {
    t.logger.appendKeys({ tenant_id: tenantId });
    if (sub) t.tracer.putAnnotation('tenant', tenantId);
  };
  try {
    return await run(annotate);
  } catch (error) {
    sub?.addError(error as Error);
    throw error;
  } finally {
    sub?.close();
    if (parent) t.tracer.setSegment(parent);
    t.logger.removeKeys(['tenant_id']);
    t.metrics.publishStoredMetrics();
  }
}
