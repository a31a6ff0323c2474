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
  {
    version: 2,
    name: 'async jobs: queue, leases, results, retention, idempotency records',
    sql: `
ALTER TABLE query_jobs
  ADD COLUMN params jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN db_user text,
  ADD COLUMN attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN lease_owner text,
  ADD COLUMN lease_expires_at timestamptz,
  ADD COLUMN not_before timestamptz,
  ADD COLUMN rows_fetched bigint,
  ADD COLUMN size_bytes bigint,
  ADD COLUMN result jsonb,
  ADD COLUMN result_expires_at timestamptz;
-- The queue: claimable jobs per tenant in submission order, and RUNNING jobs (counts, lease expiry).
CREATE INDEX query_jobs_queued ON query_jobs (tenant_id, submitted_at, job_id) WHERE status = 'QUEUED';
CREATE INDEX query_jobs_running ON query_jobs (tenant_id, lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX query_jobs_expiry ON query_jobs (expires_at);
CREATE INDEX query_jobs_result_expiry ON query_jobs (result_expires_at) WHERE result_expires_at IS NOT NULL;

-- Claims one job for a worker. The per-tenant advisory lock serialises claims of one tenant, so
-- the RUNNING count read after taking it is exact and the tenant's cap holds across processes.
CREATE FUNCTION spectra_claim_job(p_tenant text, p_job text, p_owner text, p_lease_ms integer, p_max_running integer)
RETURNS SETOF query_jobs LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('spectra_claim'), hashtext(p_tenant));
  IF (SELECT count(*) FROM query_jobs WHERE tenant_id = p_tenant AND status = 'RUNNING') >= p_max_running THEN
    RETURN;
  END IF;
  RETURN QUERY
    UPDATE query_jobs SET status = 'RUNNING', attempts = attempts + 1, lease_owner = p_owner,
      lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
      started_at = clock_timestamp(), statement_ref = NULL, rows_fetched = 0, not_before = NULL,
      version = version + 1
    WHERE tenant_id = p_tenant AND job_id = p_job AND status = 'QUEUED' AND expires_at > now()
      AND (not_before IS NULL OR not_before <= clock_timestamp())
    RETURNING *;
END $$;

-- Wakes workers (LISTEN spectra_jobs) when a job becomes claimable or a RUNNING job is cancelled.
CREATE FUNCTION spectra_job_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'QUEUED' THEN
    PERFORM pg_notify('spectra_jobs', 'queued');
  ELSIF TG_OP = 'UPDATE' AND OLD.status = 'RUNNING' AND NEW.status = 'CANCELLED' THEN
    PERFORM pg_notify('spectra_jobs', 'cancelled ' || NEW.tenant_id || ' ' || NEW.job_id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER query_jobs_notify AFTER INSERT OR UPDATE OF status ON query_jobs
  FOR EACH ROW WHEN (NEW.status IN ('QUEUED', 'CANCELLED')) EXECUTE FUNCTION spectra_job_notify();

CREATE TABLE idempotency_records (
  tenant_id text NOT NULL,
  idem_key text NOT NULL,
  request_hash text NOT NULL,
  state text NOT NULL CHECK (state IN ('in_progress', 'completed')),
  owner text NOT NULL,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  locked_until timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, idem_key)
);
CREATE INDEX idempotency_records_expiry ON idempotency_records (expires_at);
`,
  },
  {
    version: 3,
    name: 'audit trail, shared rate-limit buckets',
    sql: `
CREATE TABLE audit_entries (
  at timestamptz NOT NULL,
  entry_id text NOT NULL,
  tenant_id text NOT NULL,
  request_id text NOT NULL,
  trace_id text,
  principal text NOT NULL,
  auth_method text NOT NULL,
  method text NOT NULL,
  route text NOT NULL,
  status smallint NOT NULL,
  outcome text NOT NULL,
  error_code text,
  job_id text,
  sql_fingerprint text,
  sql text,
  param_names text[] NOT NULL DEFAULT '{}',
  row_count bigint,
  bytes bigint,
  duration_ms double precision NOT NULL,
  client_ip text,
  PRIMARY KEY (at, entry_id)
);
CREATE INDEX audit_entries_by_tenant ON audit_entries (tenant_id, at, entry_id);
-- One row per (tenant, class): the bucket's theoretical arrival time. Unlogged: a crash or a
-- failover only refills the buckets, and no WAL is written per request.
CREATE UNLOGGED TABLE rate_limit_buckets (
  bucket text PRIMARY KEY,
  tat_ms double precision NOT NULL
) WITH (fillfactor = 50);

-- GCRA for p_n requests at once on the database clock: grants as many as fit, in one round trip.
CREATE FUNCTION spectra_rate_take(p_bucket text, p_interval_ms float8, p_window_ms float8, p_n integer)
RETURNS TABLE (now_ms float8, tat_ms float8, granted integer) LANGUAGE plpgsql AS $$
DECLARE
  v_now float8 := extract(epoch FROM clock_timestamp())::float8 * 1000;
  v_tat float8;
  v_base float8;
  v_granted integer;
BEGIN
  SELECT b.tat_ms INTO v_tat FROM rate_limit_buckets b WHERE b.bucket = p_bucket FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO rate_limit_buckets (bucket, tat_ms) VALUES (p_bucket, v_now) ON CONFLICT (bucket) DO NOTHING;
    SELECT b.tat_ms INTO v_tat FROM rate_limit_buckets b WHERE b.bucket = p_bucket FOR UPDATE;
  END IF;
  v_base := greatest(v_tat, v_now);
  v_granted := greatest(0, least(p_n, floor((p_window_ms - (v_base - v_now)) / p_interval_ms)::integer));
  IF v_granted > 0 THEN
    v_tat := v_base + v_granted * p_interval_ms;
    UPDATE rate_limit_buckets b SET tat_ms = v_tat WHERE b.bucket = p_bucket;
  END IF;
  RETURN QUERY SELECT v_now, v_tat, v_granted;
END $$;
`,
  },
  {
    version: 4,
    name: 'bulk jobs: records, queue (shared RUNNING cap), retention',
    sql: `
CREATE TABLE bulk_jobs (
  tenant_id text NOT NULL,
  job_id text NOT NULL,
  operation text NOT NULL CHECK (operation IN ('query', 'insert', 'update', 'upsert', 'delete')),
  object text,
  query text,
  planned_sql text,
  content_type text NOT NULL,
  compression text NOT NULL,
  column_delimiter text NOT NULL,
  line_ending text NOT NULL,
  json_format text NOT NULL,
  external_id_field text,
  state text NOT NULL CHECK (state IN ('Open', 'UploadComplete', 'InProgress', 'JobComplete', 'Failed', 'Aborted')),
  db_user text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  queued_at timestamptz,
  started_at timestamptz,
  completed_at timestamptz,
  records_processed bigint NOT NULL DEFAULT 0,
  records_failed bigint NOT NULL DEFAULT 0,
  error jsonb,
  upload jsonb,
  result jsonb,
  timeout_seconds integer NOT NULL,
  statement_ref text,
  attempts integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_expires_at timestamptz,
  not_before timestamptz,
  expires_at timestamptz NOT NULL,
  version integer NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, job_id)
);
CREATE INDEX bulk_jobs_by_tenant_time ON bulk_jobs (tenant_id, created_at DESC, job_id DESC);
CREATE INDEX bulk_jobs_queued ON bulk_jobs (tenant_id, queued_at, job_id) WHERE state = 'UploadComplete';
CREATE INDEX bulk_jobs_running ON bulk_jobs (tenant_id, lease_expires_at) WHERE state = 'InProgress';
CREATE INDEX bulk_jobs_expiry ON bulk_jobs (expires_at);

-- A tenant's RUNNING jobs of every kind: the per-tenant cap holds across query and bulk jobs.
CREATE FUNCTION spectra_running_jobs(p_tenant text) RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT ((SELECT count(*) FROM query_jobs WHERE tenant_id = p_tenant AND status = 'RUNNING')
        + (SELECT count(*) FROM bulk_jobs WHERE tenant_id = p_tenant AND state = 'InProgress'))::integer
$$;

CREATE OR REPLACE FUNCTION spectra_claim_job(p_tenant text, p_job text, p_owner text, p_lease_ms integer, p_max_running integer)
RETURNS SETOF query_jobs LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('spectra_claim'), hashtext(p_tenant));
  IF spectra_running_jobs(p_tenant) >= p_max_running THEN
    RETURN;
  END IF;
  RETURN QUERY
    UPDATE query_jobs SET status = 'RUNNING', attempts = attempts + 1, lease_owner = p_owner,
      lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
      started_at = clock_timestamp(), statement_ref = NULL, rows_fetched = 0, not_before = NULL,
      version = version + 1
    WHERE tenant_id = p_tenant AND job_id = p_job AND status = 'QUEUED' AND expires_at > now()
      AND (not_before IS NULL OR not_before <= clock_timestamp())
    RETURNING *;
END $$;

-- The same claim for a bulk job (UploadComplete → InProgress), under the same per-tenant lock.
CREATE FUNCTION spectra_claim_bulk_job(p_tenant text, p_job text, p_owner text, p_lease_ms integer, p_max_running integer)
RETURNS SETOF bulk_jobs LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('spectra_claim'), hashtext(p_tenant));
  IF spectra_running_jobs(p_tenant) >= p_max_running THEN
    RETURN;
  END IF;
  RETURN QUERY
    UPDATE bulk_jobs SET state = 'InProgress', attempts = attempts + 1, lease_owner = p_owner,
      lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
      started_at = clock_timestamp(), statement_ref = NULL, records_processed = 0, records_failed = 0,
      not_before = NULL, updated_at = clock_timestamp(), version = version + 1
    WHERE tenant_id = p_tenant AND job_id = p_job AND state = 'UploadComplete' AND expires_at > now()
      AND (not_before IS NULL OR not_before <= clock_timestamp())
    RETURNING *;
END $$;

-- Wakes workers (LISTEN spectra_bulk_jobs) when a bulk job becomes claimable or a running one is aborted.
CREATE FUNCTION spectra_bulk_job_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'UploadComplete' THEN
    PERFORM pg_notify('spectra_bulk_jobs', 'queued');
  ELSIF TG_OP = 'UPDATE' AND OLD.state = 'InProgress' AND NEW.state = 'Aborted' THEN
    PERFORM pg_notify('spectra_bulk_jobs', 'cancelled ' || NEW.tenant_id || ' ' || NEW.job_id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER bulk_jobs_notify AFTER INSERT OR UPDATE OF state ON bulk_jobs
  FOR EACH ROW WHEN (NEW.state IN ('UploadComplete', 'Aborted')) EXECUTE FUNCTION spectra_bulk_job_notify();
`,
  },
  {
    version: 5,
    name: 'redshift data api sessions',
    sql: `
-- Data API sessions shared by every process; a claim is a conditional UPDATE of one row (sessions.ts).
CREATE TABLE warehouse_sessions (
  tenant_id text NOT NULL,
  db_user text NOT NULL,
  session_id text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  claim_token text,
  claimed_until timestamptz,
  PRIMARY KEY (tenant_id, db_user, session_id)
);
`,
  },
  {
    version: 6,
    name: 'rate-limit buckets: an optional caller clock',
    sql: `
-- p_now_ms NULL = the database clock (production); tests pass their own so a slow run refills nothing.
CREATE FUNCTION spectra_rate_take(p_bucket text, p_interval_ms float8, p_window_ms float8, p_n integer, p_now_ms float8)
RETURNS TABLE (now_ms float8, tat_ms float8, granted integer) LANGUAGE plpgsql AS $$
DECLARE
  v_now float8 := coalesce(p_now_ms, extract(epoch FROM clock_timestamp())::float8 * 1000);
  v_tat float8;
  v_base float8;
  v_granted integer;
BEGIN
  SELECT b.tat_ms INTO v_tat FROM rate_limit_buckets b WHERE b.bucket = p_bucket FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO rate_limit_buckets (bucket, tat_ms) VALUES (p_bucket, v_now) ON CONFLICT (bucket) DO NOTHING;
    SELECT b.tat_ms INTO v_tat FROM rate_limit_buckets b WHERE b.bucket = p_bucket FOR UPDATE;
  END IF;
  v_base := greatest(v_tat, v_now);
  v_granted := greatest(0, least(p_n, floor((p_window_ms - (v_base - v_now)) / p_interval_ms)::integer));
  IF v_granted > 0 THEN
    v_tat := v_base + v_granted * p_interval_ms;
    UPDATE rate_limit_buckets b SET tat_ms = v_tat WHERE b.bucket = p_bucket;
  END IF;
  RETURN QUERY SELECT v_now, v_tat, v_granted;
END $$;
-- Processes not yet upgraded keep calling the four-argument form: it is now the database-clock case.
CREATE OR REPLACE FUNCTION spectra_rate_take(p_bucket text, p_interval_ms float8, p_window_ms float8, p_n integer)
RETURNS TABLE (now_ms float8, tat_ms float8, granted integer) LANGUAGE sql AS $$
  SELECT * FROM spectra_rate_take(p_bucket, p_interval_ms, p_window_ms, p_n, NULL::float8)
$$;
`,
  },
  {
    version: 7,
    name: 'query jobs: a file format the worker writes beside the result',
    sql: `
ALTER TABLE query_jobs ADD COLUMN output_format text;
`,
  },
  {
    version: 8,
    name: 'queue notifications name the job',
    sql: `
-- 'queued <tenant> <job>': an idle worker claims the job at once instead of reading the queue
-- heads first (job-worker.ts). Workers from before this migration know only 'queued' and find such
-- jobs at their next periodic scan (SPECTRA_WORKER_POLL_INTERVAL_MS) until they are replaced.
CREATE OR REPLACE FUNCTION spectra_job_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'QUEUED' THEN
    PERFORM pg_notify('spectra_jobs', 'queued ' || NEW.tenant_id || ' ' || NEW.job_id);
  ELSIF TG_OP = 'UPDATE' AND OLD.status = 'RUNNING' AND NEW.status = 'CANCELLED' THEN
    PERFORM pg_notify('spectra_jobs', 'cancelled ' || NEW.tenant_id || ' ' || NEW.job_id);
  END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION spectra_bulk_job_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'UploadComplete' THEN
    PERFORM pg_notify('spectra_bulk_jobs', 'queued ' || NEW.tenant_id || ' ' || NEW.job_id);
  ELSIF TG_OP = 'UPDATE' AND OLD.state = 'InProgress' AND NEW.state = 'Aborted' THEN
    PERFORM pg_notify('spectra_bulk_jobs', 'cancelled ' || NEW.tenant_id || ' ' || NEW.job_id);
  END IF;
  RETURN NULL;
END $$;
`,
  },
];
