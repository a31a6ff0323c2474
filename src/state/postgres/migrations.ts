/** Versioned schema of the control-state database. Append only: never edit a released migration. */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'tenants, api keys, query jobs',
    sql: `
CREATE TABLE tenants (
  tenant_id text PRIMARY KEY,
  name text NOT NULL,
  db_user text NOT NULL UNIQUE,
  db_groups text[] NOT NULL DEFAULT '{}',
  status text NOT NULL CHECK (status IN ('active', 'suspended')),
  default_permissions text[] NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE api_keys (
  key_id text PRIMARY KEY,
  tenant_id text NOT NULL,
  secret_hash text NOT NULL,
  permissions text[] NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);
CREATE TABLE query_jobs (
  tenant_id text NOT NULL,
  job_id text NOT NULL,
  status text NOT NULL,
  sql text NOT NULL,
  planned_sql text,
  async boolean NOT NULL,
  row_limit integer NOT NULL,
  timeout_seconds integer NOT NULL,
  submitted_at timestamptz NOT NULL,
  started_at timestamptz,
  completed_at timestamptz,
  row_count bigint,
  truncated boolean,
  execution_time_ms integer,
  error jsonb,
  statement_ref text,
  submitted_by text NOT NULL,
  expires_at timestamptz NOT NULL,
  version integer NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, job_id)
);
CREATE INDEX query_jobs_by_tenant_time ON query_jobs (tenant_id, submitted_at DESC, job_id DESC);
`,
  },
];
