/**
 * A small live view of GET /metrics (Prometheus text): request rate, mean latency, requests in flight,
 * queue and job counts, sampled every few seconds while the page is open, with a short history line.
 */
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { ErrorBox } from '../components/error-box';

const SAMPLE_MS = 5000;
const KEEP = 30;

interface Sample {
  at: number;
  requests: number;
  latencySum: number;
  latencyCount: number;
  inFlight: number;
  queue: number;
  slotsWaiting: number;
  jobs: Record<string, number>;
}

/** Sum of every series of `name` (optionally only those whose labels include `label`). */
export function metricSum(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

function byLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}\\{[^}]*${label}="([^"]*)"[^}]*\\} (\\S+)`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

function sampleOf(text: string): Sample {
  return {
    at: Date.now(),
    requests: metricSum(text, 'spectra_http_requests_total'),
    latencySum: metricSum(text, 'spectra_http_request_duration_seconds_sum'),
    latencyCount: metricSum(text, 'spectra_http_request_duration_seconds_count'),
    inFlight: metricSum(text, 'spectra_http_requests_in_flight'),
    queue: metricSum(text, 'spectra_job_queue_depth'),
    slotsWaiting: metricSum(text, 'spectra_query_slots_waiting'),
    jobs: byLabel(text, 'spectra_jobs_finished_total', 'status'),
  };
}

function Spark({ values, label }: { values: number[]; label: string }) {
  if (values.length < 2) return null;
  const max = Math.max(...values, 1e-9);
  const points = values.map((v, i) => `${(i / (values.length - 1)) * 100},${28 - (v / max) * 26}`).join(' ');
  return (
    <svg class="spark" viewBox="0 0 100 30" preserveAspectRatio="none" role="img" aria-label={label}>
      <polyline
        points={points}
        fill="none"
        stroke="currentColor"
        stroke-width="1.5"
        vector-effect="non-scaling-stroke"
      />
    </svg>
  );
}

export function MetricsPanel() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const { data } = await get<string>('/metrics', { text: true, headers: { Accept: 'text/plain' } });
        if (stop) return;
        setSamples((s) => [...s, sampleOf(data)].slice(-KEEP));
        setError(null);
      } catch (err) {
        if (!stop) setError(err);
      }
      if (!stop) timer = setTimeout(poll, SAMPLE_MS);
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, []);
  const last = samples[samples.length - 1];
  const rates = samples
    .slice(1)
    .map((s, i) => (s.requests - samples[i]!.requests) / ((s.at - samples[i]!.at) / 1000));
  const latencies = samples.slice(1).map((s, i) => {
    const n = s.latencyCount - samples[i]!.latencyCount;
    return n > 0 ? ((s.latencySum - samples[i]!.latencySum) / n) * 1000 : 0;
  });
  return (
    <section class="card metrics" aria-labelledby="metrics-title">
      <h2 id="metrics-title">Live metrics</h2>
      <ErrorBox error={error} />
      {last && (
        <dl class="tiles">
          <div>
            <dt>Requests</dt>
            <dd data-testid="metric-requests">{last.requests}</dd>
            <dd class="muted small">
              {rates.length ? `${rates[rates.length - 1]!.toFixed(1)}/s` : 'sampling…'}
            </dd>
            <Spark values={rates} label="Request rate" />
          </div>
          <div>
            <dt>Mean latency</dt>
            <dd>
              {last.latencyCount ? `${((last.latencySum / last.latencyCount) * 1000).toFixed(1)} ms` : '—'}
            </dd>
            <dd class="muted small">
              {latencies.length ? `${latencies[latencies.length - 1]!.toFixed(1)} ms lately` : ''}
            </dd>
            <Spark values={latencies} label="Recent mean latency" />
          </div>
          <div>
            <dt>In flight</dt>
            <dd>{last.inFlight}</dd>
          </div>
          <div>
            <dt>Queue</dt>
            <dd>{last.queue} jobs</dd>
            <dd class="muted small">{last.slotsWaiting} waiting for a query slot</dd>
          </div>
          <div>
            <dt>Jobs finished</dt>
            <dd>
              {Object.keys(last.jobs).length === 0
                ? '0'
                : Object.entries(last.jobs)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(' · ')}
            </dd>
          </div>
        </dl>
      )}
    </section>
  );
}
