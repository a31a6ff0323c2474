/**
 * Issue 18: `spectra serve --help` in a clone without dist/console prints the usage and exits 0
 * without building the console (the build runs only when the server actually starts). The clone is a
 * temp folder holding copies of bin/spectra.js and scripts/build-console.mjs (so a build would land in
 * its own dist/) and links to the project's sources and node_modules.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

let clone: string;
let home: string;
beforeAll(async () => {
  clone = await mkdtemp(path.join(os.tmpdir(), 'spectra-clone-'));
  home = await mkdtemp(path.join(os.tmpdir(), 'spectra-help-home-'));
  for (const dir of ['bin', 'scripts']) await mkdir(path.join(clone, dir));
  for (const file of ['bin/spectra.js', 'scripts/build-console.mjs', 'package.json'])
    await copyFile(path.join(ROOT, file), path.join(clone, file));
  for (const link of ['src', 'console', 'node_modules', 'tsconfig.json'])
    await symlink(path.join(ROOT, link), path.join(clone, link));
});
afterAll(async () => {
  for (const dir of [clone, home]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe('spectra serve --help in a clone without dist/console', () => {
  it('prints the usage, exits 0 and builds nothing; a usage error builds nothing either', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPECTRA_')));
    for (const args of [
      ['serve', '--help'],
      ['serve', '-h'],
      ['help', 'serve'],
    ]) {
      const { stdout, stderr } = await run(
        process.execPath,
        [path.join(clone, 'bin', 'spectra.js'), ...args],
        {
          cwd: home,
          env: { ...env, SPECTRA_HOME: home },
        },
      );
      expect(stdout, args.join(' ')).toMatch(/^Usage: spectra serve/);
      expect(stderr, args.join(' ')).toBe('');
    }
    const bad = await run(process.execPath, [path.join(clone, 'bin', 'spectra.js'), 'serve', '--bogus'], {
      cwd: home,
      env: { ...env, SPECTRA_HOME: home },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^spectra serve: unknown option --bogus/),
    });
    expect(await readdir(clone)).not.toContain('dist');
    expect(await readdir(home)).toEqual([]);
  });
});
