/**
 * What every `spectra` subcommand shares: parsing its flags (`--help` anywhere → its usage, exit 0),
 * and one mapping from failures to exit codes — usage mistakes 2 (one line naming the problem, then
 * the usage), server errors 1 (code, message, request id), an unreachable server 1 with a hint,
 * Ctrl-C 130.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { SpectraConnectionError, SpectraError } from '../client/errors.js';

/** A mistake in the command line: exit 2 with the command's usage. */
export class UsageError extends Error {}

/** A failure the user can act on, printed as `spectra: <message>`: exit 1. */
export class CliError extends Error {}

/** The user pressed Ctrl-C; what was running on the server has been cancelled. */
export class Interrupted extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs' result for `O`, named here so that declarations can refer to it. */
export interface Parsed<O extends Options> {
  values: {
    [K in keyof O]?: O[K] extends { multiple: true }
      ? O[K] extends { type: 'boolean' }
        ? boolean[]
        : string[]
      : O[K] extends { type: 'boolean' }
        ? boolean
        : string;
  };
  positionals: string[];
}

export interface CommandSpec<O extends Options> {
  /** As typed: `query`, `jobs wait`. */
  name: string;
  usage: string;
  options: O;
  /** Positional arguments allowed (default none). */
  positionals?: number;
}

export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export const processIo = (): Io => ({ out: process.stdout, err: process.stderr, env: process.env });

export function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Parses argv for `spec`; a value that starts with `-` (`--limit -1`) is taken as the option's value. */
export function parseCommand<O extends Options>(spec: CommandSpec<O>, argv: string[]): Parsed<O> {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2) : null;
    const next = argv[i + 1];
    if (name && spec.options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(parseArgsProblem(e as Error & { code?: string }));
  }
  const max = spec.positionals ?? 0;
  if (parsed.positionals.length > max) {
    throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`);
  }
  return parsed;
}

/** Node's parseArgs messages, in one short line each. */
function parseArgsProblem(e: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? e.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return e.message.includes('argument missing') || e.message.includes('ambiguous')
        ? `${option} needs a value`
        : `${option} takes no value`;
    default:
      return e.message.split('. ')[0] ?? e.message;
  }
}

/** Runs a subcommand: `--help` prints its usage; every failure becomes its message and exit code. */
export async function runCommand(
  spec: { name: string; usage: string },
  argv: string[],
  body: () => Promise<number>,
  io: Io = processIo(),
  hint?: () => string,
): Promise<number> {
  if (wantsHelp(argv)) {
    io.out.write(spec.usage);
    return 0;
  }
  try {
    return await body();
  } catch (e) {
    return reportFailure(e, spec, io, hint);
  }
}

export function reportFailure(
  e: unknown,
  spec: { name: string; usage: string },
  io: Io,
  hint?: () => string,
): number {
  if (e instanceof UsageError) {
    io.err.write(`spectra ${spec.name}: ${e.message}\n${spec.usage}`);
    return 2;
  }
  if (e instanceof Interrupted) {
    io.err.write(`spectra: ${e.message}\n`);
    return 130;
  }
  if (e instanceof CliError) {
    io.err.write(`spectra: ${e.message}\n`);
    return 1;
  }
  if (e instanceof SpectraError) {
    const id = e.requestId ? ` (request id ${e.requestId})` : '';
    io.err.write(`spectra: ${e.code}: ${e.message}${id}\n`);
    return 1;
  }
  if (e instanceof SpectraConnectionError) {
    io.err.write(
      `spectra: ${e.message}: no server is answering there.\n` +
        `  Start one with \`npm start\` (or \`spectra serve\`), or point ${hint?.() ?? '--url or SPECTRA_URL'} at a running server.\n`,
    );
    return 1;
  }
  throw e;
}

/** Compact JSON for `--json` (one line, for machines). */
export function printJson(io: Io, value: unknown): void {
  io.out.write(`${JSON.stringify(value)}\n`);
}

/** Integer flag with bounds, or a UsageError naming the flag. */
export function intFlag(name: string, value: string | undefined, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer ≥ ${min}, not "${value}"`);
  return n;
}

/** A one-of flag, case-insensitive, or a UsageError listing the choices. */
export function choiceFlag<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
  fallback: T,
): T;
export function choiceFlag<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined;
export function choiceFlag<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
  fallback?: T,
): T | undefined {
  if (value === undefined) return fallback;
  const v = value.toLowerCase() as T;
  if (!choices.includes(v))
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, not "${value}"`);
  return v;
}
