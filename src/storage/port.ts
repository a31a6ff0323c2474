/**
 * The ResultStore port: byte objects under tenant-scoped keys (`{tenant}/{job}/…`). Write a stream,
 * read it back whole or from a byte offset, delete, and issue expiring URLs for GET and PUT.
 * Adapters: fs/ (a local or shared folder; URLs signed with HMAC and served by the API) and s3/
 * (one bucket under a key prefix; presigned URLs served by S3).
 */

/** Keys are `/`-separated segments of `[A-Za-z0-9._-]`, never `.` or `..`; the first segment is the tenant. */
export const RESULT_KEY_PATTERN = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/**
 * What a key holds, for stores that keep each kind under its own lifetime (S3 lifecycle rules by
 * prefix): a bulk job's uploaded file (`{tenant}/bulk-…/upload.*`), its other files, or a query job's.
 */
export type ResultKeyKind = 'results' | 'bulk' | 'uploads';

export function resultKeyKind(key: string): ResultKeyKind {
  const [, job, file] = key.split('/');
  if (!job?.startsWith('bulk-')) return 'results';
  return file?.startsWith('upload.') ? 'uploads' : 'bulk';
}

export function isValidResultKey(key: string): boolean {
  return key.length <= 512 && RESULT_KEY_PATTERN.test(key);
}

export interface ResultWriter {
  /** Resolves once the chunk is accepted; awaiting it is the backpressure. */
  write(chunk: Uint8Array | string): Promise<void>;
  /** Makes the object visible under its key (atomically) and returns its size. */
  close(): Promise<{ sizeBytes: number }>;
  /** Discards everything written; the key is left as it was. */
  abort(): Promise<void>;
  readonly bytesWritten: number;
}

export interface ResultObject {
  key: string;
  sizeBytes: number;
  modifiedAt: string;
}

export interface SignedUrl {
  /** Absolute, or relative to the API's origin (the fs adapter without a public URL). */
  url: string;
  expiresAt: string;
}

export type SignedMethod = 'GET' | 'PUT';

export interface ResultStore {
  createWriter(key: string): Promise<ResultWriter>;
  /** The object's bytes from `offset` (default 0), at most `length` of them. Throws NOT_FOUND. */
  read(key: string, range?: { offset?: number; length?: number }): Promise<AsyncIterable<Uint8Array>>;
  stat(key: string): Promise<ResultObject | null>;
  /** Objects whose key starts with `prefix` (a folder: ends with `/`). */
  list(prefix: string): Promise<ResultObject[]>;
  delete(key: string): Promise<void>;
  /** Deletes every object under `prefix` (ends with `/`). */
  deletePrefix(prefix: string): Promise<void>;
  /** An expiring URL allowing `method` on `key` only. */
  signedUrl(
    method: SignedMethod,
    key: string,
    expiresInSeconds: number,
    opts?: { filename?: string },
  ): Promise<SignedUrl>;
}

/**
 * Where a client PUTs a bulk import file for `key`. Object stores presign a PUT to themselves; the
 * filesystem store's uploads go through the API (which then also enforces the size cap).
 */
export interface UploadUrlIssuer {
  issue(key: string, expiresInSeconds: number): Promise<SignedUrl>;
}
