/**
 * The service's metric families (docs/operations.md "Metrics" is the catalogue) and the hooks
 * other parts call. Label values are bounded: route patterns, status codes, error codes, classes;
 * tenant ids appear only for the tenants named in SPECTRA_METRICS_TENANTS (others are `_other`).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PROMETHEUS_CONTENT_TYPE, Registry } from './prometheus.js';

export { PROMETHEUS_CONTENT_TYPE };

const LOOP_RESOLUTION_MS = 20;
const BYTES_BUCKETS = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
const WAIT_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max?: number;
}

/** Scrape-time sources; each is optional so a process exposes what it has. */
export interface MetricSources {
  warehousePool?: () => PoolStats;
  admission?: () => { running: number; queued: number; places?: number };
  resultMemory?: () => { usedBytes: number; capacityBytes: number; waiting: number };
  /** Job counts by kind and status, read from the StateStore on scrape (active statuses). */
  jobCounts?: () => Promise<{ kind: string; status: string; count: number }[]>;
  auditBuffer?: () => number;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly tenants: ReadonlySet<string>;

  readonly httpRequests = this.registry.counter(
    'spectra_http_requests_total',
    'HTTP responses by route and status code.',
    ['method', 'route', 'status'],
  );
  readonly httpDuration = this.registry.histogram(
    'spectra_http_request_duration_seconds',
    'Time from request to the last byte of the response, by route and status class.',
    ['method', 'route', 'status_class'],
  );
  readonly httpInFlight = this.registry.gauge('spectra_http_requests_in_flight', 'Requests being served.');
  readonly tenantRequests = this.registry.counter(
    'spectra_tenant_requests_total',
    'Authenticated /v1 requests by tenant (only tenants in SPECTRA_METRICS_TENANTS; others are _other), rate class and status class.',
    ['tenant', 'class', 'status_class'],
  );
  readonly guardRejections = this.registry.counter(
    'spectra_sql_guard_rejections_total',
    'Statements the SQL guard refused, by error code.',
    ['code'],
  );
  readonly jobsFinished = this.registry.counter(
    'spectra_jobs_finished_total',
    'Jobs that reached a final state in this process, by kind (query, bulk), mode (sync, async) and status.',
    ['kind', 'mode', 'status'],
  );
  readonly queryExecution = this.registry.histogram(
    'spectra_query_execution_seconds',
    'Warehouse time of synchronous queries (statement start to last row), by job status.',
    ['status'],
  );
  readonly poolConnections = this.registry.gauge(
    'spectra_warehouse_pool_connections',
    'Warehouse pool connections by state (open, idle, in_use) and requests waiting for one (waiting).',
    ['state'],
  );
  readonly poolMax = this.registry.gauge('spectra_warehouse_pool_max', 'Warehouse pool size limit.');
  readonly poolWait = this.registry.histogram(
    'spectra_warehouse_pool_wait_seconds',
    'Time spent waiting for a warehouse connection.',
    [],
    WAIT_BUCKETS,
  );
  readonly warehouseSessions = this.registry.counter(
    'spectra_warehouse_sessions_total',
    'Redshift Data API statements by how they found a session: hits (reused), misses (none idle), created, replaced (refused: busy, expired, closed), sessionless.',
    ['outcome'],
  );
  readonly admissionRunning = this.registry.gauge(
    'spectra_query_slots_in_use',
    'Synchronous queries holding an admission slot.',
  );
  readonly admissionQueued = this.registry.gauge(
    'spectra_query_slots_waiting',
    'Synchronous queries waiting for an admission slot.',
  );
  readonly admissionPlaces = this.registry.gauge(
    'spectra_query_queue_places',
    'Places in the admission queue now: SPECTRA_QUERY_QUEUE_SIZE, or SPECTRA_QUERY_QUEUE_STANDING_SIZE while overload is sustained.',
  );
  readonly resultMemoryBytes = this.registry.gauge(
    'spectra_result_memory_bytes',
    'Result bytes held in memory by running statements (used) against SPECTRA_RESULT_MEMORY_BYTES (capacity).',
    ['state'],
  );
  readonly resultMemoryWaiting = this.registry.gauge(
    'spectra_result_memory_waiting',
    'Statements paused until the result memory budget has room.',
  );
  readonly overloadRejections = this.registry.counter(
    'spectra_overload_rejections_total',
    'Queries refused by overload protection: global = service saturated (503), tenant = tenant over its concurrency share (429), result_memory = no room in the result memory budget in time (503).',
    ['scope'],
  );
  readonly rateLimited = this.registry.counter(
    'spectra_rate_limit_rejections_total',
    'Requests refused with 429 RATE_LIMITED by the per-tenant rate limits, by class.',
    ['class'],
  );
  readonly jobs = this.registry.gauge(
    'spectra_jobs',
    'Jobs in an active state (QUEUED, RUNNING, …) by kind, read from the state store at scrape time.',
    ['kind', 'status'],
  );
  readonly queueDepth = this.registry.gauge(
    'spectra_job_queue_depth',
    'Jobs waiting for a worker (QUEUED), all kinds, at scrape time.',
  );
  readonly leaseRenewals = this.registry.counter(
    'spectra_worker_lease_renewals_total',
    'Job leases renewed by this process’s workers (heartbeats).',
  );
  readonly leaseRecoveries = this.registry.counter(
    'spectra_worker_lease_recoveries_total',
    'Jobs taken back from a worker whose lease expired.',
  );
  readonly resultBytes = this.registry.counter(
    'spectra_result_bytes_total',
    'Result bytes written: http = data responses to clients (headers included), store = result files.',
    ['sink'],
  );
  readonly resultSize = this.registry.histogram(
    'spectra_result_response_bytes',
    'Size of data responses (queries, job results) in bytes.',
    [],
    BYTES_BUCKETS,
  );
  readonly auditEntries = this.registry.counter(
    'spectra_audit_entries_total',
    'Audit entries: written to the store, or dropped when the buffer was full.',
    ['outcome'],
  );
  readonly auditBuffer = this.registry.gauge(
    'spectra_audit_buffer_entries',
    'Audit entries waiting to be written.',
  );
  readonly buildInfo = this.registry.gauge('spectra_build_info', 'Always 1; the version as a label.', [
    'version',
  ]);
  private readonly cpuSeconds = this.registry.counter(
    'process_cpu_seconds_total',
    'User and system CPU time.',
  );
  private readonly residentMemory = this.registry.gauge(
    'process_resident_memory_bytes',
    'Resident set size.',
  );
  private readonly heapUsed = this.registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use.');
  private readonly startTime = this.registry.gauge(
    'process_start_time_seconds',
    'Process start, seconds since the Unix epoch.',
  );
  private readonly loopDelay = this.registry.gauge(
    'nodejs_eventloop_delay_seconds',
    'Event-loop delay since the previous scrape, by quantile.',
    ['quantile'],
  );

  constructor(opts: { version: string; tenants?: readonly string[]; sources?: MetricSources }) {
    this.tenants = new Set(opts.tenants ?? []);
    this.buildInfo.set({ version: opts.version }, 1);
    this.startTime.set(undefined, Math.round(Date.now() / 1000 - process.uptime()));
    const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    loop.enable();
    let lastCpu = 0;
    this.registry.addCollector(() => {
      const cpu = process.cpuUsage();
      const total = (cpu.user + cpu.system) / 1e6;
      this.cpuSeconds.inc(undefined, Math.max(0, total - lastCpu));
      lastCpu = total;
      const mem = process.memoryUsage();
      this.residentMemory.set(undefined, mem.rss);
      this.heapUsed.set(undefined, mem.heapUsed);
      // The histogram holds whole timer intervals: the delay is what exceeds the resolution.
      const delay = (ns: number) => Math.max(0, ns - LOOP_RESOLUTION_MS * 1e6) / 1e9;
      for (const q of [0.5, 0.99]) this.loopDelay.set({ quantile: q }, delay(loop.percentile(q * 100)));
      this.loopDelay.set({ quantile: 1 }, delay(loop.max));
      loop.reset();
    });
    if (opts.sources) this.addSources(opts.sources);
  }

  addSources(sources: MetricSources): void {
    const { warehousePool, admission, resultMemory, jobCounts, auditBuffer } = sources;
    if (warehousePool) {
      this.registry.addCollector(() => {
        const s = warehousePool();
        this.poolConnections.set({ state: 'open' }, s.total);
        this.poolConnections.set({ state: 'idle' }, s.idle);
        this.poolConnections.set({ state: 'in_use' }, s.total - s.idle);
        this.poolConnections.set({ state: 'waiting' }, s.waiting);
        if (s.max !== undefined) this.poolMax.set(undefined, s.max);
      });
    }
    if (admission) {
      this.registry.addCollector(() => {
        const s = admission();
        this.admissionRunning.set(undefined, s.running);
        this.admissionQueued.set(undefined, s.queued);
        if (s.places !== undefined) this.admissionPlaces.set(undefined, s.places);
      });
    }
    if (resultMemory) {
      this.registry.addCollector(() => {
        const s = resultMemory();
        this.resultMemoryBytes.set({ state: 'used' }, s.usedBytes);
        this.resultMemoryBytes.set({ state: 'capacity' }, s.capacityBytes);
        this.resultMemoryWaiting.set(undefined, s.waiting);
      });
    }
    if (jobCounts) {
      this.registry.addCollector(async () => {
        const rows = await jobCounts();
        this.jobs.reset();
        let queued = 0;
        for (const r of rows) {
          this.jobs.set({ kind: r.kind, status: r.status }, r.count);
          if (r.status === 'QUEUED') queued += r.count;
        }
        this.queueDepth.set(undefined, queued);
      });
    }
    if (auditBuffer) this.registry.addCollector(() => this.auditBuffer.set(undefined, auditBuffer()));
  }

  /** The `tenant` label value: the id for configured tenants, `_other` otherwise, `_none` unauthenticated. */
  tenantLabel(tenantId: string | undefined): string {
    if (tenantId === undefined) return '_none';
    return this.tenants.has(tenantId) ? tenantId : '_other';
  }

  // Hooks for other components (worker, result store): named after what happened.
  leaseRenewed(): void {
    this.leaseRenewals.inc();
  }
  leaseRecovered(count = 1): void {
    this.leaseRecoveries.inc(undefined, count);
  }
  resultBytesStored(bytes: number): void {
    this.resultBytes.inc({ sink: 'store' }, bytes);
  }
  jobFinished(kind: 'query' | 'bulk', mode: 'sync' | 'async', status: string): void {
    this.jobsFinished.inc({ kind, mode, status });
  }

  render(): Promise<string> {
    return this.registry.render();
  }
}

export const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;
