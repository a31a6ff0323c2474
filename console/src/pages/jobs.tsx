/**
 * Jobs: the caller's query jobs with live status (polled while any is QUEUED or RUNNING), progress,
 * cancel, result pages, signed downloads, and a retry that is idempotent (one new job per retried job,
 * however often the button is pressed, through `Idempotency-Key`).
 */
import { useEffect, useState } from 'preact/hooks';
import { type Download, del, enc, get, type Job, post, type QueryResult } from '../api';
import { ErrorBox } from '../components/error-box';
import { ResultsGrid } from '../components/results-grid';
import { navigate } from '../router';

const POLL_MS = 1500;
const PAGE_SIZE = 100;
const LIVE = new Set(['QUEUED', 'RUNNING']);

function when(t: string | null): string {
  if (!t) return '—';
  const d = new Date(t);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
}

function JobDetail({ id, onChanged }: { id: string; onChanged: () => void }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [page, setPage] = useState<QueryResult | null>(null);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [downloads, setDownloads] = useState<Record<string, Download>>({});
  const [retried, setRetried] = useState<string | null>(null);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setJob(null);
    setPage(null);
    setCursors([null]);
    setDownloads({});
    setRetried(null);
    const poll = async () => {
      try {
        const { data } = await get<Job>(`/v1/jobs/${enc(id)}`);
        if (stop) return;
        setJob(data);
        setError(null);
        if (LIVE.has(data.status)) timer = setTimeout(poll, POLL_MS);
        else onChanged();
      } catch (err) {
        if (!stop) setError(err);
      }
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [id]);

  const loadPage = async (cursor: string | null) => {
    setError(null);
    try {
      const q = `limit=${PAGE_SIZE}${cursor ? `&cursor=${enc(cursor)}` : ''}`;
      const { data } = await get<QueryResult>(`/v1/jobs/${enc(id)}/results?${q}`);
      setPage(data);
      return data;
    } catch (err) {
      setError(err);
      return null;
    }
  };
  useEffect(() => {
    if (job?.status === 'COMPLETED' && !page) void loadPage(null);
  }, [job?.status]);

  const cancel = async () => {
    try {
      await del(`/v1/jobs/${enc(id)}`);
      const { data } = await get<Job>(`/v1/jobs/${enc(id)}`);
      setJob(data);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const retry = async () => {
    if (!job) return;
    try {
      const { data } = await post<{ job_id: string }>(
        '/v1/queries',
        { sql: job.sql, async: true },
        { headers: { 'Idempotency-Key': `console-retry-${job.job_id}` } },
      );
      setRetried(data.job_id);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const download = async (format: string) => {
    try {
      const { data } = await get<Download>(`/v1/jobs/${enc(id)}/results?format=${format}`);
      setDownloads({ ...downloads, [format]: data });
    } catch (err) {
      setError(err);
    }
  };

  if (!job) return error ? <ErrorBox error={error} /> : <p class="muted">Loading {id}…</p>;
  const pageIndex = cursors.length - 1;
  return (
    <section class="job-detail" aria-label={`Job ${job.job_id}`}>
      <h2>
        {job.job_id}{' '}
        <span class={`status status-${job.status.toLowerCase()}`} data-testid="job-status">
          {job.status}
        </span>
      </h2>
      <dl class="facts">
        <dt>Submitted</dt>
        <dd>{when(job.submitted_at)}</dd>
        <dt>Started</dt>
        <dd>{when(job.started_at)}</dd>
        <dt>Finished</dt>
        <dd>{when(job.completed_at)}</dd>
        <dt>Progress</dt>
        <dd data-testid="job-progress">
          {job.row_count ?? 0} rows fetched
          {job.execution_time_ms != null ? ` in ${job.execution_time_ms} ms` : ''}
          {LIVE.has(job.status) && <progress aria-label="Job running" />}
        </dd>
      </dl>
      <pre class="sql">{job.sql}</pre>
      {job.error && <ErrorBox error={new Error(`${job.error.code}: ${job.error.message}`)} />}
      <div class="toolbar">
        {LIVE.has(job.status) && (
          <button type="button" class="danger" onClick={cancel}>
            Cancel job
          </button>
        )}
        {!LIVE.has(job.status) && (
          <button type="button" onClick={retry} title="Runs the SQL again as a new job, once">
            Retry
          </button>
        )}
        {retried && (
          <a href={`#/jobs/${retried}`} onClick={() => navigate('jobs', retried)}>
            Retried as {retried}
          </a>
        )}
        {job.status === 'COMPLETED' &&
          ['csv', 'json', 'parquet'].map((f) =>
            downloads[f] ? (
              <a key={f} class="button" href={downloads[f]!.download_url} download>
                Download {f.toUpperCase()}
                {downloads[f]!.size_bytes != null ? ` (${downloads[f]!.size_bytes} bytes)` : ''}
              </a>
            ) : (
              <button type="button" key={f} onClick={() => download(f)}>
                Prepare {f.toUpperCase()}
              </button>
            ),
          )}
      </div>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      {page && (
        <>
          <div class="toolbar" role="toolbar" aria-label="Result pages">
            <button
              type="button"
              disabled={pageIndex === 0}
              onClick={async () => {
                const prev = cursors.slice(0, -1);
                if (await loadPage(prev[prev.length - 1] ?? null)) setCursors(prev);
              }}
            >
              Previous page
            </button>
            <span>
              Page {pageIndex + 1} · {page.data.length} rows
            </span>
            <button
              type="button"
              disabled={!page.next_cursor}
              onClick={async () => {
                const next = page.next_cursor ?? null;
                if (await loadPage(next)) setCursors([...cursors, next]);
              }}
            >
              Next page
            </button>
          </div>
          <ResultsGrid
            columns={page.metadata.columns}
            types={page.metadata.column_types}
            rows={page.data}
            label="Job results"
            firstRowNumber={pageIndex * PAGE_SIZE + 1}
          />
        </>
      )}
    </section>
  );
}

export function JobsPage({ selected }: { selected: string | undefined }) {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const { data } = await get<{ jobs: Job[] }>(`/v1/jobs?limit=50${status ? `&status=${status}` : ''}`);
        if (stop) return;
        setJobs(data.jobs);
        setError(null);
        if (data.jobs.some((j) => LIVE.has(j.status))) timer = setTimeout(load, POLL_MS);
      } catch (err) {
        if (!stop) setError(err);
      }
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [status, tick, selected]);

  return (
    <div class="jobs">
      <section class="job-list" aria-label="Jobs">
        <div class="toolbar">
          <h2>Jobs</h2>
          <label>
            Status{' '}
            <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
              <option value="">any</option>
              {['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => setTick(tick + 1)}>
            Refresh
          </button>
        </div>
        <ErrorBox error={error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Rows</th>
              <th scope="col">Submitted</th>
              <th scope="col">SQL</th>
            </tr>
          </thead>
          <tbody>
            {(jobs ?? []).map((j) => (
              <tr key={j.job_id} class={j.job_id === selected ? 'selected' : undefined} data-job={j.job_id}>
                <td>
                  <a href={`#/jobs/${j.job_id}`}>{j.job_id}</a>
                </td>
                <td>
                  <span class={`status status-${j.status.toLowerCase()}`}>{j.status}</span>
                </td>
                <td class="num">{j.row_count ?? ''}</td>
                <td>{when(j.submitted_at)}</td>
                <td class="sql-cell" title={j.sql}>
                  {j.sql}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {jobs?.length === 0 && <p class="muted">No jobs yet. Use “Run as job” in the workbench.</p>}
      </section>
      {selected && <JobDetail id={selected} onChanged={() => setTick((t) => t + 1)} />}
    </div>
  );
}
