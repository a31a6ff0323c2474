/**
 * `spectra query "SQL"`: one SELECT as the caller's tenant, printed as a table (default), CSV,
 * JSON or NDJSON, to stdout or a file; CSV and NDJSON stream in constant memory. `--async` submits
 * it as a job instead (follow it with `spectra jobs wait`).
 */
import type { Params, ParamValue } from '../client/client.js';
import {
  choiceFlag,
  Interrupted,
  type Io,
  intFlag,
  parseCommand,
  printJson,
  processIo,
  runCommand,
  UsageError,
} from './command.js';
import { connect, counting, interruptible, targetFlags, writeBody } from './connect.js';
import { TARGET_OPTIONS, TARGET_USAGE } from './profiles.js';
import { createProgress } from './progress.js';
import { renderTable } from './row-format.js';

export const QUERY_USAGE = `Usage: spectra query "SQL" [--param NAME=VALUE]... [--format table|csv|json|ndjson] [--output FILE]
                     [--limit N] [--timeout SECONDS] [--async]
  Runs one SELECT as your tenant. :NAME placeholders are bound from --param (numbers, true, false
  and null are sent as such; quote a value in single quotes to send it as text: --param "zip='02134'").
  --format    table (default on a terminal), csv, json (an array) or ndjson; --json = --format json
  --output    write the rows to FILE instead of stdout (progress on a terminal)
  --limit     rows at most (the server's row limit applies; default 10,000)
  --async     submit it as a job and print its id; then: spectra jobs wait|results JOB_ID
${TARGET_USAGE}`;

const spec = {
  name: 'query',
  usage: QUERY_USAGE,
  positionals: 1,
  options: {
    ...TARGET_OPTIONS,
    param: { type: 'string', multiple: true },
    format: { type: 'string' },
    output: { type: 'string', short: 'o' },
    limit: { type: 'string' },
    timeout: { type: 'string' },
    async: { type: 'boolean' },
  },
} as const;

/** `name=value`: numbers, booleans and null typed; `'text'` forced to a string. */
export function parseParams(pairs: string[]): Params {
  const params: Params = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param must be NAME=VALUE, not "${pair}"`);
    const name = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    let value: ParamValue = raw;
    if (/^'.*'$/s.test(raw)) value = raw.slice(1, -1);
    else if (raw === 'null') value = null;
    else if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(raw)) value = Number(raw);
    params[name] = value;
  }
  return params;
}

export function runQueryCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const hint: { source?: string } = {};
  return runCommand(
    spec,
    argv,
    async () => {
      const { values, positionals } = parseCommand(spec, argv);
      const sql = positionals[0];
      if (!sql?.trim()) throw new UsageError('missing the SQL statement');
      const params = parseParams(values.param ?? []);
      const format = choiceFlag(
        'format',
        values.format,
        ['table', 'csv', 'json', 'ndjson'] as const,
        values.json ? 'json' : 'table',
      );
      const opts = {
        ...(values.limit !== undefined ? { limit: intFlag('limit', values.limit, 0, 0) } : {}),
        ...(values.timeout !== undefined ? { timeoutSeconds: intFlag('timeout', values.timeout, 1, 0) } : {}),
      };
      const { client } = await connect(targetFlags(values), io, hint);
      if (values.async) {
        const job = await client.jobs.submit(sql, params, opts);
        if (values.json) printJson(io, job);
        else {
          io.out.write(`${job.job_id}\n`);
          io.err.write(`submitted; follow it with: spectra jobs wait ${job.job_id}\n`);
        }
        return 0;
      }
      return interruptible(async (signal) => {
        try {
          if (format === 'table') {
            const result = await client.query(sql, params, { ...opts, signal });
            const text = renderTable(result.metadata.columns, result.rows as Record<string, unknown>[]);
            const n = result.rows.length;
            await writeText(`${text}(${n} row${n === 1 ? '' : 's'})\n`, values.output, io);
            if (result.metadata.truncated) {
              io.err.write(
                `spectra: the result was cut at ${n} rows (the row limit); spectra export writes every row to a file\n`,
              );
            }
            return 0;
          }
          const progress = values.output ? createProgress(io.err) : null;
          const wire = format === 'csv' ? 'csv' : 'ndjson';
          const { body } = await client.streamBody(sql, params, { ...opts, format: wire, signal });
          const counted = counting(body, (bytes, lines) =>
            progress?.update({ phase: 'receiving', bytes, rows: wire === 'csv' ? undefined : lines }),
          );
          await writeBody(format === 'json' ? ndjsonToArray(counted) : counted, values.output, io);
          progress?.done(`wrote ${values.output}`);
          return 0;
        } catch (e) {
          if (signal.aborted) throw new Interrupted('interrupted: the statement was cancelled on the server');
          throw e;
        }
      });
    },
    io,
    () => hint.source ?? '--url or SPECTRA_URL',
  );
}

async function writeText(text: string, file: string | undefined, io: Io): Promise<void> {
  if (file) await (await import('node:fs/promises')).writeFile(file, text);
  else io.out.write(text);
}

/** NDJSON bytes → one JSON array, row by row (the lines are already JSON values). */
function ndjsonToArray(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const utf8 = new TextEncoder();
  let first = true;
  let pending = '';
  const decoder = new TextDecoder();
  const emit = (line: string, controller: TransformStreamDefaultController<Uint8Array>) => {
    if (!line.trim()) return;
    controller.enqueue(utf8.encode(`${first ? '[' : ',\n'}${line}`));
    first = false;
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        pending += decoder.decode(chunk, { stream: true });
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) emit(line, controller);
      },
      flush(controller) {
        emit(pending + decoder.decode(), controller);
        controller.enqueue(utf8.encode(first ? '[]\n' : ']\n'));
      },
    }),
  );
}
