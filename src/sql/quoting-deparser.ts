/**
 * pgsql-deparser writes a few names bare: WITH query names, window names and references, named
 * argument names, JOIN aliases, the alias before a column definition list, and the first part of a
 * type name. `WITH "select" AS …` came back as `WITH select AS …` (a syntax error) and `"Mixed"` as
 * `Mixed` (another name), so the guard refused valid SQL. Each override below hands the deparser the
 * name already quoted as PostgreSQL's quote_ident() would; everything else is the library's own.
 * Should the library start quoting these itself, render.ts's re-parse check fails loudly (`""x""`).
 */
import type {
  CommonTableExpr,
  JoinExpr,
  NamedArgExpr,
  RangeFunction,
  TypeName,
  WindowDef,
} from '@pgsql/types';
import { Deparser, QuoteUtils } from 'pgsql-deparser';

type Context = Parameters<Deparser['WindowDef']>[1];

/** Quotes unless the name is lower-case, plain and no keyword beyond an unreserved one (valid as any ColId). */
const quoteName = (name: string): string => QuoteUtils.quoteIdentifier(name);

const quoteOptional = (name: string | undefined): string | undefined =>
  name === undefined || name === '' ? name : quoteName(name);

/** A plain lower-case name the deparser writes bare in its place, swapped for the quoted one afterwards. */
const TYPE_NAME_STANDIN = 'spectra_quoted_type_name';

export class QuotingDeparser extends Deparser {
  override CommonTableExpr(node: CommonTableExpr, context: Context): string {
    return super.CommonTableExpr({ ...node, ctename: quoteOptional(node.ctename) }, context);
  }

  override WindowDef(node: WindowDef, context: Context): string {
    return super.WindowDef(
      { ...node, name: quoteOptional(node.name), refname: quoteOptional(node.refname) },
      context,
    );
  }

  override formatOverClause(over: WindowDef, context: Context): string {
    return super.formatOverClause(
      { ...over, name: quoteOptional(over.name), refname: quoteOptional(over.refname) },
      context,
    );
  }

  override NamedArgExpr(node: NamedArgExpr, context: Context): string {
    return super.NamedArgExpr({ ...node, name: quoteOptional(node.name) }, context);
  }

  override JoinExpr(node: JoinExpr, context: Context): string {
    const quoteAlias = <A extends { aliasname?: string }>(alias: A | undefined) =>
      alias === undefined ? alias : { ...alias, aliasname: quoteOptional(alias.aliasname) };
    return super.JoinExpr(
      { ...node, alias: quoteAlias(node.alias), join_using_alias: quoteAlias(node.join_using_alias) },
      context,
    );
  }

  override RangeFunction(node: RangeFunction, context: Context): string {
    // Only `AS name (col type, …)` is written bare; a plain alias goes through Alias(), which quotes.
    if (node.alias === undefined || (node.coldeflist?.length ?? 0) === 0) {
      return super.RangeFunction(node, context);
    }
    return super.RangeFunction(
      { ...node, alias: { ...node.alias, aliasname: quoteOptional(node.alias.aliasname) } },
      context,
    );
  }

  /**
   * The library leaves col_name keywords (`int`, `between`, …) bare in a type's first part, where
   * PostgreSQL reads them as keywords: a quoted `"int"` would come back as the built-in integer.
   * (Its own `"char"` path also dropped array bounds: `"char"[]` came back as `"char"`.)
   */
  override TypeName(node: TypeName, context: Context): string {
    const names = node.names ?? [];
    const first = (names[0] as { String?: { sval?: string } } | undefined)?.String?.sval;
    const keywordLeftBare =
      first !== undefined &&
      first !== 'pg_catalog' &&
      QuoteUtils.quoteIdentifierTypeName(first) === first &&
      quoteName(first) !== first;
    if (!keywordLeftBare) return super.TypeName(node, context);
    const text = super.TypeName(
      { ...node, names: [{ String: { sval: TYPE_NAME_STANDIN } }, ...names.slice(1)] },
      context,
    );
    return text.replace(TYPE_NAME_STANDIN, () => quoteName(first)); // a function: `$&` in a name stays literal
  }
}
