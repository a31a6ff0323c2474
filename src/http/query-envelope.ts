/**
 * The query envelope, `{"job_id", "status": "COMPLETED", "data", "metadata"[, "next_cursor"]}`, written
 * as text around rows already encoded as a JSON array: a sync query's answer and a page of an
 * async job's results (docs/api.md).
 */
export function writeQueryEnvelope(
  jobId: string,
  data: string,
  metadata: Record<string, unknown>,
  nextCursor?: string | null,
): string {
  const head = `{"job_id":${JSON.stringify(jobId)},"status":"COMPLETED","data":${data},"metadata":${JSON.stringify(metadata)}`;
  return nextCursor === undefined ? `${head}}` : `${head},"next_cursor":${JSON.stringify(nextCursor)}}`;
}
