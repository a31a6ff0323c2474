/**
 * Profiles of `spectra login`: named (url, api key) pairs in `<config dir>/spectra/profiles.json`,
 * mode 0600 in a 0700 folder. The config dir is SPECTRA_CONFIG_DIR, else $XDG_CONFIG_HOME/spectra,
 * else ~/.config/spectra (%APPDATA%\spectra on Windows).
 *
 * Precedence for data commands: --url / --key, then --profile NAME, then SPECTRA_URL /
 * SPECTRA_API_KEY, then SPECTRA_PROFILE or the default profile; the URL falls back to the server
 * `spectra serve` runs in SPECTRA_HOME.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readClientSettings } from '../config/client.js';
import { CliError, UsageError } from './command.js';
import { runningServer } from './server-file.js';

export interface Profile {
  url: string;
  api_key: string;
}

interface ProfilesFile {
  default_profile: string;
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = 'default';

export function configDir(env: NodeJS.ProcessEnv): string {
  const dir = readClientSettings(env).configDir;
  if (dir) return path.resolve(dir);
  if (process.platform === 'win32' && env.APPDATA) return path.join(env.APPDATA, 'spectra');
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'spectra');
}

const profilesFile = (env: NodeJS.ProcessEnv) => path.join(configDir(env), 'profiles.json');

async function readProfiles(env: NodeJS.ProcessEnv): Promise<ProfilesFile> {
  try {
    const parsed = JSON.parse(await readFile(profilesFile(env), 'utf8')) as Partial<ProfilesFile>;
    return { default_profile: parsed.default_profile ?? DEFAULT_PROFILE, profiles: parsed.profiles ?? {} };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return { default_profile: DEFAULT_PROFILE, profiles: {} };
    throw new CliError(`cannot read ${profilesFile(env)}: ${(e as Error).message}`);
  }
}

/** Stores a profile (the key is a secret: the file is written 0600 and replaced atomically). */
export async function saveProfile(env: NodeJS.ProcessEnv, name: string, profile: Profile): Promise<string> {
  const file = profilesFile(env);
  const all = await readProfiles(env);
  all.profiles[name] = profile;
  if (Object.keys(all.profiles).length === 1) all.default_profile = name;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return file;
}

export interface Target {
  url: string;
  apiKey: string;
  /** Where the URL came from, for the hint when nothing answers there. */
  source: string;
}

export interface TargetFlags {
  url?: string | undefined;
  key?: string | undefined;
  profile?: string | undefined;
}

export async function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv): Promise<Target> {
  const all = await readProfiles(env);
  const client = readClientSettings(env);
  const named = flags.profile ?? client.profile;
  if (named && !all.profiles[named]) {
    const known = Object.keys(all.profiles);
    throw new UsageError(
      `no profile "${named}" (${known.length ? `known: ${known.join(', ')}` : 'none stored yet'}); create it with spectra login --profile ${named} --url URL --key KEY`,
    );
  }
  const explicit = flags.profile ? all.profiles[flags.profile] : undefined;
  const stored = all.profiles[named ?? all.default_profile];
  const profileName = named ?? all.default_profile;
  let url: string | undefined;
  let source = '';
  if (flags.url) [url, source] = [flags.url, '--url'];
  else if (explicit) [url, source] = [explicit.url, `the URL of profile "${flags.profile}"`];
  else if (client.url) [url, source] = [client.url, 'SPECTRA_URL'];
  else if (stored)
    [url, source] = [stored.url, `the URL of profile "${profileName}" (spectra login --url …)`];
  else {
    const home = path.resolve(client.home ?? './.spectra');
    const local = await runningServer(home);
    [url, source] = [
      local?.url ?? 'http://127.0.0.1:8080',
      '--url, SPECTRA_URL or a profile (spectra login)',
    ];
  }
  const apiKey = flags.key ?? explicit?.api_key ?? client.apiKey ?? stored?.api_key;
  if (!apiKey) {
    throw new CliError(
      'no API key: run `spectra login --url URL --key KEY` once, or pass --key / set SPECTRA_API_KEY',
    );
  }
  return { url, apiKey, source };
}

/** The flags every data command takes. */
export const TARGET_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  'api-key': { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const TARGET_USAGE =
  '  common flags: --profile NAME (SPECTRA_PROFILE), --url URL (SPECTRA_URL), --key KEY or --api-key KEY (SPECTRA_API_KEY), --json\n';
