/**
 * What every part of the DynamoDB StateStore shares: the document client, error mapping (a failed
 * condition goes back to the caller, anything else is a 503) and opaque cursors.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  type DynamoDBClientConfig,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiError, invalidRequest } from '../../domain/errors.js';

const RETRY_AFTER_SECONDS = 5;

/** A DynamoDB document client; the SDK's Node-version notice is not for our users (NOTES.md). */
export function createDynamoClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException ||
  (e as { name?: string })?.name === 'ConditionalCheckFailedException';
export const isTransactionCancelled = (e: unknown) =>
  e instanceof TransactionCanceledException ||
  (e as { name?: string })?.name === 'TransactionCanceledException';

/** Why a transaction was cancelled, per item: `ConditionalCheckFailed`, `TransactionConflict`, `None`… */
export function cancellationCodes(e: unknown): string[] {
  const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((r) => r.Code ?? 'None');
}

export function unavailable(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { name?: string; code?: string } | null;
  const name = err?.name ?? 'Error';
  // A socket error is a plain Error: its code (ECONNREFUSED, ENOTFOUND…) says more than its name.
  const details: Record<string, unknown> = { cause: name === 'Error' && err?.code ? err.code : name };
  if (name === 'ResourceNotFoundException')
    details.hint = 'a state table does not exist: run `spectra aws init`';
  return new ApiError(
    'WAREHOUSE_UNAVAILABLE',
    'control state store unavailable',
    details,
    RETRY_AFTER_SECONDS,
  );
}

/** Runs one DynamoDB call; conditional failures go back to the caller, the rest become 503s. */
export async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isConditionFailure(e) || isTransactionCancelled(e)) throw e;
    throw unavailable(e);
  }
}

/** Cursor = base64url JSON of the last item's sort-key parts; the partition is always the caller's. */
export function encodeCursor(parts: string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}
export function decodeCursor(cursor: string, arity: number): string[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parts) &&
      parts.length === arity &&
      parts.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 256)
    )
      return parts;
  } catch {}
  throw invalidRequest('malformed cursor', { field: 'cursor' });
}

/** Reads `want` items (after the filter) from a Query or Scan, following DynamoDB's pages. */
export async function collect(
  read: (
    start: Record<string, unknown> | undefined,
    limit: number | undefined,
  ) => Promise<{ Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> }>,
  want: number,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await call(() =>
      read(start, Number.isFinite(want) ? Math.max(want - items.length, 1) : undefined),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start && items.length < want);
  return items.slice(0, want);
}

/** TTL is whole epoch seconds, rounded up so an item never disappears before its expiry. */
export const ttlOf = (iso: string) => Math.ceil(Date.parse(iso) / 1000);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
