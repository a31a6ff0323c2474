/**
 * UNLOAD and COPY for the Data API fake (redshift-data-fake.ts): the statement text is read with
 * Redshift's rules (string literals with `''` and backslash escapes), the inner query runs on the
 * statement's connection as its database user (row-level security applies) through PostgreSQL's
 * `COPY (…) TO STDOUT (FORMAT csv)` with `standard_conforming_strings = off` (so the query's own
 * literals are read with backslash escapes too, as Redshift reads them), and the files go to S3
 * (s3rver in tests) as Redshift writes them:
 *
 * - PARALLEL OFF: `<prefix>000`, `<prefix>001`, …; otherwise `<prefix>0000_part_00`, `_part_01`, …
 *   (one slice); `.gz` appended with GZIP; HEADER repeats the header line in every file.
 * - MAXFILESIZE n MB|GB (5 MB … 6.2 GB) cuts files at record boundaries; `megabyteBytes` is a test
 *   knob (bytes in one "MB") so small results make several files.
 * - MANIFEST writes `<prefix>manifest` (`entries[].url`, `meta.content_length`); VERBOSE adds each
 *   file's `record_count`, the schema and the totals.
 * - Without ALLOWOVERWRITE an UNLOAD into a prefix that already holds objects fails.
 * - COPY `<table> (<cols>) FROM 's3://…'` loads every object under the key (or the files of a
 *   MANIFEST) through `COPY … FROM STDIN (FORMAT csv)`; GZIP, DELIMITER, IGNOREHEADER.
 *
 * Options the fake does not know fail the statement with a syntax error, as Redshift would.
 */
import { createGunzip, gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

export interface FakeBulkOptions {
  /** The S3 the "cluster" writes to and reads from. */
  s3: S3Client;
  /** Bytes in one MAXFILESIZE "MB" (default 1 MiB); tests shrink it to get several files. */
  megabyteBytes?: number;
}

/** A statement failure, reported as Redshift reports it (`ERROR: …` in DescribeStatement). */
export class FakeSqlError extends Error {}

type Token =
  | { kind: 'word'; text: string; upper: string }
  | { kind: 'string'; value: string }
  | { kind: 'ident'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'punct'; text: string };

const SIMPLE_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Reads the string literal at `sql[start]` as Redshift does: `''` is a quote, a backslash escapes
 * the next character (`\n`, `\t`, octal `\101`, hex `\x41`; anything else stands for itself).
 */
export function readRedshiftLiteral(sql: string, start: number): { value: string; end: number } {
  if (sql[start] !== "'") throw new FakeSqlError(`syntax error at or near position ${start}`);
  let value = '';
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'") {
      if (sql[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    if (c === '\\') {
      const next = sql[i + 1];
      if (next === undefined) break;
      const octal = /^[0-7]{1,3}/.exec(sql.slice(i + 1, i + 4));
      const hex = /^x([0-9A-Fa-f]{1,2})/.exec(sql.slice(i + 1, i + 4));
      if (octal) {
        value += String.fromCharCode(Number.parseInt(octal[0], 8));
        i += 1 + octal[0].length;
      } else if (hex) {
        value += String.fromCharCode(Number.parseInt(hex[1]!, 16));
        i += 1 + hex[0].length;
      } else {
        value += SIMPLE_ESCAPES[next] ?? next;
        i += 2;
      }
      continue;
    }
    value += c;
    i++;
  }
  throw new FakeSqlError('unterminated quoted string');
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      const { value, end } = readRedshiftLiteral(sql, i);
      tokens.push({ kind: 'string', value });
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) throw new FakeSqlError('unterminated quoted identifier');
        if (sql[j] === '"') {
          if (sql[j + 1] === '"') j += 2;
          else break;
        } else j++;
      }
      tokens.push({ kind: 'ident', text: sql.slice(i, j + 1) });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))![0];
      tokens.push({ kind: 'word', text: m, upper: m.toUpperCase() });
      i += m.length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(sql.slice(i))![0];
      tokens.push({ kind: 'number', text: m });
      i += m.length;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

const tokenText = (t: Token | undefined) =>
  t === undefined ? 'end of input' : t.kind === 'string' ? `'${t.value}'` : t.text;

class Reader {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  done(): boolean {
    const t = this.peek();
    return t === undefined || (t.kind === 'punct' && t.text === ';' && this.i === this.tokens.length - 1);
  }
  fail(t: Token | undefined = this.peek()): never {
    throw new FakeSqlError(`syntax error at or near "${tokenText(t)}"`);
  }
  word(...words: string[]): string {
    const t = this.next();
    if (t?.kind !== 'word' || !words.includes(t.upper)) this.fail(t);
    return t.upper;
  }
  optionalWord(word: string): boolean {
    const t = this.peek();
    if (t?.kind === 'word' && t.upper === word) {
      this.i++;
      return true;
    }
    return false;
  }
  string(): string {
    const t = this.next();
    if (t?.kind !== 'string') this.fail(t);
    return t.value;
  }
  punct(text: string): void {
    const t = this.next();
    if (t?.kind !== 'punct' || t.text !== text) this.fail(t);
  }
  number(): number {
    const t = this.next();
    if (t?.kind !== 'number') this.fail(t);
    return Number(t.text);
  }
}

export interface UnloadCommand {
  query: string;
  bucket: string;
  prefix: string;
  format: 'CSV' | 'TEXT';
  header: boolean;
  delimiter: string;
  gzip: boolean;
  maxFileSizeMb: number | undefined;
  manifest: false | 'plain' | 'verbose';
  parallel: boolean;
  allowOverwrite: boolean;
}

export interface CopyCommand {
  /** Table and column list as written (PostgreSQL reads quoted identifiers the same way). */
  target: string;
  bucket: string;
  key: string;
  delimiter: string;
  gzip: boolean;
  ignoreHeader: number;
  manifest: boolean;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+$/;
const MIN_FILE_MB = 5;
const MAX_FILE_MB = 6200;

function s3Location(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(url);
  if (!m) throw new FakeSqlError(`Invalid S3 location: ${url}`);
  return { bucket: m[1]!, key: m[2]! };
}

function authorization(r: Reader): void {
  r.word('IAM_ROLE');
  const role = r.string();
  if (!role.split(',').every((arn) => ROLE_ARN.test(arn))) {
    throw new FakeSqlError(`IAM role ARN is not valid: ${role}`);
  }
}

/** `UNLOAD …` → its parts, or null when the statement is not an UNLOAD. */
export function parseUnload(sql: string): UnloadCommand | null {
  const tokens = tokenize(sql);
  if (tokens[0]?.kind !== 'word' || tokens[0].upper !== 'UNLOAD') return null;
  const r = new Reader(tokens);
  r.word('UNLOAD');
  r.punct('(');
  const query = r.string();
  r.punct(')');
  r.word('TO');
  const { bucket, key } = s3Location(r.string());
  authorization(r);
  const cmd: UnloadCommand = {
    query,
    bucket,
    prefix: key,
    format: 'TEXT',
    header: false,
    delimiter: '|',
    gzip: false,
    maxFileSizeMb: undefined,
    manifest: false,
    parallel: true,
    allowOverwrite: false,
  };
  let delimiterSet = false;
  while (!r.done()) {
    const option = r.word(
      'FORMAT',
      'CSV',
      'HEADER',
      'DELIMITER',
      'GZIP',
      'MAXFILESIZE',
      'MANIFEST',
      'PARALLEL',
      'ALLOWOVERWRITE',
    );
    if (option === 'FORMAT') {
      r.optionalWord('AS');
      const format = r.word('CSV', 'PARQUET', 'JSON');
      if (format !== 'CSV') throw new FakeSqlError(`the fake unloads CSV only, not ${format}`);
      cmd.format = 'CSV';
    } else if (option === 'CSV') cmd.format = 'CSV';
    else if (option === 'HEADER') cmd.header = true;
    else if (option === 'DELIMITER') {
      r.optionalWord('AS');
      cmd.delimiter = r.string();
      delimiterSet = true;
      if (cmd.delimiter.length !== 1) throw new FakeSqlError('DELIMITER must be a single character');
    } else if (option === 'GZIP') cmd.gzip = true;
    else if (option === 'MAXFILESIZE') {
      r.optionalWord('AS');
      const n = r.number();
      let mb = n;
      if (r.optionalWord('GB')) mb = n * 1024;
      else r.optionalWord('MB');
      if (mb < MIN_FILE_MB || mb > MAX_FILE_MB) {
        throw new FakeSqlError('MAXFILESIZE must be between 5 MB and 6.2 GB');
      }
      cmd.maxFileSizeMb = mb;
    } else if (option === 'MANIFEST') cmd.manifest = r.optionalWord('VERBOSE') ? 'verbose' : 'plain';
    else if (option === 'PARALLEL') {
      const v = r.word('ON', 'TRUE', 'OFF', 'FALSE');
      cmd.parallel = v === 'ON' || v === 'TRUE';
    } else if (option === 'ALLOWOVERWRITE') cmd.allowOverwrite = true;
  }
  if (cmd.format === 'TEXT') throw new FakeSqlError('the fake unloads FORMAT CSV only');
  if (!delimiterSet) cmd.delimiter = ',';
  return cmd;
}

/** `COPY <table> [(<cols>)] FROM 's3://…' …` → its parts, or null when the statement is not such a COPY. */
export function parseCopy(sql: string): CopyCommand | null {
  const tokens = tokenize(sql);
  if (tokens[0]?.kind !== 'word' || tokens[0].upper !== 'COPY') return null;
  const fromAt = tokens.findIndex((t) => t.kind === 'word' && t.upper === 'FROM');
  if (fromAt < 0 || tokens[fromAt + 1]?.kind !== 'string') return null;
  const target = tokens
    .slice(1, fromAt)
    .map((t) => tokenText(t))
    .join(' ');
  const r = new Reader(tokens.slice(fromAt + 1));
  const { bucket, key } = s3Location(r.string());
  authorization(r);
  const cmd: CopyCommand = {
    target,
    bucket,
    key,
    delimiter: '|',
    gzip: false,
    ignoreHeader: 0,
    manifest: false,
  };
  let csv = false;
  let delimiterSet = false;
  while (!r.done()) {
    const option = r.word('FORMAT', 'CSV', 'DELIMITER', 'GZIP', 'IGNOREHEADER', 'MANIFEST');
    if (option === 'FORMAT') {
      r.optionalWord('AS');
      r.word('CSV');
      csv = true;
    } else if (option === 'CSV') csv = true;
    else if (option === 'DELIMITER') {
      r.optionalWord('AS');
      cmd.delimiter = r.string();
      delimiterSet = true;
    } else if (option === 'GZIP') cmd.gzip = true;
    else if (option === 'IGNOREHEADER') {
      r.optionalWord('AS');
      cmd.ignoreHeader = r.number();
    } else if (option === 'MANIFEST') cmd.manifest = true;
  }
  if (!csv) throw new FakeSqlError('the fake loads FORMAT CSV only');
  if (!delimiterSet) cmd.delimiter = ',';
  return cmd;
}

const LF = 0x0a;
const QUOTE = 0x22;

interface WrittenFile {
  key: string;
  bytes: number;
  records: number;
}

/**
 * Runs an UNLOAD on `client`, which is inside the statement's transaction as its database user.
 * Parts are uploaded one after another while COPY streams, so a cancelled UNLOAD leaves the parts
 * written so far (as Redshift may).
 */
export async function runUnload(
  client: pg.ClientBase,
  cmd: UnloadCommand,
  opts: FakeBulkOptions,
): Promise<void> {
  const s3 = opts.s3;
  if (!cmd.allowOverwrite) {
    const existing = await s3.send(new ListObjectsV2Command({ Bucket: cmd.bucket, Prefix: cmd.prefix }));
    if ((existing.KeyCount ?? 0) > 0) {
      throw new FakeSqlError(
        'Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, manually removing the target files in S3, or using the ALLOWOVERWRITE option.',
      );
    }
  }
  await client.query('SET LOCAL standard_conforming_strings = off; SET LOCAL escape_string_warning = off');
  const described = await client.query({
    text: `SELECT * FROM (${cmd.query}) AS q LIMIT 0`,
    rowMode: 'array',
  });
  const names = described.fields.map((f) => f.name);
  const header = cmd.header ? Buffer.from(`${names.map(csvName).join(cmd.delimiter)}\n`) : null;
  const limit =
    cmd.maxFileSizeMb === undefined
      ? Number.POSITIVE_INFINITY
      : cmd.maxFileSizeMb * (opts.megabyteBytes ?? 1 << 20);
  const files: WrittenFile[] = [];
  const fileName = (n: number) =>
    `${cmd.prefix}${cmd.parallel ? `0000_part_${String(n).padStart(2, '0')}` : String(n).padStart(3, '0')}${cmd.gzip ? '.gz' : ''}`;

  let current: Buffer[] = [];
  let size = 0;
  let records = 0;
  const flush = async () => {
    const body = Buffer.concat(header ? [header, ...current] : current);
    const data = cmd.gzip ? gzipSync(body) : body;
    const key = fileName(files.length);
    await s3.send(new PutObjectCommand({ Bucket: cmd.bucket, Key: key, Body: data }));
    files.push({ key, bytes: data.length, records });
    current = [];
    size = 0;
    records = 0;
  };

  const delimiter = pg.escapeLiteral(cmd.delimiter);
  const stream = client.query(
    copyTo(`COPY (${cmd.query}) TO STDOUT WITH (FORMAT csv, DELIMITER ${delimiter})`),
  );
  let inQuotes = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === QUOTE) inQuotes = !inQuotes;
      else if (c === LF && !inQuotes) {
        records++;
        if (size + (i + 1 - start) >= limit) {
          current.push(chunk.subarray(start, i + 1));
          size += i + 1 - start;
          start = i + 1;
          await flush();
        }
      }
    }
    if (start < chunk.length) {
      current.push(chunk.subarray(start));
      size += chunk.length - start;
    }
  }
  if (size > 0 || files.length === 0) await flush();

  if (cmd.manifest) {
    const verbose = cmd.manifest === 'verbose';
    const manifest = {
      entries: files.map((f) => ({
        url: `s3://${cmd.bucket}/${f.key}`,
        meta: { content_length: f.bytes, ...(verbose ? { record_count: f.records } : {}) },
      })),
      ...(verbose
        ? {
            schema: { elements: names.map((name) => ({ name, type: { base: 'character varying' } })) },
            meta: {
              content_length: files.reduce((a, f) => a + f.bytes, 0),
              record_count: files.reduce((a, f) => a + f.records, 0),
            },
          }
        : {}),
    };
    await s3.send(
      new PutObjectCommand({
        Bucket: cmd.bucket,
        Key: `${cmd.prefix}manifest`,
        Body: JSON.stringify(manifest),
      }),
    );
  }
}

/** Runs a COPY from S3 on `client` (the statement's transaction, as its user); resolves with the rows loaded. */
export async function runCopy(
  client: pg.ClientBase,
  cmd: CopyCommand,
  opts: FakeBulkOptions,
): Promise<number> {
  const s3 = opts.s3;
  let keys: string[];
  if (cmd.manifest) {
    const manifest = JSON.parse(await getText(s3, cmd.bucket, cmd.key)) as { entries?: { url: string }[] };
    keys = (manifest.entries ?? []).map((e) => {
      const loc = s3Location(e.url);
      if (loc.bucket !== cmd.bucket) throw new FakeSqlError('the fake loads manifests of one bucket only');
      return loc.key;
    });
  } else {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: cmd.bucket, Prefix: cmd.key }));
    keys = (listed.Contents ?? []).map((o) => o.Key!);
    if (keys.length === 0) {
      throw new FakeSqlError(`The specified S3 prefix '${cmd.key}' does not exist`);
    }
  }
  let loaded = 0;
  const delimiter = pg.escapeLiteral(cmd.delimiter);
  for (const key of keys) {
    const out = await s3.send(new GetObjectCommand({ Bucket: cmd.bucket, Key: key }));
    let body: Buffer = Buffer.from(await out.Body!.transformToByteArray());
    if (cmd.gzip) body = await gunzip(body);
    for (let skipped = 0; skipped < cmd.ignoreHeader; skipped++) {
      const lf = body.indexOf(LF);
      body = lf < 0 ? Buffer.alloc(0) : body.subarray(lf + 1);
    }
    const sink = client.query(
      copyFrom(`COPY ${cmd.target} FROM STDIN WITH (FORMAT csv, DELIMITER ${delimiter})`),
    );
    await new Promise<void>((resolve, reject) => {
      sink.on('finish', resolve);
      sink.on('error', reject);
      sink.end(body);
    });
    loaded += sink.rowCount;
  }
  return loaded;
}

async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString('utf8');
}

function gunzip(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const z = createGunzip();
    z.on('data', (c: Buffer) => chunks.push(c));
    z.on('end', () => resolve(Buffer.concat(chunks)));
    z.on('error', reject);
    z.end(data);
  });
}

function csvName(name: string): string {
  return /[",\r\n|\t]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name;
}
