/**
 * Issue 18: `spectra --version` answers from package.json alone, before tsx or any CLI module loads
 * (its start-up time is measured by `npm run bench -- startup`, never asserted here).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

let lonely: string;
beforeAll(async () => {
  // The command with nothing beside it but package.json: no src/, no dist/, no node_modules.
  lonely = await mkdtemp(path.join(os.tmpdir(), 'spectra-version-'));
  await mkdir(path.join(lonely, 'bin'));
  await copyFile(path.join(ROOT, 'bin', 'spectra.js'), path.join(lonely, 'bin', 'spectra.js'));
  await copyFile(path.join(ROOT, 'package.json'), path.join(lonely, 'package.json'));
});
afterAll(async () => {
  if (lonely) await rm(lonely, { recursive: true, force: true });
});

describe('spectra --version', () => {
  it('prints the package version and exits 0, for --version, -v, -V and version', async () => {
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    for (const arg of ['--version', '-v', '-V', 'version']) {
      const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, 'bin', 'spectra.js'), arg]);
      expect(stdout, arg).toBe(`${version}\n`);
      expect(stderr, arg).toBe('');
    }
  });

  it('needs nothing but package.json: no CLI module, tsx or build is loaded', async () => {
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    const { stdout } = await run(process.execPath, [path.join(lonely, 'bin', 'spectra.js'), '--version']);
    expect(stdout).toBe(`${version}\n`);
  });
});
