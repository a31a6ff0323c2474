/**
 * Bulk: export a query to CSV / JSON / Parquet (progress, then a signed download), and import a file
 * into a table (upload progress, then per-record failures shown and downloadable). The Bulk API's
 * state machine drives both: create → (upload) → UploadComplete → poll until JobComplete or Failed.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiFailure,
  type BulkJob,
  type CatalogTable,
  type Download,
  enc,
  failureOf,
  get,
  patch,
  post,
} from '../api';
import { saveFile } from '../components/downloads';
import { ErrorBox } from '../components/error-box';
import { readDraft } from '../drafts';

const POLL_MS = 1000;
const DONE = new Set(['JobComplete', 'Failed', 'Aborted']);

async function waitForBulkJob(
  id: string,
  onUpdate: (job: BulkJob) => void,
  cancelled: () => boolean,
): Promise<BulkJob> {
  for (;;) {
    const { data } = await get<BulkJob>(`/v1/bulk/jobs/${enc(id)}`);
    onUpdate(data);
    if (DONE.has(data.state) || cancelled()) return data;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function errorOfJob(job: BulkJob): Error | null {
  if (job.state !== 'Failed' || !job.error) return null;
  return new Error(typeof job.error === 'string' ? job.error : `${job.error.code}: ${job.error.message}`);
}

function JobState({ job }: { job: BulkJob | null }) {
  if (!job) return null;
  return (
    <p class="bulk-state" role="status">
      <span class={`status status-${job.state.toLowerCase()}`} data-testid="bulk-state">
        {job.state}
      </span>{' '}
      {job.job_id} · {job.number_records_processed ?? 0} records processed
      {job.number_records_failed ? `, ${job.number_records_failed} failed` : ''}
      {!DONE.has(job.state) && <progress aria-label="Bulk job in progress" />}
    </p>
  );
}

function ExportForm({ onFinished }: { onFinished: () => void }) {
  const [sql, setSql] = useState(() => readDraft() ?? 'SELECT * FROM sales');
  const [format, setFormat] = useState('CSV');
  const [gzip, setGzip] = useState(false);
  const [job, setJob] = useState<BulkJob | null>(null);
  const [download, setDownload] = useState<Download | null>(null);
  const [error, setError] = useState<unknown>(null);
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );

  const start = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDownload(null);
    try {
      const { data: created } = await post<BulkJob>('/v1/bulk/jobs', {
        operation: 'query',
        query: sql,
        content_type: format,
        compression: gzip ? 'GZIP' : 'NONE',
      });
      setJob(created);
      await patch<BulkJob>(`/v1/bulk/jobs/${enc(created.job_id)}`, { state: 'UploadComplete' });
      const done = await waitForBulkJob(created.job_id, setJob, () => !alive.current);
      onFinished();
      const failure = errorOfJob(done);
      if (failure) throw failure;
      if (done.state === 'JobComplete') {
        const { data } = await get<Download>(`/v1/bulk/jobs/${enc(created.job_id)}/results`);
        setDownload(data);
      }
    } catch (err) {
      setError(err);
    }
  };
  const busy = job !== null && !DONE.has(job.state);
  return (
    <form class="card" onSubmit={start} aria-labelledby="export-title">
      <h2 id="export-title">Export a query</h2>
      <label for="export-sql">SQL</label>
      <textarea
        id="export-sql"
        rows={5}
        value={sql}
        onInput={(e) => setSql((e.target as HTMLTextAreaElement).value)}
      />
      <div class="row">
        <label>
          Format{' '}
          <select value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value)}>
            <option>CSV</option>
            <option>JSON</option>
            <option>PARQUET</option>
          </select>
        </label>
        <label>
          <input
            type="checkbox"
            checked={gzip}
            onChange={(e) => setGzip((e.target as HTMLInputElement).checked)}
          />{' '}
          gzip
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Start export
        </button>
        {busy && job && (
          <button
            type="button"
            class="danger"
            onClick={() =>
              void patch(`/v1/bulk/jobs/${enc(job.job_id)}`, { state: 'Aborted' }).catch(setError)
            }
          >
            Abort
          </button>
        )}
      </div>
      <JobState job={job} />
      {download && (
        <p>
          <a class="button primary" href={download.download_url} download data-testid="export-download">
            Download {download.format}
            {download.compression === 'GZIP' ? '.gz' : ''} ({download.row_count ?? '?'} rows,{' '}
            {download.size_bytes ?? '?'} bytes)
          </a>{' '}
          <span class="muted small">link expires {new Date(download.expires_at).toLocaleString()}</span>
        </p>
      )}
      <ErrorBox error={error} />
    </form>
  );
}

/** PUT the file to the signed URL with XMLHttpRequest: fetch() cannot report upload progress. */
function upload(url: string, file: File, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    if (file.name.endsWith('.gz')) xhr.setRequestHeader('Content-Encoding', 'gzip');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = async () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      reject(
        await failureOf(
          new Response(xhr.responseText, {
            status: xhr.status,
            headers: {
              'X-Request-ID': xhr.getResponseHeader('X-Request-ID') ?? '',
              'Content-Type': 'application/json',
            },
          }),
        ),
      );
    };
    xhr.onerror = () =>
      reject(new ApiFailure(0, { code: 'NETWORK_ERROR', message: 'the upload was interrupted' }));
    xhr.send(file);
  });
}

interface Failures {
  csv: string;
  rows: string[][];
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function ImportForm({ onFinished }: { onFinished: () => void }) {
  const [tables, setTables] = useState<CatalogTable[]>([]);
  const [table, setTable] = useState('');
  const [operation, setOperation] = useState('insert');
  const [keyField, setKeyField] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [job, setJob] = useState<BulkJob | null>(null);
  const [failures, setFailures] = useState<Failures | null>(null);
  const [error, setError] = useState<unknown>(null);
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );
  useEffect(() => {
    get<{ tables: CatalogTable[] }>('/v1/catalog/tables')
      .then(({ data }) => {
        setTables(data.tables.filter((t) => t.kind !== 'view'));
        if (data.tables[0]) setTable((t) => t || data.tables[0]!.name);
      })
      .catch(setError);
  }, []);

  const start = async (e: Event) => {
    e.preventDefault();
    if (!file || !table) return;
    setError(null);
    setFailures(null);
    setProgress(0);
    try {
      const json = /\.json(\.gz)?$|\.ndjson(\.gz)?$/i.test(file.name);
      const { data: created } = await post<BulkJob>('/v1/bulk/jobs', {
        operation,
        object: table,
        content_type: json ? 'JSON' : 'CSV',
        compression: file.name.endsWith('.gz') ? 'GZIP' : 'NONE',
        ...(operation !== 'insert' && keyField ? { external_id_field: keyField } : {}),
      });
      setJob(created);
      const { data: target } = await get<{ upload_url: string }>(
        `/v1/bulk/jobs/${enc(created.job_id)}/upload-url`,
      );
      await upload(target.upload_url, file, setProgress);
      setProgress(1);
      await patch<BulkJob>(`/v1/bulk/jobs/${enc(created.job_id)}`, { state: 'UploadComplete' });
      const done = await waitForBulkJob(created.job_id, setJob, () => !alive.current);
      onFinished();
      const failure = errorOfJob(done);
      if (failure) throw failure;
      if ((done.number_records_failed ?? 0) > 0) {
        const { data: csv } = await get<string>(`/v1/bulk/jobs/${enc(created.job_id)}/failed-results`, {
          text: true,
          headers: { Accept: 'text/csv' },
        });
        setFailures({ csv, rows: parseCsv(csv) });
      }
    } catch (err) {
      setError(err);
    }
  };
  const busy = job !== null && !DONE.has(job.state) && error === null;
  const selected = tables.find((t) => t.name === table);
  return (
    <form class="card" onSubmit={start} aria-labelledby="import-title">
      <h2 id="import-title">Import a file</h2>
      <p class="muted small">
        CSV with a header row, or JSON. Rows land with your tenant; a row the table refuses is a failed
        record, and nothing is written unless the job completes.
      </p>
      <div class="row">
        <label>
          Table{' '}
          <select value={table} onChange={(e) => setTable((e.target as HTMLSelectElement).value)}>
            {tables.map((t) => (
              <option key={t.name}>{t.name}</option>
            ))}
          </select>
        </label>
        <label>
          Operation{' '}
          <select value={operation} onChange={(e) => setOperation((e.target as HTMLSelectElement).value)}>
            {['insert', 'upsert', 'update', 'delete'].map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </label>
        {operation !== 'insert' && (
          <label>
            Key column{' '}
            <select value={keyField} onChange={(e) => setKeyField((e.target as HTMLSelectElement).value)}>
              <option value="">(primary key)</option>
              {selected?.columns.map((c) => (
                <option key={c.name}>{c.name}</option>
              ))}
            </select>
          </label>
        )}
      </div>
      <label for="import-file">File</label>
      <input
        id="import-file"
        type="file"
        accept=".csv,.json,.ndjson,.gz,text/csv,application/json"
        onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)}
      />
      {selected && <p class="muted small">Columns: {selected.columns.map((c) => c.name).join(', ')}</p>}
      <div class="row">
        <button type="submit" class="primary" disabled={!file || busy}>
          Upload and import
        </button>
        {progress !== null && (
          <label>
            Upload <progress value={progress} max={1} aria-label="Upload progress" />{' '}
            {Math.round(progress * 100)}%
          </label>
        )}
      </div>
      <JobState job={job} />
      {job?.state === 'JobComplete' && !failures && <p role="status">All records imported.</p>}
      {failures && (
        <section aria-label="Failed records" class="failures">
          <h3>
            {failures.rows.length - 1} failed record{failures.rows.length === 2 ? '' : 's'}{' '}
            <button
              type="button"
              onClick={() => saveFile(`${job?.job_id ?? 'import'}-failed.csv`, 'text/csv', failures.csv)}
            >
              Download failed records
            </button>
          </h3>
          <table>
            <thead>
              <tr>
                {failures.rows[0]?.map((h) => (
                  <th key={h} scope="col">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {failures.rows.slice(1, 201).map((r, i) => (
                <tr key={i}>
                  {r.map((c, j) => (
                    <td key={j}>{c}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <ErrorBox error={error} />
    </form>
  );
}

function RecentBulkJobs({ tick }: { tick: number }) {
  const [jobs, setJobs] = useState<BulkJob[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<{ jobs: BulkJob[] }>('/v1/bulk/jobs?limit=20')
      .then(({ data }) => setJobs(data.jobs))
      .catch(setError);
  }, [tick]);
  return (
    <section class="card" aria-label="Recent bulk jobs">
      <h2>Recent bulk jobs</h2>
      <ErrorBox error={error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Operation</th>
            <th scope="col">Object</th>
            <th scope="col">State</th>
            <th scope="col">Processed</th>
            <th scope="col">Failed</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.job_id}>
              <td>{j.job_id}</td>
              <td>{j.operation}</td>
              <td>{j.object ?? '—'}</td>
              <td>
                <span class={`status status-${j.state.toLowerCase()}`}>{j.state}</span>
              </td>
              <td class="num">{j.number_records_processed ?? 0}</td>
              <td class="num">{j.number_records_failed ?? 0}</td>
              <td>{new Date(j.created_at).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function BulkPage() {
  const [tick, setTick] = useState(0);
  const refresh = () => setTick((t) => t + 1);
  return (
    <div class="bulk">
      <ExportForm onFinished={refresh} />
      <ImportForm onFinished={refresh} />
      <RecentBulkJobs tick={tick} />
    </div>
  );
}
