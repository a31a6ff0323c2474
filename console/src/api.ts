/**
 * The console's only way to the server: the public API, same origin, `Authorization: Bearer` from the
 * session. Every failure becomes an ApiFailure carrying the documented error envelope and the request
 * id, so pages can show it in words. Paths are written out literally at each call: a test reads them
 * from these sources and checks each is documented in /openapi.json.
 */
import { readCredential } from './session';

export interface ErrorEnvelope {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  request_id?: string;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly envelope: ErrorEnvelope,
  ) {
    super(envelope.message);
  }
  get code(): string {
    return this.envelope.code;
  }
  get requestId(): string | undefined {
    return this.envelope.request_id;
  }
}

export interface ApiResponse<T> {
  data: T;
  response: Response;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  credential?: string;
  signal?: AbortSignal;
  /** Return the raw text instead of parsing JSON (CSV, Prometheus text). */
  text?: boolean;
}

export async function call<T>(method: string, path: string, opts: CallOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  const credential = opts.credential ?? readCredential();
  if (credential) headers.Authorization = `Bearer ${credential}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body, signal: opts.signal, credentials: 'omit' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiFailure(0, {
      code: 'NETWORK_ERROR',
      message: `the server could not be reached (${(err as Error).message})`,
    });
  }
  if (!response.ok) {
    const failure = await failureOf(response);
    // The session's credential stopped working (revoked, expired): the shell returns to sign-in.
    if (response.status === 401 && !opts.credential)
      dispatchEvent(new CustomEvent('spectra:unauthorized', { detail: failure }));
    throw failure;
  }
  if (response.status === 204) return { data: undefined as T, response };
  const data = (opts.text ? await response.text() : await response.json()) as T;
  return { data, response };
}

export async function failureOf(response: Response): Promise<ApiFailure> {
  const requestId = response.headers.get('X-Request-ID') ?? undefined;
  try {
    const parsed = (await response.json()) as { error?: ErrorEnvelope };
    if (parsed.error?.code)
      return new ApiFailure(response.status, { request_id: requestId, ...parsed.error });
  } catch {
    // not the JSON envelope (a proxy's page): described below by status
  }
  return new ApiFailure(response.status, {
    code: `HTTP_${response.status}`,
    message: `the server answered ${response.status} ${response.statusText}`.trim(),
    request_id: requestId,
  });
}

export const get = <T>(path: string, opts?: CallOptions) => call<T>('GET', path, opts);
export const post = <T>(path: string, body: unknown, opts?: CallOptions) =>
  call<T>('POST', path, { ...opts, body });
export const patch = <T>(path: string, body: unknown, opts?: CallOptions) =>
  call<T>('PATCH', path, { ...opts, body });
export const del = <T>(path: string, opts?: CallOptions) => call<T>('DELETE', path, opts);

export const enc = encodeURIComponent;

/** `Server-Timing: auth;dur=0.4, plan;dur=1.2` → [{name, ms}]. */
export function serverTimings(response: Response): { name: string; ms: number; description?: string }[] {
  const header = response.headers.get('Server-Timing');
  if (!header) return [];
  return header.split(',').flatMap((part) => {
    const [name, ...params] = part.trim().split(';');
    if (!name) return [];
    let ms = 0;
    let description: string | undefined;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k === 'dur') ms = Number(v);
      if (k === 'desc') description = v?.replace(/^"|"$/g, '');
    }
    return [{ name: name.trim(), ms, ...(description ? { description } : {}) }];
  });
}

// Response shapes (API.md; the catalog and /v1/me per the shared contract).
export interface Me {
  tenant_id: string | null;
  key_id: string | null;
  auth: 'api_key' | 'jwt' | 'admin' | 'trusted_header';
  permissions: string[];
  rate_limit: { limit: number; remaining: number; reset_seconds: number } | null;
}
export interface CatalogColumn {
  name: string;
  type: string;
  nullable: boolean;
}
export interface CatalogTable {
  schema: string;
  name: string;
  kind: string;
  columns: CatalogColumn[];
  primary_key: string[];
  row_estimate: number | null;
  description: string | null;
}
export type Row = Record<string, unknown>;
export interface QueryResult {
  job_id: string;
  status: string;
  data: Row[];
  metadata: {
    columns: string[];
    column_types: string[];
    row_count: number;
    truncated: boolean;
    execution_time_ms: number;
    query_id?: string | null;
    message?: string | null;
  };
  next_cursor?: string | null;
}
export interface Job {
  job_id: string;
  tenant_id: string;
  status: 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
  sql: string;
  submitted_at: string;
  started_at: string | null;
  completed_at: string | null;
  row_count: number | null;
  execution_time_ms: number | null;
  error: { code: string; message: string } | null;
}
export interface Download {
  download_url: string;
  expires_at: string;
  format: string;
  compression?: string;
  size_bytes?: number;
  row_count?: number;
}
export interface BulkJob {
  job_id: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  operation: string;
  object: string | null;
  content_type: string;
  compression: string;
  created_at: string;
  updated_at?: string;
  number_records_processed?: number;
  number_records_failed?: number;
  error?: { code: string; message: string } | string | null;
}

export const isAdmin = (me: Me | null) =>
  !!me && (me.auth === 'admin' || me.permissions.some((p) => p === '*' || p === 'admin:*'));
