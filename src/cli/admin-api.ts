/**
 * How CLI commands reach a running server's admin API: the server through `--url` / `SPECTRA_URL`
 * or `SPECTRA_HOME/server.json` (written by `spectra serve`), the admin key through `--admin-key`
 * / `SPECTRA_ADMIN_KEY` or `SPECTRA_HOME/credentials.json`. Shared by `tenants`, `keys`, `audit`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runningServer } from './server-file.js';

/** A mistake the user can fix; printed as `spectra: <message>`, exit code 1. */
export class CliError extends Error {}

export type AdminCall = (
  method: string,
  pathname: string,
  body?: unknown,
) => Promise<Record<string, unknown> | null>;

async function readJsonFile(file: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

/** Finds the server and the admin key, and returns a caller of the admin API (204 → null). */
export async function connectAdminApi(flags: {
  url?: string;
  'admin-key'?: string;
  home?: string;
}): Promise<AdminCall> {
  const home = path.resolve(flags.home ?? process.env.SPECTRA_HOME ?? './.spectra');
  const url = flags.url ?? process.env.SPECTRA_URL ?? (await runningServer(home))?.url;
  const adminKey =
    flags['admin-key'] ??
    process.env.SPECTRA_ADMIN_KEY ??
    ((await readJsonFile(path.join(home, 'credentials.json')))?.admin_key as string | undefined);
  if (!url) throw new CliError('no server found: start one with "spectra serve" or pass --url');
  if (!adminKey) throw new CliError('no admin key: pass --admin-key or set SPECTRA_ADMIN_KEY');
  return async (method, pathname, body) => {
    const res = await fetch(new URL(pathname, url), {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : null,
    }).catch((e) => {
      throw new CliError(`cannot reach ${url}: ${(e as Error).message}`);
    });
    if (res.status === 204) return null;
    const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const err = data.error as { code?: string; message?: string } | undefined;
      throw new CliError(`${err?.code ?? res.status}: ${err?.message ?? res.statusText}`);
    }
    return data;
  };
}

/** Runs a command body: CliError → message on stderr and exit code 1; anything else propagates. */
export async function reportCliErrors(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`spectra: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
