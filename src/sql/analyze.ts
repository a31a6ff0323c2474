/**
 * Analysis: one walk over a statement's parse tree collecting the facts the policy decides on.
 * No decisions here (see enforce.ts), only facts, each with its AST location for error messages.
 */

import { FLAG } from './redshift-syntax.js';

type AnyNode = Record<string, unknown>;

export interface Located {
  /** UTF-8 byte offset in the parsed text, when the parser recorded one. */
  location?: number;
}

export interface RelationUse extends Located {
  catalog?: string;
  schema?: string;
  name: string;
  /** `schema.name` or `name`, lower-cased, as written. */
  display: string;
  /** A reference to a WITH query in scope, not a table. */
  cte: boolean;
}

export interface FunctionUse extends Located {
  /** Lower-cased name parts as written: `['pg_catalog', 'extract']`. */
  parts: string[];
  name: string;
  window: boolean;
}

export interface SubqueryUse extends Located {
  kind: 'subquery' | 'FROM subquery' | 'WITH query';
  depth: number;
}

export interface StatementAnalysis {
  relations: RelationUse[];
  functions: FunctionUse[];
  subqueries: SubqueryUse[];
  /** Explicit JOINs plus comma joins, in the whole statement. */
  joins: number;
  /** Deepest subquery nesting; the top-level statement is 0. */
  maxDepth: number;
  ctes: Array<Located & { name: string; recursive: boolean; kind: string }>;
  /** Statement kinds inside WITH that are not SELECT (data-modifying CTEs). */
  modifyingCtes: Array<Located & { name: string; kind: string }>;
  setOperations: Array<Located & { op: string }>;
  tableFunctions: Array<Located & { kind: string }>;
  lockingClauses: Array<Located & { clause: string }>;
  selectInto: Located | undefined;
  /** `FETCH FIRST n ROWS WITH TIES`, anywhere (the deparser cannot write it back). */
  withTies: Located[];
  typeNames: Array<Located & { name: string }>;
  /** TABLESAMPLE methods (`bernoulli`, `system`, or an extension's). */
  sampleMethods: Array<Located & { name: string }>;
  crossDatabaseColumns: Array<Located & { name: string }>;
  paramNumbers: Set<number>;
}

const LOCKING: Record<string, string> = {
  LCS_FORUPDATE: 'FOR UPDATE',
  LCS_FORNOKEYUPDATE: 'FOR NO KEY UPDATE',
  LCS_FORSHARE: 'FOR SHARE',
  LCS_FORKEYSHARE: 'FOR KEY SHARE',
};

const SET_OPERATION: Record<string, string> = {
  SETOP_UNION: 'UNION',
  SETOP_INTERSECT: 'INTERSECT',
  SETOP_EXCEPT: 'EXCEPT',
};

/** Select fields walked explicitly (scope, depth), not by the generic walk. */
const SELECT_OWN_FIELDS = new Set(['withClause', 'larg', 'rarg', 'intoClause', 'lockingClause']);

const stringParts = (list: unknown): string[] =>
  Array.isArray(list)
    ? list.map((n) => {
        const s = (n as { String?: { sval?: string } }).String;
        return s?.sval ?? '*';
      })
    : [];

const locationOf = (node: unknown): number | undefined => {
  const l = (node as { location?: unknown } | null)?.location;
  return typeof l === 'number' && l >= 0 ? l : undefined;
};

interface Scope {
  depth: number;
  /** WITH query names visible here, innermost last. */
  ctes: ReadonlyArray<ReadonlySet<string>>;
}

class Analyzer {
  readonly result: StatementAnalysis = {
    relations: [],
    functions: [],
    subqueries: [],
    joins: 0,
    maxDepth: 0,
    ctes: [],
    modifyingCtes: [],
    setOperations: [],
    tableFunctions: [],
    lockingClauses: [],
    selectInto: undefined,
    withTies: [],
    typeNames: [],
    sampleMethods: [],
    crossDatabaseColumns: [],
    paramNumbers: new Set(),
  };

  visit(value: unknown, scope: Scope): void {
    if (Array.isArray(value)) {
      for (const item of value) this.visit(item, scope);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value as AnyNode)) {
      if (key === 'typeName') this.typeName(child);
      if (!this.node(key, child as AnyNode, scope)) this.visit(child, scope);
    }
  }

  /** Handles node types with their own rules; false lets the generic walk descend. */
  private node(type: string, node: AnyNode, scope: Scope): boolean {
    switch (type) {
      case 'SelectStmt':
        this.select(node, scope);
        return true;
      case 'RangeVar':
        this.rangeVar(node, scope);
        return true;
      case 'JoinExpr':
        this.result.joins++;
        return false;
      case 'RangeSubselect':
        this.nested('FROM subquery', node.subquery, node, scope);
        return true;
      case 'SubLink':
        this.visit(node.testexpr, scope);
        this.nested('subquery', node.subselect, node, scope);
        return true;
      case 'FuncCall': {
        const parts = stringParts(node.funcname).map((p) => p.toLowerCase());
        this.result.functions.push({
          parts,
          name: parts.join('.'),
          window: node.over !== undefined,
          location: locationOf(node),
        });
        return false;
      }
      case 'RangeFunction':
      case 'RangeTableFunc':
      case 'JsonTable':
        this.result.tableFunctions.push({ kind: type, location: locationOf(node) });
        return false;
      case 'ColumnRef': {
        const fields = stringParts(node.fields);
        if (fields.length > 3) {
          this.result.crossDatabaseColumns.push({
            name: fields.join('.').toLowerCase(),
            location: locationOf(node),
          });
        }
        return true;
      }
      case 'RangeTableSample':
        this.result.sampleMethods.push({
          name: stringParts(node.method).join('.').toLowerCase(),
          location: locationOf(node),
        });
        return false;
      case 'TypeName':
        this.typeName(node);
        return false;
      case 'ParamRef':
        this.result.paramNumbers.add(Number(node.number ?? 0));
        return true;
      default:
        return false;
    }
  }

  private nested(kind: SubqueryUse['kind'], body: unknown, node: AnyNode, scope: Scope): void {
    const depth = scope.depth + 1;
    this.result.subqueries.push({ kind, depth, location: locationOf(node) });
    this.result.maxDepth = Math.max(this.result.maxDepth, depth);
    this.visit(body, { ...scope, depth });
  }

  private select(stmt: AnyNode, outer: Scope): void {
    let scope = outer;
    const withClause = stmt.withClause as AnyNode | undefined;
    if (withClause !== undefined) scope = this.withClause(withClause, outer);

    if (stmt.intoClause !== undefined) this.result.selectInto = { location: locationOf(stmt.intoClause) };
    for (const lock of (stmt.lockingClause as AnyNode[] | undefined) ?? []) {
      const strength = String((lock.LockingClause as AnyNode | undefined)?.strength ?? '');
      this.result.lockingClauses.push({ clause: LOCKING[strength] ?? 'FOR UPDATE' });
    }
    if (stmt.limitOption === 'LIMIT_OPTION_WITH_TIES')
      this.result.withTies.push({ location: locationOf(stmt.limitCount) });
    const op = String(stmt.op ?? 'SETOP_NONE');
    if (op !== 'SETOP_NONE') {
      this.result.setOperations.push({ op: (SET_OPERATION[op] ?? op) + (stmt.all ? ' ALL' : '') });
      this.select((stmt.larg ?? {}) as AnyNode, scope);
      this.select((stmt.rarg ?? {}) as AnyNode, scope);
    }
    const from = stmt.fromClause as unknown[] | undefined;
    if (from !== undefined && from.length > 1) this.result.joins += from.length - 1;
    for (const [key, child] of Object.entries(stmt)) {
      if (!SELECT_OWN_FIELDS.has(key)) this.visit(child, scope);
    }
  }

  private withClause(withClause: AnyNode, outer: Scope): Scope {
    const recursive = withClause.recursive === true;
    const ctes = ((withClause.ctes as AnyNode[] | undefined) ?? []).map(
      (c) => (c.CommonTableExpr ?? {}) as AnyNode,
    );
    const names = ctes.map((c) => String(c.ctename ?? ''));
    ctes.forEach((cte, i) => {
      const name = names[i] as string;
      const kind = Object.keys((cte.ctequery ?? {}) as AnyNode)[0] ?? 'unknown';
      const location = locationOf(cte);
      this.result.ctes.push({ name, recursive, kind, location });
      if (kind !== 'SelectStmt') this.result.modifyingCtes.push({ name, kind, location });
      // A WITH query sees the ones before it; under RECURSIVE it sees all of them, itself included.
      const visible = new Set(recursive ? names : names.slice(0, i));
      this.nested('WITH query', cte.ctequery, cte, { ...outer, ctes: [...outer.ctes, visible] });
    });
    return { ...outer, ctes: [...outer.ctes, new Set(names)] };
  }

  private rangeVar(node: AnyNode, scope: Scope): void {
    // A SUPER array unnested from an earlier FROM item's column: the front end read it, no table.
    if (node[FLAG.unnest] !== undefined) return;
    const name = String(node.relname ?? '');
    const schema = typeof node.schemaname === 'string' ? node.schemaname : undefined;
    const catalog = typeof node.catalogname === 'string' ? node.catalogname : undefined;
    const cte = schema === undefined && catalog === undefined && scope.ctes.some((s) => s.has(name));
    const display = [catalog, schema, name]
      .filter((p) => p !== undefined)
      .join('.')
      .toLowerCase();
    this.result.relations.push({ catalog, schema, name, display, cte, location: locationOf(node) });
  }

  private typeName(typeName: unknown): void {
    const parts = stringParts((typeName as AnyNode | null)?.names);
    const name = parts[parts.length - 1];
    if (name !== undefined) {
      this.result.typeNames.push({ name: name.toLowerCase(), location: locationOf(typeName) });
    }
  }
}

/** Facts about one statement node (`{SelectStmt: …}` or any other kind). */
export function analyzeStatement(stmt: unknown): StatementAnalysis {
  const analyzer = new Analyzer();
  analyzer.visit(stmt, { depth: 0, ctes: [] });
  return analyzer.result;
}
