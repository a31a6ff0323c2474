/**
 * Powertools for the Lambda entry points: a JSON logger with the invocation context, EMF metrics
 * (cold starts counted; per-tenant metrics published under `service` and `service`+`tenant`), and
 * an X-Ray subsegment per invocation annotated with the tenant (and the job), and every AWS SDK
 * client captured so Data API, DynamoDB and S3 calls show as subsegments of it, the Data API
 * statement id as an annotation. Outside Lambda, tracing is off.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

import { Tracer } from '@aws-lambda-powertools/tracer';
import type { LambdaContext } from 'hono/aws-lambda';
import type { CaptureAwsClient } from '../aws/clients.js';
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

/** The Data API commands whose output is the id of the statement they started. */
const STATEMENT_COMMANDS = new Set(['ExecuteStatementCommand', 'BatchExecuteStatementCommand']);

/** The part of an AWS SDK v3 client's middleware stack this file uses. */
interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<{ output?: { Id?: unknown } }>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<{ output?: { Id?: unknown } }>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/**
 * Captures each AWS SDK client with the tracer (one subsegment per call, with its latency) and
 * annotates the current (sub)segment with the id of each Data API statement started.
 */
export function captureAwsClients(tracer: Tracer): CaptureAwsClient {
  return (client) => {
    if (!tracer.isTracingEnabled()) return client;
    tracer.captureAWSv3Client(client);
    (client as unknown as MiddlewareClient).middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        const id = out.output?.Id;
        if (context.commandName && STATEMENT_COMMANDS.has(context.commandName) && typeof id === 'string')
          tracer.putAnnotation('statement_id', id);
        return out;
      },
      { step: 'initialize', name: 'spectraStatementIdAnnotation' },
    );
    return client;
  };
}

/** The job an invocation runs, on its subsegment; a batch of several leaves the last one's (one value per annotation). */
export function annotateJob(t: Telemetry, jobId: string): void {
  if (t.tracer.isTracingEnabled()) t.tracer.putAnnotation('job_id', jobId);
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
