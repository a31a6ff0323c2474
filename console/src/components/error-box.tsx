/** An API failure in words: code, message, what the details say, and the request id to quote. */
import { ApiFailure } from '../api';

const DETAIL_LABELS: [string, string][] = [
  ['hint', 'Hint'],
  ['rewrite', 'Suggested rewrite'],
  ['reason', 'Reason'],
  ['field', 'Field'],
  ['required', 'Needs permission'],
  ['status', 'Current status'],
];

export function describe(err: unknown): { title: string; lines: [string, string][]; requestId?: string } {
  if (err instanceof ApiFailure) {
    const d = err.envelope.details ?? {};
    const lines: [string, string][] = [];
    if (typeof d.line === 'number' && typeof d.column === 'number')
      lines.push(['At', `line ${d.line}, column ${d.column}${d.near ? ` near “${d.near}”` : ''}`]);
    for (const [key, label] of DETAIL_LABELS) {
      const v = d[key];
      if (v !== undefined && v !== null && v !== '' && !(key === 'reason' && v === err.message))
        lines.push([label, Array.isArray(v) ? v.join(', ') : String(v)]);
    }
    return { title: `${err.code}: ${err.message}`, lines, requestId: err.requestId };
  }
  return { title: err instanceof Error ? err.message : String(err), lines: [] };
}

export function ErrorBox({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null;
  const { title, lines, requestId } = describe(error);
  return (
    <div class="error-box" role="alert">
      <strong class="error-title">{title}</strong>
      {lines.length > 0 && (
        <dl>
          {lines.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{k === 'Suggested rewrite' ? <code>{v}</code> : v}</dd>
            </div>
          ))}
        </dl>
      )}
      {requestId && (
        <p class="request-id">
          Request id: <code>{requestId}</code>
        </p>
      )}
      {onDismiss && (
        <button type="button" class="link" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
