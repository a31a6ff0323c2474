/** The client's errors: the server's error envelope as a typed value, and "could not reach the server". */

/** An error answered by the server: `{"error": {code, message, details, request_id}}` (API.md "Errors"). */
export class SpectraError extends Error {
  override readonly name = 'SpectraError';
  constructor(
    /** `INVALID_SQL`, `RATE_LIMITED`, `QUERY_FAILED`, … (API.md "Errors"). */
    readonly code: string,
    message: string,
    /** HTTP status; 0 for a job that failed after it was accepted. */
    readonly status: number,
    readonly details: Record<string, unknown> = {},
    readonly requestId: string | null = null,
  ) {
    super(message);
  }
}

/** The server could not be reached (refused, reset, DNS): no response, so no code or request id. */
export class SpectraConnectionError extends Error {
  override readonly name = 'SpectraConnectionError';
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot reach ${url}: ${causeMessage(cause)}`, { cause });
  }
}

function causeMessage(e: unknown): string {
  const inner = (e as { cause?: { code?: string; message?: string } })?.cause;
  return inner?.code ?? inner?.message ?? (e as Error)?.message ?? String(e);
}

/** Reads a non-2xx response into a SpectraError (any body: the envelope, or text from a proxy). */
export async function errorFromResponse(res: Response): Promise<SpectraError> {
  const headerId = res.headers.get('x-request-id');
  const text = await res.text().catch(() => '');
  let envelope: { error?: { code?: unknown; message?: unknown; details?: unknown; request_id?: unknown } } =
    {};
  try {
    envelope = JSON.parse(text);
  } catch {}
  const e = envelope?.error;
  if (e && typeof e.code === 'string') {
    return new SpectraError(
      e.code,
      typeof e.message === 'string' ? e.message : res.statusText,
      res.status,
      e.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : {},
      typeof e.request_id === 'string' ? e.request_id : headerId,
    );
  }
  return new SpectraError(
    `HTTP_${res.status}`,
    text.slice(0, 200) || res.statusText,
    res.status,
    {},
    headerId,
  );
}
