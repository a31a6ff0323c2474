/**
 * Access logs, the audit trail, Prometheus metrics and OpenTelemetry traces.
 */
import * as z from 'zod/mini';
import { bool, type ConfigOf, int, list, type Setting } from '../setting.js';

export const OBSERVABILITY_SETTINGS = {
  accessLog: {
    env: 'SPECTRA_ACCESS_LOG',
    schema: bool,
    default: true,
    doc: 'One JSON log line per request at info level (request id, tenant, route, status, duration, bytes, job id).',
  },
  metrics: {
    env: 'SPECTRA_METRICS',
    schema: bool,
    default: true,
    doc: 'Collect Prometheus metrics and serve GET /metrics (admin credential).',
  },
  metricsPort: {
    env: 'SPECTRA_METRICS_PORT',
    flag: 'metrics-port',
    cli: { arg: 'N', help: 'also serve GET /metrics without credentials on 127.0.0.1:N' },
    schema: z.pipe(
      z.union([z.number(), z.string()]),
      z.transform((v: number | string, ctx) => {
        if (v === '') return null;
        const n = Number(v);
        if (Number.isInteger(n) && n >= 0 && n <= 65535) return n;
        ctx.issues.push({
          code: 'custom',
          message: 'expected a port (0 = any free port) or empty',
          input: v,
        });
        return z.NEVER;
      }),
    ),
    default: '',
    doc: 'Also serve GET /metrics without credentials on this port (SPECTRA_METRICS_HOST). Empty = off.',
  },
  metricsHost: {
    env: 'SPECTRA_METRICS_HOST',
    schema: z.string().check(z.minLength(1)),
    default: '127.0.0.1',
    doc: 'Address of the unauthenticated metrics listener. Keep it on loopback or a private interface.',
  },
  metricsTenants: {
    env: 'SPECTRA_METRICS_TENANTS',
    schema: list,
    default: [],
    doc: 'Tenants that get their own `tenant` label in spectra_tenant_requests_total; all others count as `_other` (bounded cardinality).',
  },
  audit: {
    env: 'SPECTRA_AUDIT',
    schema: bool,
    default: true,
    doc: 'Record an audit entry for every authenticated /v1 request (GET /v1/admin/audit, `spectra audit`).',
  },
  auditRetentionDays: {
    env: 'SPECTRA_AUDIT_RETENTION_DAYS',
    schema: int(1),
    default: 90,
    doc: 'Audit entries older than this are deleted (hourly sweep).',
  },
  auditBufferSize: {
    env: 'SPECTRA_AUDIT_BUFFER_SIZE',
    schema: int(1),
    default: 10_000,
    doc: 'Audit entries held in memory while waiting to be written; see SPECTRA_AUDIT_ON_OVERFLOW.',
  },
  auditFlushMs: {
    env: 'SPECTRA_AUDIT_FLUSH_MS',
    schema: int(10),
    default: 1000,
    doc: 'Longest time an audit entry waits in memory before its batch is written.',
  },
  auditOnOverflow: {
    env: 'SPECTRA_AUDIT_ON_OVERFLOW',
    schema: z.enum(['drop', 'reject']),
    default: 'drop',
    doc: 'When the audit buffer is full (the state store is down or too slow): `drop` new entries (counted and logged) or `reject` requests with 503 until there is room.',
  },
  otlpEndpoint: {
    env: 'SPECTRA_OTLP_ENDPOINT',
    schema: z.string(),
    default: '',
    doc: 'OpenTelemetry collector for traces (OTLP/HTTP JSON), e.g. http://127.0.0.1:4318. Empty = spans are not exported (trace ids still propagate).',
  },
  otlpHeaders: {
    env: 'SPECTRA_OTLP_HEADERS',
    schema: z.string(),
    default: '',
    doc: 'Headers for the OTLP collector, `key=value,key2=value2` (e.g. an API key).',
  },
  traceSampleRatio: {
    env: 'SPECTRA_TRACE_SAMPLE_RATIO',
    schema: z.coerce.number().check(z.gte(0), z.lte(1)),
    default: 1,
    doc: 'Fraction of new traces recorded when exporting; requests with a `traceparent` follow its sampled flag.',
  },
} satisfies Record<string, Setting>;

export type ObservabilityConfig = ConfigOf<typeof OBSERVABILITY_SETTINGS>;
