/**
 * Vitest globalSetup: one embedded PostgreSQL for the whole run, in a fresh temp SPECTRA_HOME,
 * bootstrapped with a small demo warehouse. Tests reach it through pg-fixture.ts.
 */
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { bootstrapEmbedded } from '../../src/warehouse/embedded/bootstrap.js';
import { startEmbeddedPostgres } from '../../src/warehouse/embedded/postgres-process.js';
import type { PgFacts } from './pg-fixture.js';
import { sharedAcrossProjects } from './shared-setup.js';

const TEST_DEMO_ROWS = 60_000;

async function setup(project: TestProject): Promise<() => Promise<void>> {
  const home = path.join(os.tmpdir(), `spectra-test-${process.pid}`);
  await rm(home, { recursive: true, force: true });
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 200) lines.shift();
  };
  const postgres = await startEmbeddedPostgres({ home, log: keep });
  try {
    const boot = await bootstrapEmbedded(
      {
        host: postgres.host,
        port: postgres.port,
        user: postgres.superuser,
        password: postgres.superuserPassword,
      },
      { home, demoRows: TEST_DEMO_ROWS, log: keep },
    );
    const facts: PgFacts = {
      home,
      host: postgres.host,
      port: postgres.port,
      superuser: postgres.superuser,
      superuserPassword: postgres.superuserPassword,
      warehouseDb: boot.warehouseDb,
      controlDb: boot.controlDb,
      authenticator: boot.authenticator,
      stateUser: boot.stateUser,
      tenants: boot.tenants,
      demoRows: TEST_DEMO_ROWS,
    };
    project.provide('pg', facts);
  } catch (error) {
    await postgres.stop();
    process.stderr.write(`embedded PostgreSQL log:\n${lines.join('\n')}\n`);
    throw error;
  }
  return async () => {
    await postgres.stop();
    await rm(home, { recursive: true, force: true });
  };
}

export default sharedAcrossProjects('pg', setup);
