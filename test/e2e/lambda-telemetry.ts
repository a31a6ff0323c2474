/** Silent Powertools for handler tests, recording the metrics a handler emits as `{ name, tenant }`. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { vi } from 'vitest';
import type { Telemetry } from '../../src/runtime/lambda/observability.js';

export interface RecordedMetric {
  name: string;
  tenant: string | null;
  value: number;
}

export function recordingTelemetry(serviceName: string): { telemetry: Telemetry; metrics: RecordedMetric[] } {
  const recorded: RecordedMetric[] = [];
  const metrics = new Metrics({ namespace: 'SpectraTest', serviceName });
  vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
    let tenant: string | null = null;
    const single = {
      addDimensions(d: Record<string, string>) {
        if (d.tenant) tenant = d.tenant;
        return single;
      },
      addMetric(name: string, _unit: unknown, value: number) {
        recorded.push({ name, tenant, value });
        return single;
      },
    };
    return single as unknown as Metrics;
  });
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  vi.spyOn(metrics, 'captureColdStartMetric').mockImplementation(() => {});
  return {
    telemetry: {
      logger: new Logger({ serviceName, logLevel: 'SILENT' }),
      metrics,
      tracer: new Tracer({ serviceName, enabled: false }),
    },
    metrics: recorded,
  };
}
