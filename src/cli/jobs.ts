/**
 * `spectra jobs list|get|wait|cancel|results`: the caller's query jobs. `wait` shows progress and
 * cancels the job on the server on Ctrl-C; `results` pages through a finished job's rows (table,
 * JSON, NDJSON) or downloads them whole (CSV, Parquet).
 */
import type { Job, JobStatus } from '../client/client.js';
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
import { connect, interruptible, targetFlags, writeBody } from './connect.js';
import { TARGET_OPTIONS, TARGET_USAGE } from './profiles.js';
import { createProgress } from './progress.js';
import { renderTable } from './row-format.js';

export const JOBS_USAGE = `Usage: spectra jobs <subcommand>
  spectra jobs list [--status QUEUED|RUNNING|COMPLETED|FAILED|CANCELLED] [--limit N]   newest first (default 20)
  spectra jobs get JOB_ID
  spectra jobs wait JOB_ID          progress until it finishes; Ctrl-C cancels the job on the server
  spectra jobs cancel JOB_ID
  spectra jobs results JOB_ID [--format table|csv|json|ndjson|parquet] [--output FILE]   parquet needs --output
${TARGET_USAGE}`;

const STATUSES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;

const spec = {
  name: 'jobs',
  usage: JOBS_USAGE,
  positionals: 2,
  options: {
    ...TARGET_OPTIONS,
    status: { type: 'string' },
    limit: { type: 'string' },
    format: { type: 'string' },
    output: { type: 'string', short: 'o' },
  },
} as const;

export function runJobsCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const hint: { source?: string } = {};
  const verb = argv[0];
  const named = { ...spec, name: verb && !verb.startsWith('-') ? `jobs ${verb}` : 'jobs' };
  return runCommand(
    named,
    argv,
    async () => {
      const { values, positionals } = parseCommand(spec, argv);
      const [sub, id] = positionals;
      if (!sub) {
        io.out.write(JOBS_USAGE);
        return 0;
      }
      if (!['list', 'get', 'wait', 'cancel', 'results'].includes(sub))
        throw new UsageError(`unknown subcommand "${sub}"`);
      if (sub === 'list' && id) throw new UsageError(`unexpected argument "${id}"`);
      if (sub !== 'list' && !id) throw new UsageError('missing the job id');
      const status = values.status?.toUpperCase() as JobStatus | undefined;
      if (status && !STATUSES.includes(status))
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, not "${values.status}"`);
      const limit = intFlag('limit', values.limit, 1, 20);
      const format = choiceFlag(
        'format',
        values.format,
        ['table', 'csv', 'json', 'ndjson', 'parquet'] as const,
        values.json ? 'json' : 'table',
      );
      if (format === 'parquet' && sub === 'results' && !values.output)
        throw new UsageError('--format parquet writes a file: add --output FILE');
      const { client } = await connect(targetFlags(values), io, hint);
      switch (sub) {
        case 'list': {
          const jobs: Job[] = [];
          for await (const job of client.jobs.list({
            ...(status ? { status } : {}),
            pageSize: Math.min(limit, 100),
          })) {
            jobs.push(job);
            if (jobs.length >= limit) break;
          }
          if (values.json) printJson(io, jobs);
          else
            io.out.write(
              renderTable(
                ['job_id', 'status', 'submitted_at', 'rows', 'sql'],
                jobs.map((j) => ({
                  ...j,
                  rows: j.row_count ?? j.rows_fetched ?? '',
                  sql: j.sql.replace(/\s+/g, ' '),
                })),
              ),
            );
          return 0;
        }
        case 'get': {
          const job = await client.jobs.get(id!);
          if (values.json) printJson(io, job);
          else printJob(io, job);
          return 0;
        }
        case 'cancel': {
          const out = await client.jobs.cancel(id!);
          if (values.json) printJson(io, out);
          else io.out.write(`${out.job_id} ${out.status}\n`);
          return 0;
        }
        case 'wait': {
          const progress = createProgress(io.err);
          const job = await interruptible(
            async (signal) => {
              try {
                return await client.jobs.wait(id!, {
                  signal,
                  onProgress: (j) =>
                    progress.update({
                      phase: j.status.toLowerCase(),
                      rows: j.rows_fetched ?? j.row_count ?? undefined,
                    }),
                });
              } catch (e) {
                progress.clear();
                if (signal.aborted)
                  throw new Interrupted(`interrupted: job ${id} was cancelled on the server`);
                throw e;
              }
            },
            async () => {
              await client.jobs.cancel(id!);
            },
          );
          progress.done(
            `${job.job_id} COMPLETED: ${job.row_count ?? 0} rows in ${job.execution_time_ms ?? 0} ms`,
          );
          if (values.json) printJson(io, job);
          return 0;
        }
        default: {
          if (format === 'csv' || format === 'parquet') {
            const { body } = await client.jobs.download(id!, { format });
            await writeBody(body, values.output, io);
            return 0;
          }
          const out: NodeJS.WritableStream = values.output
            ? (await import('node:fs')).createWriteStream(values.output)
            : io.out;
          const write = (s: string) =>
            out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
          let n = 0;
          for await (const page of client.jobs.pages(id!)) {
            const rows = page.data;
            if (format === 'table') {
              // Each page is aligned on its own; the header is printed once.
              const lines = renderTable(page.metadata.columns, rows).split('\n');
              await write(lines.slice(n === 0 ? 0 : 2).join('\n'));
            } else if (format === 'ndjson') {
              for (const r of rows) await write(`${JSON.stringify(r)}\n`);
            } else {
              for (const [i, r] of rows.entries())
                await write(`${n + i === 0 ? '[' : ',\n'}${JSON.stringify(r)}`);
            }
            n += rows.length;
          }
          if (format === 'json') await write(n === 0 ? '[]\n' : ']\n');
          if (format === 'table') await write(`(${n} row${n === 1 ? '' : 's'})\n`);
          if (values.output) await new Promise<void>((r) => out.end(() => r()));
          return 0;
        }
      }
    },
    io,
    () => hint.source ?? '--url or SPECTRA_URL',
  );
}

function printJob(io: Io, job: Job): void {
  const lines: [string, unknown][] = [
    ['job_id', job.job_id],
    ['status', job.status],
    ['sql', job.sql],
    ['submitted_at', job.submitted_at],
    ['started_at', job.started_at],
    ['completed_at', job.completed_at],
    ['row_count', job.row_count],
    ['truncated', job.truncated],
    ['execution_time_ms', job.execution_time_ms],
    ['error', job.error ? `${job.error.code}: ${job.error.message}` : null],
  ];
  for (const [k, v] of lines) io.out.write(`${k.padEnd(18)} ${v ?? ''}\n`);
}
