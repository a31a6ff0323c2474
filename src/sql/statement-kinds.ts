/**
 * Names for statement kinds, as tenants would write them: a rejection says `VACUUM` or `SET role`,
 * not `VacuumStmt`.
 */

type AnyNode = Record<string, unknown>;

const KEYWORDS: Record<string, string> = {
  SelectStmt: 'SELECT',
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  CopyStmt: 'COPY',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  ExplainStmt: 'EXPLAIN',
  TruncateStmt: 'TRUNCATE',
  LockStmt: 'LOCK',
  NotifyStmt: 'NOTIFY',
  ListenStmt: 'LISTEN',
  UnlistenStmt: 'UNLISTEN',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  DeallocateStmt: 'DEALLOCATE',
  DeclareCursorStmt: 'DECLARE CURSOR',
  FetchStmt: 'FETCH',
  ClosePortalStmt: 'CLOSE',
  DiscardStmt: 'DISCARD',
  LoadStmt: 'LOAD',
  CheckPointStmt: 'CHECKPOINT',
  ReindexStmt: 'REINDEX',
  ClusterStmt: 'CLUSTER',
  CreateTableAsStmt: 'CREATE TABLE AS',
  VariableShowStmt: 'SHOW',
  ConstraintsSetStmt: 'SET CONSTRAINTS',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
  CreateRoleStmt: 'CREATE ROLE',
  AlterRoleStmt: 'ALTER ROLE',
  DropRoleStmt: 'DROP ROLE',
  DropStmt: 'DROP',
  CommentStmt: 'COMMENT',
  SecLabelStmt: 'SECURITY LABEL',
};

/** `{VacuumStmt: {...}}` → `VACUUM`; unknown kinds are spelled from the node name (`CreateStmt` → `CREATE`). */
export function statementKeyword(stmt: AnyNode): string {
  const [type, body] = Object.entries(stmt)[0] ?? ['unknown', {}];
  const node = (body ?? {}) as AnyNode;
  switch (type) {
    case 'VariableSetStmt': {
      const name = typeof node.name === 'string' ? ` ${node.name}` : '';
      const kind = String(node.kind ?? '');
      return (kind.startsWith('VAR_RESET') ? 'RESET' : 'SET') + (kind === 'VAR_RESET_ALL' ? ' ALL' : name);
    }
    case 'VacuumStmt':
      return node.is_vacuumcmd ? 'VACUUM' : 'ANALYZE';
    case 'CopyStmt':
      return node.is_program ? 'COPY … PROGRAM' : 'COPY';
    case 'GrantStmt':
    case 'GrantRoleStmt':
      return node.is_grant ? 'GRANT' : 'REVOKE';
    case 'TransactionStmt':
      return String(node.kind ?? 'TRANS_STMT_BEGIN')
        .replace('TRANS_STMT_', '')
        .replace(/_/g, ' ');
  }
  return (
    KEYWORDS[type] ??
    type
      .replace(/Stmt$/, '')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toUpperCase()
  );
}

/** Statement-leading keywords a single query may start with. */
export const QUERY_LEADING_KEYWORDS = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', '(']);

/** Advice for statements that have a proper home elsewhere in the API. */
export function blockedStatementHint(keyword: string): string {
  if (/^(UNLOAD|COPY)/.test(keyword)) {
    return 'exports go through the Bulk API (POST /v1/bulk/jobs with "operation": "query")';
  }
  if (/^(INSERT|UPDATE|DELETE|MERGE)/.test(keyword)) {
    return 'imports go through the Bulk API (POST /v1/bulk/jobs with an import operation)';
  }
  return 'the Query API runs exactly one SELECT (or WITH … SELECT) statement';
}
