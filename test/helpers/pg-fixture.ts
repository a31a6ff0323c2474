/**
 * The shared embedded PostgreSQL of a test run (started once by global-setup.ts) and small
 * helpers to reach it. Integration tests share it: keep writes inside transactions you roll back,
 * and give anything you create a name unique to your test.
 *
 * Statement evidence: pg_stat_statements is loaded and installed in the `postgres` database
 * (`adminClient('postgres')`). Its texts are normalised (constants become $1), so look for
 * identifiers, not literals.
 */
import pg from 'pg';
import { inject } from 'vitest';

export interface PgFacts {
  /** The SPECTRA_HOME of the run (a temp dir, deleted at teardown). */
  home: string;
  host: string;
  port: number;
  superuser: string;
  superuserPassword: string;
  warehouseDb: string;
  controlDb: string;
  authenticator: { user: string; password: string };
  stateUser: { user: string; password: string };
  tenants: Array<{ tenantId: string; dbUser: string }>;
  demoRows: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pg: PgFacts;
  }
}

export function pgFacts(): PgFacts {
  return inject('pg');
}

/** A connected superuser client; the caller ends it. */
export async function adminClient(database: string = pgFacts().warehouseDb): Promise<pg.Client> {
  const facts = pgFacts();
  const client = new pg.Client({
    host: facts.host,
    port: facts.port,
    user: facts.superuser,
    password: facts.superuserPassword,
    database,
  });
  await client.connect();
  return client;
}

/** A pool logged in as the non-superuser authenticator role, on the warehouse database by default. */
export function authenticatorPool(opts: { max?: number; database?: string } = {}): pg.Pool {
  const facts = pgFacts();
  return new pg.Pool({
    host: facts.host,
    port: facts.port,
    user: facts.authenticator.user,
    password: facts.authenticator.password,
    database: opts.database ?? facts.warehouseDb,
    max: opts.max ?? 4,
  });
}
