/**
 * What a settings row is and the value grammars the rows share (booleans, strict integers, lists).
 * zod/mini (not the full zod, ~430 KiB minified) keeps the authorizer function small.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';

// English messages, as zod's.
z.config(en());

export interface Setting {
  env: string;
  /** The `spectra serve` / `spectra worker` flag (a boolean defaulting to true is also `--no-<flag>`). */
  flag?: string;
  schema: z.ZodMiniType;
  default: unknown;
  doc: string;
  /** The flag's line in `spectra serve --help`: its argument name and a short meaning. */
  cli?: { arg?: string; help: string; shownDefault?: string };
}

/** The typed values of a table of settings. */
export type ConfigOf<S extends Record<string, Setting>> = { [K in keyof S]: z.output<S[K]['schema']> };

export class ConfigError extends Error {}

export const bool = z.pipe(
  z.union([z.boolean(), z.string()]),
  z.transform((v: boolean | string, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    ctx.issues.push({ code: 'custom', message: `expected a boolean, got "${v}"`, input: v });
    return z.NEVER;
  }),
);

/** An integer in [min, max]. Strict: `""` is an error, not 0 (an empty SPECTRA_PORT must not mean "any port"). */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.pipe(
    z.union([z.number(), z.string()]),
    z.transform((v: number | string, ctx) => {
      const text = String(v).trim();
      const n = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
        ctx.issues.push({
          code: 'custom',
          message: `expected an integer ${range}, got ${JSON.stringify(v)}`,
          input: v,
        });
        return z.NEVER;
      }
      return n;
    }),
  );

const splitList = (v: string[] | string) =>
  (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean);
export const list = z.pipe(z.union([z.array(z.string()), z.string()]), z.transform(splitList));

/** A JSON text parsed by `parse`, whose Error message becomes the setting's problem. */
export const jsonSetting = <T>(parse: (text: string) => T) =>
  z.pipe(
    z.string(),
    z.transform((v: string, ctx) => {
      try {
        return parse(v);
      } catch (e) {
        ctx.issues.push({ code: 'custom', message: (e as Error).message, input: v });
        return z.NEVER;
      }
    }),
  );

/** Parses every row of `settings` from flags, then the environment, then defaults; problems are collected, not thrown. */
export function parseSettings(
  settings: Record<string, Setting>,
  env: NodeJS.ProcessEnv,
  flags: Record<string, string | boolean | undefined>,
  problems: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings)) {
    const fromFlag = s.flag !== undefined ? flags[s.flag] : undefined;
    const parsed = s.schema.safeParse(fromFlag ?? env[s.env] ?? s.default);
    if (parsed.success) out[key] = parsed.data;
    else {
      const source = fromFlag !== undefined ? `--${s.flag}` : s.env;
      problems.push(`${source}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  return out;
}

export const invalid = (problems: string[]) =>
  new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
