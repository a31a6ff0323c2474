/**
 * One statement of the Redshift conformance corpus (issue 13) and its expected outcome on both
 * targets. Expected values are Redshift's documented answers (the AWS SQL reference), never what
 * our implementation happens to print: a case that disagrees with the reference is a bug to fix.
 */

/** A row as `POST /v1/queries` returns it in `data`: column name → JSON value. */
export type ConformanceRow = Record<string, unknown>;

/** The error code of the API's JSON envelope (`error.code`), e.g. `UNSUPPORTED_ON_REDSHIFT`. */
export type ConformanceErrorCode = string;

export interface ConformanceCase {
  /** Unique across the corpus, e.g. `fn.dateadd.month-end`. */
  id: string;
  /** The statement as a tenant writes it (Redshift SQL). */
  sql: string;
  /** Named placeholders (`:name`), sent as `params`. */
  params?: Record<string, string | number | boolean | null>;
  /** The demo tenant that runs it; `acme` when absent. */
  tenant?: string;
  /**
   * On the embedded warehouse (PostgreSQL with the compatibility schema): the rows of `data`, in
   * order (write an ORDER BY where the order matters), or the error code of the refusal.
   */
  embedded: { rows: ConformanceRow[] } | { error: ConformanceErrorCode };
  /**
   * Through the Redshift Data API adapter: the statement text the Data API receives (compared by
   * `normalizeSent`: whitespace collapsed, the guard's own trailing `LIMIT n` dropped; absent = only
   * that it is sent), or the error code when the guard refuses it before any round trip.
   */
  redshift: { sent?: string } | { error: ConformanceErrorCode };
  /** Where the expected answer comes from (an AWS SQL reference page), when not obvious. */
  source?: string;
}

/** For a loaded module's exports: is this value a case? (The runner collects every array of them.) */
export function isConformanceCase(value: unknown): value is ConformanceCase {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<ConformanceCase>;
  return typeof c.id === 'string' && typeof c.sql === 'string' && !!c.embedded && !!c.redshift;
}

/**
 * The text compared for `redshift.sent`: whitespace collapsed (none just inside parentheses), and without the top-level
 * `LIMIT n` the guard appends for truncation detection (its value is the cap + 1, not the tenant's).
 */
export function normalizeSent(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/\( /g, '(')
    .replace(/ \)/g, ')')
    .trim()
    .replace(/;$/, '')
    .replace(/ LIMIT \d+$/i, '');
}
