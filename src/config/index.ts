/**
 * Typed configuration, in sections (sections/*.ts: each its rows, derivations and cross-field
 * checks). Precedence, lowest to highest: built-in defaults (the embedded shape) → `SPECTRA_*`
 * environment variables → command-line flags. Every setting is documented in
 * docs/configuration.md; `settingsTable()` below is the source that page is checked against.
 * Nothing outside config/ reads a `SPECTRA_*` variable.
 */
import { AUTH_SETTINGS, type AuthConfig } from './sections/auth.js';
import { BULK_SETTINGS, type BulkConfig } from './sections/bulk.js';
import { finishJobs, JOBS_SETTINGS, type JobsConfig } from './sections/jobs.js';
import { finishLimits, LIMITS_SETTINGS, type LimitsConfig } from './sections/limits.js';
import { OBSERVABILITY_SETTINGS, type ObservabilityConfig } from './sections/observability.js';
import { finishServer, SERVER_SETTINGS, type ServerConfig } from './sections/server.js';
import { SQL_SETTINGS, type SqlConfig } from './sections/sql.js';
import { STATE_SETTINGS, type StateConfig } from './sections/state.js';
import { STORAGE_SETTINGS, type StorageConfig } from './sections/storage.js';
import { WAREHOUSE_SETTINGS, type WarehouseConfig } from './sections/warehouse.js';
import { ConfigError, invalid, parseSettings, type Setting } from './setting.js';

export type {
  AuthConfig,
  BulkConfig,
  JobsConfig,
  LimitsConfig,
  ObservabilityConfig,
  ServerConfig,
  SqlConfig,
  StateConfig,
  StorageConfig,
  WarehouseConfig,
};
export { ConfigError, type Setting };

export type Config = ServerConfig &
  WarehouseConfig &
  StateConfig &
  StorageConfig &
  AuthConfig &
  SqlConfig &
  JobsConfig &
  BulkConfig &
  LimitsConfig &
  ObservabilityConfig;
export type Flags = Record<string, string | boolean | undefined>;

interface Section {
  name: string;
  settings: Record<string, Setting>;
  /** Derivations and cross-field checks once every row parsed; returns problems. */
  finish?: (config: Config) => string[];
}

/** The sections, in the order of docs/configuration.md (the Lambda-only variables are in sections/lambda.ts). */
const SECTIONS: Section[] = [
  { name: 'server', settings: SERVER_SETTINGS, finish: finishServer },
  { name: 'warehouse', settings: WAREHOUSE_SETTINGS },
  { name: 'state', settings: STATE_SETTINGS },
  { name: 'storage', settings: STORAGE_SETTINGS },
  { name: 'auth', settings: AUTH_SETTINGS },
  { name: 'sql', settings: SQL_SETTINGS },
  { name: 'jobs', settings: JOBS_SETTINGS, finish: finishJobs },
  { name: 'bulk', settings: BULK_SETTINGS },
  { name: 'limits', settings: LIMITS_SETTINGS, finish: finishLimits },
  { name: 'observability', settings: OBSERVABILITY_SETTINGS },
];

/** key → setting, every section's rows. */
export const SETTINGS = {
  ...SERVER_SETTINGS,
  ...WAREHOUSE_SETTINGS,
  ...STATE_SETTINGS,
  ...STORAGE_SETTINGS,
  ...AUTH_SETTINGS,
  ...SQL_SETTINGS,
  ...JOBS_SETTINGS,
  ...BULK_SETTINGS,
  ...LIMITS_SETTINGS,
  ...OBSERVABILITY_SETTINGS,
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: Flags = {}): Config {
  const problems: string[] = [];
  const config = parseSettings(SETTINGS, env, flags, problems) as Config;
  if (problems.length) throw invalid(problems);
  for (const section of SECTIONS) problems.push(...(section.finish?.(config) ?? []));
  if (problems.length) throw invalid(problems);
  return config;
}

/** One setting read alone (a Lambda handler's module-level option); throws ConfigError like loadConfig. */
export function readSetting<K extends keyof Config>(key: K, env: NodeJS.ProcessEnv = process.env): Config[K] {
  const problems: string[] = [];
  const out = parseSettings({ [key]: SETTINGS[key] }, env, {}, problems);
  if (problems.length) throw invalid(problems);
  return out[key] as Config[K];
}

/** Rows for docs/configuration.md: section, env var, flag, default, meaning. */
export function settingsTable(): {
  section: string;
  env: string;
  flag: string | null;
  default: string;
  doc: string;
}[] {
  return SECTIONS.flatMap(({ name, settings }) =>
    Object.values(settings).map((s) => ({
      section: name,
      env: s.env,
      flag: s.flag ? `--${s.flag}` : null,
      default: Array.isArray(s.default) ? s.default.join(',') : String(s.default),
      doc: s.doc,
    })),
  );
}

/** The rows with a `spectra serve` / `spectra worker` flag, in table order. */
export const flagSettings = (): (Setting & { flag: string })[] =>
  Object.values(SETTINGS as Record<string, Setting>).filter((s): s is Setting & { flag: string } => !!s.flag);
