/**
 * How CLI commands reach a running server's admin API: the server through `--url` / `SPECTRA_URL`
 * or `SPECTRA_HOME/server.json` (written by `spectra serve`), the admin key through `--admin-key`
 * / `SPECTRA_ADMIN_KEY` or `SPECTRA_HOME/credentials.json`. Shared by `tenants`, `keys`, `audit`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorFromResponse, SpectraConnectionError } from '../client/errors.js';
import { readClientSettings } from '../config/client.js';
import { CliError, UsageError } from './command.js';
import { runningServer } from './server-file.js';

export { CliError };

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
  const env = readClientSettings();
  const home = path.resolve(flags.home ?? env.home ?? './.spectra');
  const url = flags.url ?? env.url ?? (await runningServer(home))?.url;
  const adminKey =
    flags['admin-key'] ??
    env.adminKey ??
    ((await readJsonFile(path.join(home, 'credentials.json')))?.admin_key as string | undefined);
  if (!url)
    throw new CliError('no server found: start one with `npm start` (or `spectra serve`), or pass --url');
  if (!adminKey) throw new UsageError('no admin key: pass --admin-key or set SPECTRA_ADMIN_KEY');
  return async (method, pathname, body) => {
    const res = await fetch(new URL(pathname, url), {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : null,
    }).catch((e) => {
      throw new SpectraConnectionError(new URL(url).origin, e);
    });
    if (res.status === 204) return null;
    if (!res.ok) throw await errorFromResponse(res);
    return (await res.json().catch(() => ({}))) as Record<string, unknown>;
  };
}
