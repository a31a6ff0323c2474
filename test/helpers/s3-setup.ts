/**
 * Vitest globalSetup: one s3rver (npm `s3rver@3.7.1`, in-process, silent) for the whole run, on a
 * free loopback port, storing objects in a temp folder removed at teardown. Tests get its endpoint
 * with `inject('s3')` (s3-fixture.ts) and create their own buckets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import type { TestProject } from 'vitest/node';
import type { S3Facts } from './s3-fixture.js';
import { sharedAcrossProjects } from './shared-setup.js';

async function setup(project: TestProject): Promise<() => Promise<void>> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'spectra-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = (await server.run()) as AddressInfo;
  const facts: S3Facts = { endpoint: `http://127.0.0.1:${port}` };
  project.provide('s3', facts);
  return async () => {
    await server.close().catch(() => {});
    await rm(directory, { recursive: true, force: true });
  };
}

export default sharedAcrossProjects('s3', setup);
