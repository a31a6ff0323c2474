/**
 * The media type a result file is served with, from its key's extension: the same for files the
 * API serves itself (fs store) and for presigned S3 downloads, so a client sees one behaviour.
 */
const CONTENT_TYPES: [RegExp, string][] = [
  [/\.gz$/, 'application/gzip'],
  [/\.ndjson$/, 'application/x-ndjson; charset=utf-8'],
  [/\.csv$/, 'text/csv; charset=utf-8; header=present'],
  [/\.json$/, 'application/json; charset=utf-8'],
  [/\.parquet$/, 'application/vnd.apache.parquet'],
];

export function resultContentType(key: string): string {
  return CONTENT_TYPES.find(([re]) => re.test(key))?.[1] ?? 'application/octet-stream';
}
