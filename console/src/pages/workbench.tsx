/**
 * The SQL workbench: schema browser, editor, `:params` form, results grid or chart, Server-Timing,
 * history; a statement can also go off as an async job (Jobs page) or a bulk export (Bulk page).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiFailure, type CatalogTable, get, type Me, post, type QueryResult, serverTimings } from '../api';
import { csvOf, saveFile, tsvOf } from '../components/downloads';
import { ErrorBox } from '../components/error-box';
import { type ChartKind, planChart, ResultChart } from '../components/result-chart';
import { ResultsGrid } from '../components/results-grid';
import { clearHistory, type HistoryEntry, readDraft, readHistory, remember, saveDraft } from '../drafts';
import { type EditorHandle, type RunRequest, SqlEditor } from '../editor/sql-editor';
import { parameterNames, parameterValue } from '../editor/statements';
import { navigate } from '../router';

const STARTER = `-- Ctrl/Cmd-Enter runs the statement under the cursor (or the selection).
SELECT *
FROM sales
LIMIT 100;`;

interface Outcome {
  result: QueryResult;
  timings: { name: string; ms: number }[];
  requestId: string | null;
  sql: string;
}

function SchemaBrowser({
  tables,
  error,
  onInsert,
}: {
  tables: CatalogTable[] | null;
  error: unknown;
  onInsert: (t: string) => void;
}) {
  const [filter, setFilter] = useState('');
  const [open, setOpen] = useState<Set<string>>(new Set());
  const shown = (tables ?? []).filter(
    (t) =>
      !filter ||
      t.name.includes(filter.toLowerCase()) ||
      t.columns.some((c) => c.name.includes(filter.toLowerCase())),
  );
  const toggle = (key: string) => {
    const next = new Set(open);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setOpen(next);
  };
  return (
    <aside class="schema" aria-label="Schema browser">
      <h2>Tables</h2>
      <label class="visually-hidden" for="schema-filter">
        Filter tables and columns
      </label>
      <input
        id="schema-filter"
        type="search"
        placeholder="Filter tables…"
        value={filter}
        onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
      />
      <ErrorBox error={error} />
      {tables === null && !error && <p class="muted">Loading…</p>}
      {tables?.length === 0 && <p class="muted">This credential can see no tables.</p>}
      <ul class="tables">
        {shown.map((t) => {
          const key = `${t.schema}.${t.name}`;
          const expanded = open.has(key);
          return (
            <li key={key} data-table={t.name}>
              <div class="table-line">
                <button
                  type="button"
                  class="disclose"
                  aria-expanded={expanded}
                  aria-label={`${expanded ? 'Hide' : 'Show'} columns of ${t.name}`}
                  onClick={() => toggle(key)}
                >
                  {expanded ? '▾' : '▸'}
                </button>
                <button
                  type="button"
                  class="name"
                  title={t.description ?? `Insert ${t.name}`}
                  onClick={() => onInsert(t.name)}
                >
                  {t.name}
                </button>
                <span class="muted small">
                  {t.kind === 'view' ? 'view' : t.row_estimate != null ? `~${t.row_estimate}` : ''}
                </span>
              </div>
              {expanded && (
                <ul class="columns">
                  {t.columns.map((c) => (
                    <li key={c.name}>
                      <button
                        type="button"
                        class="name"
                        onClick={() => onInsert(c.name)}
                        title={`Insert ${c.name}`}
                      >
                        {c.name}
                      </button>
                      <span class="col-type">
                        {t.primary_key.includes(c.name) ? 'pk ' : ''}
                        {c.type.toLowerCase()}
                        {c.nullable ? '' : ' not null'}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}

function ServerTiming({ outcome }: { outcome: Outcome }) {
  const { result, timings, requestId } = outcome;
  return (
    <div class="result-meta" aria-live="polite">
      <span data-testid="row-count">
        {result.metadata.row_count} row{result.metadata.row_count === 1 ? '' : 's'}
      </span>
      <span>{result.metadata.execution_time_ms} ms in the warehouse</span>
      {timings.length > 0 && (
        <span class="timings" title="Server-Timing: time spent in each phase on the server">
          <span class="muted small">Server-Timing</span>
          {timings.map((t) => (
            <span key={t.name} class="timing">
              {t.name} {t.ms.toFixed(1)} ms
            </span>
          ))}
        </span>
      )}
      {requestId && (
        <span class="muted small">
          request <code>{requestId}</code>
        </span>
      )}
      {result.metadata.truncated && (
        <p class="warning" role="status">
          Truncated: only the first {result.metadata.row_count} rows are shown.{' '}
          {result.metadata.message ?? 'Use a bulk export for the whole result.'}
        </p>
      )}
    </div>
  );
}

export function WorkbenchPage({ me }: { me: Me }) {
  const editor = useRef<EditorHandle | null>(null);
  const [tables, setTables] = useState<CatalogTable[] | null>(null);
  const [catalogError, setCatalogError] = useState<unknown>(null);
  const [text, setText] = useState(() => readDraft() ?? STARTER);
  const [params, setParams] = useState<Record<string, string>>({});
  const [limit, setLimit] = useState('1000');
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [view, setView] = useState<'grid' | 'chart'>('grid');
  const [chartKind, setChartKind] = useState<ChartKind | null>(null);
  const [history, setHistory] = useState<HistoryEntry[]>(readHistory);
  const [notice, setNotice] = useState<string | null>(null);
  const names = useMemo(() => parameterNames(text), [text]);

  useEffect(() => {
    get<{ tables: CatalogTable[] }>('/v1/catalog/tables')
      .then(({ data }) => setTables(data.tables))
      .catch(setCatalogError);
  }, []);

  const plan = useMemo(
    () =>
      outcome
        ? planChart(
            outcome.result.metadata.columns,
            outcome.result.metadata.column_types,
            outcome.result.data,
          )
        : null,
    [outcome],
  );

  const bound = (sql: string) => {
    const used = parameterNames(sql);
    return Object.fromEntries(used.map((n) => [n, parameterValue(params[n] ?? '')]));
  };

  const run = async (req: RunRequest, asJob: boolean) => {
    if (!req.sql || running) return;
    editor.current?.clearErrors();
    setError(null);
    setNotice(null);
    setRunning(true);
    const body = {
      sql: req.sql,
      params: bound(req.sql),
      parameters: { limit: Number(limit) || 1000 },
      ...(asJob ? { async: true } : {}),
    };
    try {
      const { data, response } = await post<QueryResult>('/v1/queries', body);
      if (asJob) {
        setHistory(
          remember({ sql: req.sql, at: new Date().toISOString(), outcome: `job ${data.job_id}`, ok: true }),
        );
        navigate('jobs', data.job_id);
        return;
      }
      setOutcome({
        result: data,
        timings: serverTimings(response),
        requestId: response.headers.get('X-Request-ID'),
        sql: req.sql,
      });
      setChartKind(null);
      setHistory(
        remember({
          sql: req.sql,
          at: new Date().toISOString(),
          outcome: `${data.metadata.row_count} rows${data.metadata.truncated ? ' (truncated)' : ''}`,
          ok: true,
        }),
      );
    } catch (err) {
      setError(err);
      if (err instanceof ApiFailure) {
        const d = err.envelope.details ?? {};
        if (typeof d.position === 'number')
          editor.current?.markError(
            req,
            d.position,
            `${err.code}: ${err.message}`,
            typeof d.near === 'string' ? d.near : undefined,
          );
        setHistory(remember({ sql: req.sql, at: new Date().toISOString(), outcome: err.code, ok: false }));
      }
    } finally {
      setRunning(false);
    }
  };

  const runCurrent = (asJob: boolean) => {
    const req = editor.current?.current();
    if (req) void run(req, asJob);
  };
  const onChange = (t: string) => {
    setText(t);
    saveDraft(t);
  };
  const result = outcome?.result;
  const kind = chartKind ?? plan?.suggested ?? 'bar';

  return (
    <div class="workbench">
      <SchemaBrowser tables={tables} error={catalogError} onInsert={(t) => editor.current?.insert(t)} />
      <section class="work" aria-label="Query">
        <div class="toolbar" role="toolbar" aria-label="Query actions">
          <button
            type="button"
            class="primary"
            onClick={() => runCurrent(false)}
            disabled={running}
            title="Ctrl/Cmd-Enter"
          >
            {running ? 'Running…' : 'Run'}
          </button>
          <button
            type="button"
            onClick={() => runCurrent(true)}
            disabled={running}
            title="Shift-Ctrl/Cmd-Enter"
          >
            Run as job
          </button>
          <button
            type="button"
            onClick={() => {
              saveDraft(editor.current?.current().sql ?? text);
              navigate('bulk');
            }}
          >
            Export…
          </button>
          <label>
            Row limit{' '}
            <input
              type="number"
              min={1}
              max={10000}
              value={limit}
              onInput={(e) => setLimit((e.target as HTMLInputElement).value)}
            />
          </label>
          <span class="muted small">
            {me.tenant_id ? `as ${me.tenant_id}` : ''} · Ctrl/Cmd-Enter runs the statement or the selection
          </span>
        </div>
        <SqlEditor
          initial={text}
          tables={tables ?? []}
          onRun={(r, j) => void run(r, j)}
          onChange={onChange}
          handle={editor}
        />
        {names.length > 0 && (
          <fieldset class="params">
            <legend>Parameters</legend>
            {names.map((n) => (
              <label key={n}>
                :{n}{' '}
                <input
                  name={`param-${n}`}
                  value={params[n] ?? ''}
                  onInput={(e) => setParams({ ...params, [n]: (e.target as HTMLInputElement).value })}
                  placeholder="text, number, true/false or null"
                />
              </label>
            ))}
          </fieldset>
        )}
        <ErrorBox error={error} onDismiss={() => setError(null)} />
        {notice && <p role="status">{notice}</p>}
        {result && outcome && (
          <section class="results" aria-label="Results">
            <ServerTiming outcome={outcome} />
            <div class="result-actions" role="toolbar" aria-label="Result actions">
              <div class="tabs" role="tablist" aria-label="Result view">
                <button
                  type="button"
                  role="tab"
                  aria-selected={view === 'grid'}
                  onClick={() => setView('grid')}
                >
                  Grid
                </button>
                <button
                  type="button"
                  role="tab"
                  aria-selected={view === 'chart'}
                  disabled={!plan}
                  title={plan ? 'Chart the result' : 'A chart needs one category column and numeric columns'}
                  onClick={() => setView('chart')}
                >
                  Chart
                </button>
              </div>
              {view === 'chart' && plan && (
                <div class="tabs" role="toolbar" aria-label="Chart type">
                  {(['bar', 'line'] as const).map((k) => (
                    <button type="button" key={k} aria-pressed={kind === k} onClick={() => setChartKind(k)}>
                      {k === 'bar' ? 'Bars' : 'Line'}
                    </button>
                  ))}
                </div>
              )}
              <button
                type="button"
                onClick={() =>
                  void navigator.clipboard
                    ?.writeText(tsvOf(result.metadata.columns, result.data))
                    .then(() => setNotice(`Copied ${result.data.length} rows to the clipboard.`))
                }
              >
                Copy
              </button>
              <button
                type="button"
                onClick={() =>
                  saveFile('result.csv', 'text/csv', csvOf(result.metadata.columns, result.data))
                }
              >
                CSV
              </button>
              <button
                type="button"
                onClick={() =>
                  saveFile('result.json', 'application/json', JSON.stringify(result.data, null, 2))
                }
              >
                JSON
              </button>
            </div>
            {view === 'chart' && plan ? (
              <ResultChart plan={plan} kind={kind} rows={result.data} />
            ) : (
              <ResultsGrid
                columns={result.metadata.columns}
                types={result.metadata.column_types}
                rows={result.data}
                label="Query results"
              />
            )}
          </section>
        )}
      </section>
      <aside class="history" aria-label="Query history">
        <h2>History</h2>
        {history.length === 0 && <p class="muted">Queries you run appear here (this browser only).</p>}
        <ol>
          {history.slice(0, 30).map((h) => (
            <li key={h.at + h.sql}>
              <button
                type="button"
                class={`history-item${h.ok ? '' : ' failed'}`}
                onClick={() => editor.current?.setText(h.sql)}
                title={h.sql}
              >
                <span class="history-sql">{h.sql}</span>
                <span class="muted small">
                  {new Date(h.at).toLocaleTimeString()} · {h.outcome}
                </span>
              </button>
            </li>
          ))}
        </ol>
        {history.length > 0 && (
          <button
            type="button"
            class="link"
            onClick={() => {
              clearHistory();
              setHistory([]);
            }}
          >
            Clear history
          </button>
        )}
      </aside>
    </div>
  );
}
