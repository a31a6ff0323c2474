/**
 * The PostgreSQL grammar (libpg-query, WASM) and the deparser behind one small seam: load once,
 * then parse / scan / deparse synchronously. Nothing else in src/sql touches these libraries
 * (quoting-deparser.ts corrects how the deparser quotes names).
 */
import { loadModule, type ParseResult, parseSync, type ScanToken, scanSync } from 'libpg-query';
import { ApiError } from '../domain/errors.js';
import { QuotingDeparser } from './quoting-deparser.js';

let loaded: Promise<void> | undefined;
let ready = false;

/** Loads the WASM parser once; idempotent. The server awaits it at start. */
export function initSqlGuard(): Promise<void> {
  loaded ??= loadModule().then(
    () => {
      ready = true;
    },
    (error: unknown) => {
      loaded = undefined; // let the next call try again
      throw error;
    },
  );
  return loaded;
}

function assertReady(): void {
  if (!ready) throw new ApiError('INTERNAL_ERROR', 'SQL guard used before initSqlGuard() completed');
}

/** A parser failure: the message and a 0-based character cursor into the parsed text. */
export class ParseFailure extends Error {
  constructor(
    message: string,
    readonly cursor: number | undefined,
    /** True when the input nests deeper than the parser (or the JSON decoding of its AST) can go. */
    readonly tooDeep: boolean,
  ) {
    super(message);
    this.name = 'ParseFailure';
  }
}

const TOO_DEEP = /stack depth|memory exhausted|maximum call stack|too many nested|nested too deeply/i;

function toParseFailure(error: unknown): ParseFailure {
  const message = error instanceof Error ? error.message : String(error);
  const details = (error as { sqlDetails?: { cursorPosition?: number } } | null)?.sqlDetails;
  return new ParseFailure(
    message,
    details?.cursorPosition,
    error instanceof RangeError || TOO_DEEP.test(message),
  );
}

export function parseSql(sql: string): ParseResult {
  assertReady();
  try {
    return parseSync(sql);
  } catch (error) {
    throw toParseFailure(error);
  }
}

/** Lexical tokens (comments included); throws ParseFailure on an unterminated literal or comment. */
export function scanSql(sql: string): ScanToken[] {
  assertReady();
  try {
    return scanSync(sql).tokens;
  } catch {
    // The scanner's own error text is lost in its JSON wrapper: ask the parser for a located message.
    try {
      parseSync(sql);
    } catch (error) {
      throw toParseFailure(error);
    }
    throw new ParseFailure('the SQL text could not be tokenised', undefined, false);
  }
}

/** Compact, single-line PostgreSQL spelling of a parse tree. */
export function deparseSql(tree: ParseResult): string {
  return new QuotingDeparser(tree, { pretty: false }).deparseQuery();
}

export type { ParseResult, ScanToken };
