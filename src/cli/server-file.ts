/**
 * `SPECTRA_HOME/server.json`: how `spectra tenants|keys|audit` find the `spectra serve` running in a
 * home. It names the serve's PID: readers ignore a file whose process is gone (a SIGKILL leaves it),
 * and the serve removes it on every exit it lives through.
 */
import { readFileSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ServerFile {
  url: string;
  pid: number;
}

const fileIn = (home: string) => path.join(home, 'server.json');

/** Records this process as the home's server, and removes the record when this process exits. */
export async function recordServer(home: string, url: string): Promise<void> {
  await writeFile(fileIn(home), `${JSON.stringify({ url, pid: process.pid } satisfies ServerFile)}\n`);
  process.once('exit', () => forgetServer(home));
}

/** Removes the record if it still names this process (another serve may have replaced it). */
export function forgetServer(home: string): void {
  try {
    const recorded = JSON.parse(readFileSync(fileIn(home), 'utf8')) as Partial<ServerFile>;
    if (recorded.pid === process.pid) rmSync(fileIn(home), { force: true });
  } catch {}
}

/** The running server recorded in `home`, or null when there is none or its process is gone. */
export async function runningServer(home: string): Promise<ServerFile | null> {
  try {
    const recorded = JSON.parse(await readFile(fileIn(home), 'utf8')) as Partial<ServerFile>;
    if (typeof recorded.url !== 'string' || typeof recorded.pid !== 'number') return null;
    return processExists(recorded.pid) ? { url: recorded.url, pid: recorded.pid } : null;
  } catch {
    return null;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
