/**
 * A capped read without parameters, sent as one simple-protocol Query message:
 * `BEGIN; SET LOCAL ROLE …; SET LOCAL …; <statement>\n; COMMIT`.
 *
 * Why: the same transaction as three pg queries (BEGIN/SET, the statement through the extended
 * protocol, COMMIT) cost the service 0.2 ms more CPU per small query, and PostgreSQL a third more,
 * than one string (measured with bench variants of the baseline handler, docs/benchmarks.md).
 * Rows are taken from the protocol's DataRow messages as pg-protocol parsed them (text), with no
 * pg Result, row parser or event per row.
 *
 * Why it is safe to join the tenant's statement into a string of several:
 * - PostgreSQL parses a simple Query's whole string before it runs any of it
 *   (exec_simple_query → pg_parse_query), so a string that does not parse runs nothing.
 * - `fitsOneString` admits only text without `;`. Statements can only be separated by a `;`
 *   token, so the statement stays one statement whatever the lexer makes of it.
 * - Nothing in the text can absorb the `; COMMIT` after it. A `--` comment ends at the newline
 *   before it. An unclosed string, quoted name, dollar quote or block comment would need a closer
 *   (a quote, a dollar sign, or star-slash) that the suffix does not contain, so such a string fails to parse as a
 *   whole.
 * - The statement is the guard's deparsed SQL (port.ts StatementInput), so none of this is
 *   expected to happen. It holds even if that guarantee were broken.
 */
import type pg from 'pg';
import type { PgFieldInfo } from '../column-types.js';
import type { Row } from '../port.js';

/** A statement that may go in the one string: no parameters, no `;` anywhere in its text. */
export function fitsOneString(sql: string, params: readonly unknown[]): boolean {
  return params.length === 0 && !sql.includes(';');
}

interface WireConnection {
  query(text: string): void;
  sendCopyFail(message: string): void;
}

/**
 * The one Query message's exchange: settles at its ReadyForQuery, or at the first error. It runs on
 * a plain connection: pg refuses custom query classes on pipelined ones, and as a pg.Query subclass
 * on a pipelined pool it measured 15–20 % more CPU per small query (server and PostgreSQL).
 */
export class OneStringStatement implements pg.Submittable {
  readonly received: Row[] = [];
  description: PgFieldInfo[] | undefined;
  readonly settled: Promise<void>;
  /** Characters before the statement in the string: error positions are moved back by this. */
  private readonly offset: number;
  private readonly text: string;
  private resolve!: () => void;
  private reject!: (e: unknown) => void;

  constructor(begin: string, sql: string) {
    const prefix = `${begin}; `;
    this.text = `${prefix}${sql}\n; COMMIT`;
    // PostgreSQL counts characters (code points), not UTF-16 units.
    this.offset = [...prefix].length;
    this.settled = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: pg.Connection): void {
    (connection as unknown as WireConnection).query(this.text);
  }

  /** Only the statement describes rows (BEGIN, SET and COMMIT return none). */
  handleRowDescription(msg: { fields: PgFieldInfo[] }): void {
    this.description ??= msg.fields;
  }
  handleDataRow(msg: { fields: (string | null)[] }): void {
    this.received.push(msg.fields);
  }
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  /** A SELECT never starts COPY; were one to, it is refused rather than left waiting. */
  handleCopyInResponse(connection: pg.Connection): void {
    (connection as unknown as WireConnection).sendCopyFail('COPY is not part of a query');
  }
  handleCopyData(): void {}
  handleReadyForQuery(): void {
    this.resolve();
  }
  /** pg calls this for an ErrorResponse (no ReadyForQuery reaches this query after it) and for a lost connection. */
  handleError(e: unknown): void {
    const err = e as { position?: string };
    if (err && typeof err.position === 'string') {
      const at = Number(err.position) - this.offset;
      err.position = at > 0 ? String(at) : undefined;
    }
    this.reject(e);
  }
  /** pg replaces it when a query_timeout is set. */
  callback(): void {}
}
