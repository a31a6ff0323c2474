/**
 * Wires the operability pieces of the HTTP app from configuration: metrics sources, tracer, audit
 * writer and retention sweeper, rate limiter (local or shared buckets), query admission. Part of the
 * composition root: core.ts calls it, the HTTP app uses what it returns (metrics open with the ports).
 */
import type { Config } from '../config/index.js';
import { querySlots, sharedRateLimits } from '../config/sections/limits.js';
import { AuditWriter } from '../observability/audit-writer.js';
import type { Logger } from '../observability/logger.js';
import { OtlpHttpExporter, parseOtlpHeaders } from '../observability/otlp-exporter.js';
import { createQueryObserver } from '../observability/query-observer.js';
import type { PoolStats, ServiceMetrics } from '../observability/service-metrics.js';
import { Tracer } from '../observability/tracing.js';
import { AuditService } from '../services/audit-service.js';
import { QueryAdmission } from '../services/query-admission.js';
import type { QueryObserver } from '../services/query-service.js';
import { LocalRateLimitStore, RateLimiter } from '../services/rate-limiter.js';
import type { StateStore } from '../state/port.js';
import { VERSION } from './version.js';

const AUDIT_SWEEP_INTERVAL_MS = 3_600_000;
const AUDIT_CLOSE_DEADLINE_MS = 5000;

export interface Observability {
  /** Null when SPECTRA_METRICS=false. */
  metrics: ServiceMetrics | null;
  tracer: Tracer;
  /** Null when SPECTRA_AUDIT=false. */
  auditWriter: AuditWriter | null;
  audit: AuditService;
  rateLimiter: RateLimiter;
  admission: QueryAdmission;
  queryObserver: QueryObserver;
  /** Writes buffered audit entries and spans, stops timers. */
  close(): Promise<void>;
}

export function buildObservability(
  config: Config,
  log: Logger,
  deps: {
    metrics: ServiceMetrics | null;
    state: StateStore;
    warehouse: { poolStats: PoolStats };
  },
): Observability {
  const { metrics, state } = deps;
  const rateLimiter = new RateLimiter({
    perMinute: config.rateLimitPerMinute,
    overrides: config.rateLimitTenants,
    store: sharedRateLimits(config) ? state.rateLimits : new LocalRateLimitStore(),
  });
  const admission = new QueryAdmission({
    maxConcurrent: querySlots(config),
    perTenant: config.maxConcurrentQueries,
    queueSize: config.queryQueueSize,
    maxWaitMs: config.queryQueueWaitMs,
    weights: config.queryWeights,
    standingQueueSize: config.queryQueueStandingSize,
  });
  admission.onRefused = (scope) => metrics?.overloadRejections.inc({ scope });
  // Info, not warn: a queue held short refuses only what arrives beyond its places, and those
  // refusals have their own warn lines (the app's, or the shed's summary).
  admission.onStanding = (standing, places) => {
    if (standing)
      log.info(
        { queue_places: places, queue_size: config.queryQueueSize },
        'query queue held short: more than its standing size stayed waiting through a whole turnover (sustained demand beyond the slots)',
      );
    else log.info({ queue_places: places }, 'query queue back to its full size: it emptied');
  };

  const auditLog = log.child({ component: 'audit' });
  const auditWriter = config.audit
    ? new AuditWriter({
        store: state.audit,
        bufferSize: config.auditBufferSize,
        flushIntervalMs: config.auditFlushMs,
        log: auditLog,
        onWritten: (n) => metrics?.auditEntries.inc({ outcome: 'written' }, n),
        onDropped: (n) => metrics?.auditEntries.inc({ outcome: 'dropped' }, n),
      })
    : null;
  const audit = new AuditService({
    store: state.audit,
    retentionDays: config.auditRetentionDays,
    onSweepError: (err) => auditLog.warn({ err }, 'audit retention sweep failed'),
  });
  if (config.audit) audit.startSweeper(AUDIT_SWEEP_INTERVAL_MS);

  const exporter = config.otlpEndpoint
    ? new OtlpHttpExporter({
        endpoint: config.otlpEndpoint,
        headers: parseOtlpHeaders(config.otlpHeaders),
        serviceName: 'redshift-spectra',
        serviceVersion: VERSION,
        onError: (err) => log.debug({ err }, 'span export failed'),
      })
    : null;
  const tracer = new Tracer(exporter, config.traceSampleRatio);

  metrics?.addSources({
    warehousePool: () => deps.warehouse.poolStats,
    admission: () => ({ ...admission.stats, places: admission.queuePlaces }),
    jobCounts: () => state.stats.activeJobCounts(),
    auditBuffer: () => auditWriter?.pending ?? 0,
  });

  return {
    metrics,
    tracer,
    auditWriter,
    audit,
    rateLimiter,
    admission,
    queryObserver: createQueryObserver(metrics),
    close: async () => {
      await audit.stop();
      await auditWriter?.close(AUDIT_CLOSE_DEADLINE_MS);
      await tracer.shutdown();
    },
  };
}
