/**
 * `spectra export "SQL" --output FILE` and `spectra import TABLE FILE`: the Bulk API with progress
 * (rows while the server works, bytes with rate and ETA while the file moves). Ctrl-C aborts the
 * bulk job on the server (an import then leaves the table unchanged). An import's rejected
 * records are written beside the input as NAME.failed.csv.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BulkJob } from '../client/client.js';
import {
  CliError,
  choiceFlag,
  Interrupted,
  type Io,
  parseCommand,
  printJson,
  processIo,
  runCommand,
  UsageError,
} from './command.js';
import { connect, interruptible, targetFlags, writeBody } from './connect.js';
import { TARGET_OPTIONS, TARGET_USAGE } from './profiles.js';
import { createProgress, formatBytes, type Progress } from './progress.js';

export const EXPORT_USAGE = `Usage: spectra export "SQL" --output FILE [--format csv|parquet|json] [--gzip]
  Exports every row of one SELECT to FILE through the Bulk API (no row limit). The format defaults
  to the file's extension (.csv, .parquet, .json/.ndjson; a .gz ending implies --gzip), else csv.
  Ctrl-C aborts the export on the server.
${TARGET_USAGE}`;

export const IMPORT_USAGE = `Usage: spectra import TABLE FILE --operation insert|update|upsert|delete [--key COLUMN]
                      [--format csv|json] [--delimiter ,|pipe|tab] [--gzip]
  Loads FILE into TABLE in one transaction through the Bulk API. update, upsert and delete need
  --key (the key column). Rejected records are written beside FILE as NAME.failed.csv (with an
  error column) and the command exits 1. The format and gzip default from the file's extension.
  Ctrl-C aborts the import on the server: the table is left unchanged. The API key flag is --api-key here.
${TARGET_USAGE}`;

const exportSpec = {
  name: 'export',
  usage: EXPORT_USAGE,
  positionals: 1,
  options: {
    ...TARGET_OPTIONS,
    format: { type: 'string' },
    gzip: { type: 'boolean' },
    output: { type: 'string', short: 'o' },
  },
} as const;

const importSpec = {
  name: 'import',
  usage: IMPORT_USAGE,
  positionals: 2,
  options: {
    ...TARGET_OPTIONS,
    operation: { type: 'string' },
    key: { type: 'string' },
    format: { type: 'string' },
    delimiter: { type: 'string' },
    gzip: { type: 'boolean' },
  },
} as const;

/** From a file name: `x.csv.gz` → csv + gzip; `x.parquet` → parquet. */
function formatOf(file: string): { format?: string; gzip: boolean } {
  const gzip = /\.gz$/i.test(file);
  const ext = path.extname(file.replace(/\.gz$/i, '')).toLowerCase();
  const format = {
    '.csv': 'csv',
    '.parquet': 'parquet',
    '.json': 'json',
    '.ndjson': 'json',
    '.jsonl': 'json',
  }[ext];
  return { ...(format ? { format } : {}), gzip };
}

/** `data/people.csv.gz` → `data/people.failed.csv`. */
export function failedRecordsFile(input: string): string {
  const dir = path.dirname(input);
  const base = path.basename(input).replace(/\.gz$/i, '');
  const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
  return path.join(dir, `${stem}.failed.csv`);
}

const hintOf = (hint: { source?: string }) => () => hint.source ?? '--url or SPECTRA_URL';

function jobProgress(progress: Progress, verb: string) {
  return (job: BulkJob) =>
    progress.update({
      phase: job.state === 'InProgress' ? verb : job.state === 'JobComplete' ? 'done' : `${job.state}`,
      rows: job.number_records_processed,
    });
}

export function runExportCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const hint: { source?: string } = {};
  return runCommand(
    exportSpec,
    argv,
    async () => {
      const { values, positionals } = parseCommand(exportSpec, argv);
      const sql = positionals[0];
      if (!sql?.trim()) throw new UsageError('missing the SQL statement');
      if (!values.output) throw new UsageError('missing --output FILE');
      const fromName = formatOf(values.output);
      const format = choiceFlag(
        'format',
        values.format ?? fromName.format,
        ['csv', 'parquet', 'json'] as const,
        'csv',
      );
      const gzip = values.gzip ?? fromName.gzip;
      const { client } = await connect(targetFlags(values), io, hint);
      const progress = createProgress(io.err);
      let jobId: string | null = null;
      const started = Date.now();
      const exported = await interruptible(async (signal) => {
        try {
          const result = await client.bulk.export({
            query: sql,
            format,
            gzip,
            signal,
            onProgress: (job) => {
              jobId = job.job_id;
              jobProgress(progress, 'exporting')(job);
            },
            onDownloadProgress: (p) =>
              progress.update({ phase: 'downloading', bytes: p.bytes, totalBytes: p.totalBytes }),
          });
          await writeBody(result.body, values.output, io);
          return result;
        } catch (e) {
          progress.clear();
          if (signal.aborted)
            throw new Interrupted(`interrupted: export ${jobId ?? ''} was aborted on the server`);
          throw e;
        }
      });
      const r = exported.results;
      progress.done(
        `wrote ${values.output}: ${r.row_count.toLocaleString('en')} rows, ${formatBytes(r.size_bytes)} (${format}${gzip ? ', gzip' : ''}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      if (values.json) printJson(io, { ...r, download_url: undefined, file: values.output });
      return 0;
    },
    io,
    hintOf(hint),
  );
}

export function runImportCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const hint: { source?: string } = {};
  return runCommand(
    importSpec,
    argv,
    async () => {
      const { values, positionals } = parseCommand(importSpec, argv);
      const [table, file] = positionals;
      if (!table) throw new UsageError('missing TABLE and FILE');
      if (!file) throw new UsageError('missing FILE');
      if (!values.operation) throw new UsageError('missing --operation insert|update|upsert|delete');
      const operation = choiceFlag(
        'operation',
        values.operation,
        ['insert', 'update', 'upsert', 'delete'] as const,
        'insert',
      );
      if (operation !== 'insert' && !values.key)
        throw new UsageError(`--operation ${operation} needs --key COLUMN`);
      const fromName = formatOf(file);
      const format = choiceFlag('format', values.format ?? fromName.format, ['csv', 'json'] as const, 'csv');
      const delimiter = { ',': ',', comma: ',', '|': '|', pipe: '|', tab: '\t', '\t': '\t' }[
        (values.delimiter ?? ',').toLowerCase()
      ] as ',' | '|' | '\t' | undefined;
      if (!delimiter)
        throw new UsageError(`--delimiter must be one of , pipe tab, not "${values.delimiter}"`);
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch (e) {
        throw new CliError(
          `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      // --key is the key column here: the API key comes from --api-key, SPECTRA_API_KEY or the profile.
      const { client } = await connect({ ...values, key: values['api-key'] }, io, hint);
      const progress = createProgress(io.err);
      let jobId: string | null = null;
      const { job, results } = await interruptible(async (signal) => {
        try {
          return await client.bulk.import({
            table,
            operation,
            source: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
            sizeBytes: size,
            format,
            gzip: values.gzip ?? fromName.gzip,
            delimiter,
            ...(values.key ? { key: values.key } : {}),
            signal,
            onUploadProgress: (p) =>
              progress.update({ phase: 'uploading', bytes: p.bytes, totalBytes: p.totalBytes }),
            onProgress: (j) => {
              jobId = j.job_id;
              jobProgress(progress, 'importing')(j);
            },
          });
        } catch (e) {
          progress.clear();
          if (signal.aborted)
            throw new Interrupted(
              `interrupted: import ${jobId ?? ''} was aborted on the server; ${table} is unchanged`,
            );
          throw e;
        }
      });
      const summary = `${operation} into ${table}: ${results.number_records_processed.toLocaleString('en')} records, ${results.number_records_loaded.toLocaleString('en')} loaded, ${results.number_records_failed.toLocaleString('en')} failed (job ${job.job_id})`;
      let failedFile: string | null = null;
      if (results.number_records_failed > 0) {
        failedFile = failedRecordsFile(file);
        const body = await client.bulk.failedRecords(job.job_id);
        await pipeline(
          Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>),
          createWriteStream(failedFile),
        );
      }
      progress.done(summary);
      if (failedFile) io.err.write(`rejected records (with an error column): ${failedFile}\n`);
      if (values.json)
        printJson(io, { ...results, failed_results_url: undefined, failed_records_file: failedFile });
      return failedFile ? 1 : 0;
    },
    io,
    hintOf(hint),
  );
}
