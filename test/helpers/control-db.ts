/**
 * A control-state database of its own for a job test file. Workers claim any job in their state
 * database, so test files that run workers in parallel must not share one (the job queue, and its
 * NOTIFY channel, are per database). Created empty; the service's migrations fill it.
 */
import { randomBytes } from 'node:crypto';
import { adminClient, pgFacts } from './pg-fixture.js';
import { pgUrl } from './spectra.js';

export interface ControlDb {
  name: string;
  /** Connection URL as the state role. */
  url: string;
  drop(): Promise<void>;
}

export async function createControlDb(label: string): Promise<ControlDb> {
  const f = pgFacts();
  const name = `spectra_ctl_${label}_${randomBytes(4).toString('hex')}`;
  const admin = await adminClient('postgres');
  try {
    await admin.query(`CREATE DATABASE "${name}" OWNER "${f.stateUser.user}" TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: pgUrl(f.stateUser.user, f.stateUser.password, name),
    drop: async () => {
      const c = await adminClient('postgres');
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
